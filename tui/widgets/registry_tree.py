"""RegistryTree: repositories, top-level artifacts, children and accessories.

Built for registries of 100,000 artifacts. Textual's Tree (`src/textual/widgets/_tree.py` in
Textualize/textual) invalidates every line after each node it adds, expands or collapses: 100,000
adds on a mounted tree blocked the app for 6.5 s (Textual 8.2.8, measured headless). So
nodes are created only when their parent is expanded, in chunks, wide levels are
grouped, labels are drawn from the model when a line is painted (so a marker that
changes needs a repaint of its lines, not a rebuild), and label widths are not
measured because the tree never scrolls sideways.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING, cast

from rich.style import Style
from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from ocitree.core.dates import CreatedTimes, format_created
from ocitree.core.model import Registry, Repository

from ..literal import literal
from .entries import Entry, entry_name, grouped, has_items, items_below, path_to
from .filtering import FilterResult
from .labels import RowStyles, row_text
from .tree_reset import clear_tree

if TYPE_CHECKING:
    from ..registry_view import RegistryView

CHUNK = 100  # nodes added between yields to the event loop
FIRST_FRAME = 1 / 60  # seconds a chunked fill waits, so the key's own frame is not delayed by it
EXPAND_ALL_LIMIT = 1000  # rows `e` creates at most: the Tree slows with every expanded row
ORDERS = ("name", "created", "size")  # `o` cycles through these

ArtifactKey = tuple[str, str]


class RegistryTree(Tree[Entry]):
    # The help (`?`) lists every binding with a tooltip, in this order; bindings with the same
    # tooltip share a row. up, down and the sibling keys are Tree's, repeated for the help.
    BINDINGS = [
        Binding("up", "cursor_up", "Up", show=False, tooltip="Move up"),
        Binding("k", "cursor_up", "Up", show=False, id="up", tooltip="Move up"),
        Binding("down", "cursor_down", "Down", show=False, tooltip="Move down"),
        Binding("j", "cursor_down", "Down", show=False, id="down", tooltip="Move down"),
        Binding("right", "expand", "Expand", show=False, id="expand", tooltip="Expand; on an expanded row, go to its first child"),
        Binding("left", "collapse", "Collapse", show=False, id="collapse", tooltip="Collapse; on a collapsed row, go to its parent"),
        Binding("enter", "toggle", "Expand/collapse", show=False, id="toggle", tooltip="Expand or collapse"),
        Binding("space", "mark", "Mark", tooltip="Mark or unmark the artifact for deletion", id="mark"),
        Binding("pageup", "page_up", "Page up", show=False, tooltip="Move a page"),
        Binding("pagedown", "page_down", "Page down", show=False, tooltip="Move a page"),
        Binding("home", "scroll_home", "First", show=False, tooltip="First or last row"),
        Binding("end", "scroll_end", "Last", show=False, tooltip="First or last row"),
        Binding("g", "scroll_home", "First", show=False, id="first.vim", tooltip="First or last row"),
        Binding("G", "scroll_end", "Last", show=False, id="last.vim", tooltip="First or last row"),
        Binding("l", "expand", "Expand", show=False, id="expand.vim", tooltip="Expand, collapse (as right and left)"),
        Binding("h", "collapse", "Collapse", show=False, id="collapse.vim", tooltip="Expand, collapse (as right and left)"),
        Binding("e", "expand_repository", "Expand all", show=False, id="expand.all",
                tooltip="Expand every row of this repository; collapse it all"),
        Binding("E", "collapse_repository", "Collapse all", show=False, id="collapse.all",
                tooltip="Expand every row of this repository; collapse it all"),
        Binding("shift+up", "cursor_previous_sibling", "Previous sibling", show=False, tooltip="Previous or next sibling"),
        Binding("shift+down", "cursor_next_sibling", "Next sibling", show=False, tooltip="Previous or next sibling"),
    ]

    COMPONENT_CLASSES = Tree.COMPONENT_CLASSES | {
        "registry-tree--repository",
        "registry-tree--tags",
        "registry-tree--kind",
        "registry-tree--digest",
        "registry-tree--detail",
        "registry-tree--shared",
        "registry-tree--untagged",
        "registry-tree--protected",
        "registry-tree--marked",
        "registry-tree--same",
        "registry-tree--accessory",
        "registry-tree--missing",
        "registry-tree--group",
    }

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Text("registry"), data=Entry("root"), id=id)
        self.show_root = False
        self.guide_depth = 3
        self.auto_expand = False
        self.view: RegistryView | None = None  # the loaded registry and what is worked out from it
        self.registry: Registry | None = None
        self.marked: dict[ArtifactKey, None] = {}  # insertion-ordered set
        self._rules: tuple = ()
        self._rows_by_key: dict[ArtifactKey, list[TreeNode[Entry]]] = {}
        self._populated: list[TreeNode[Entry]] = []  # nodes whose `items` were computed
        self._same: ArtifactKey | None = None
        self._styles: RowStyles | None = None
        self._adding = False  # inside _add_items: one invalidation for all the rows added
        self.filter: FilterResult | None = None
        self.order = "name"
        self._orders: dict[tuple[str, str], tuple[object, list[str]]] = {}  # (repository, order) -> top-level digests
        self._times: dict[str, CreatedTimes] = {}  # repository -> its created times (for the model shown)

    # -- the model --------------------------------------------------------------------------

    def set_registry(self, view: RegistryView) -> None:
        """Show a (re)loaded registry: the tree starts over with repositories collapsed."""
        self.view = view
        self.registry = view.registry
        self._rules = view.rules
        self._orders.clear()
        self._times.clear()
        self.marked = {k: None for k in self.marked if self._exists(k)}
        self._reset_rows()

    def _reset_rows(self) -> None:
        """Start the rows over from the model (after a reload, a new filter or order)."""
        self._rows_by_key.clear()
        for node in self._populated:  # top-level entries are reused (see top_entries): start them over
            populated = entry_of(node)
            if populated.kind != "group":  # a group's items are what it groups, not worked out
                populated.items = None
            populated.filled = 0
        self._populated = []
        self._same = None
        clear_tree(self)
        entry = entry_of(self.root)
        entry.items = None
        entry.filled = 0
        self._fill_now(self.root)
        self.root.expand()
        if self.root.children:
            self.sync_lines()
            self.move_cursor(self.root.children[0])

    @property
    def loaded_view(self) -> RegistryView:
        assert self.view is not None, "the tree shows no registry yet"
        return self.view

    def _exists(self, key: ArtifactKey) -> bool:
        repo = self.registry.repositories.get(key[0]) if self.registry else None
        return repo is not None and key[1] in repo.artifacts

    def nodes_of(self, key: ArtifactKey) -> list[TreeNode[Entry]]:
        return self._rows_by_key.get(key, [])

    @property
    def cursor_entry(self) -> Entry | None:
        node = self.cursor_node
        return node.data if node is not None else None

    def sync_lines(self) -> None:
        """Rebuild the line list now, so a node just added has a line to move the cursor to."""
        _ = self.last_line

    # -- creating nodes on demand -------------------------------------------------------------

    def _name_of(self, entry: Entry) -> str:
        return literal(entry_name(self.registry, entry))

    def _items(self, node: TreeNode[Entry]) -> list[Entry]:
        entry = entry_of(node)
        if entry.items is None:
            assert self.registry is not None  # rows exist only once set_registry() ran
            if entry.kind == "root":
                names = sorted(self.registry.repositories)
                if self.filter is not None:
                    names = list(filter(self.filter.repositories.__contains__, names))
                items = [Entry("repository", name) for name in names]
            elif entry.kind == "repository":
                tops = self.top_entries(entry.repository)
                if self.filter is not None:
                    shown = self.filter.visible.get(entry.repository, set())
                    items = [e for e in tops if e.digest in shown]
                else:
                    items = list(tops)  # a copy: a deletion's new roots are appended to it
            else:
                items = items_below(self.registry, entry, self.loaded_view.roots)
                if self.filter is not None and entry.kind != "group" and not self.filter.matches(entry.key):
                    items = [e for e in items if self.filter.shows(e.key)]
            entry.items = items if entry.kind == "group" else grouped(items)
            self._populated.append(node)
        return entry.items

    def _add_items(self, node: TreeNode[Entry], limit: int | None) -> None:
        entry = entry_of(node)
        items = self._items(node)
        end = len(items) if limit is None else min(len(items), entry.filled + limit)
        registry = self.registry
        assert registry is not None  # rows exist only once set_registry() ran
        self._adding = True
        try:
            for item in items[entry.filled : end]:
                if has_items(registry, item):
                    child = node.add(Text(self._name_of(item)), item)
                else:
                    child = node.add_leaf(Text(self._name_of(item)), item)
                if item.kind == "group":
                    self._populated.append(child)
                key = item.key
                if key is not None:
                    self._rows_by_key.setdefault(key, []).append(child)
        finally:
            self._adding = False
            entry.filled = end
            self._invalidate()

    # Speed (issue 10): Tree invalidates its line cache and schedules a layout after every node
    # it adds, and splits every label into lines; 500 rows paid both 500 times per expansion.
    # A private hook with no public equivalent: tests/functional/test_tui_textual_internals.py fails if
    # Textual stops calling it on each add.
    def _invalidate(self) -> None:
        if not getattr(self, "_adding", False):  # Tree.__init__ calls this before ours runs
            super()._invalidate()

    def process_label(self, label) -> Text:
        if isinstance(label, Text) and "\n" not in label.plain:
            return label  # one line already (names pass through literal(), which escapes line ends)
        return super().process_label(label)

    def _fill_now(self, node: TreeNode[Entry]) -> None:
        """Create every row under `node` at once (levels hold at most GROUP_SIZE rows)."""
        self._add_items(node, None)

    async def _fill_in_chunks(self, node: TreeNode[Entry]) -> None:
        await asyncio.sleep(FIRST_FRAME)  # the rows on screen paint first; the rest follow
        entry = entry_of(node)
        while entry.items is not None and entry.filled < len(entry.items):
            if not _attached(node, self.root):
                return  # removed meanwhile, or the tree was reloaded
            self._add_items(node, CHUNK)
            await asyncio.sleep(0)

    @on(Tree.NodeExpanded)
    def _expanded(self, event: Tree.NodeExpanded[Entry]) -> None:
        node = event.node
        if self.registry is None or node.data is None:
            return
        items = self._items(node)
        if node.data.filled >= len(items):
            return
        # The first rows appear at once: two screens' worth, so the frame after the key comes
        # sooner; the rest follow in chunks between frames.
        self._add_items(node, max(2 * self.size.height, 24))
        if node.data.filled < len(items):
            self.run_worker(self._fill_in_chunks(node), group="fill")

    def top_level(self, repository: str) -> list[str]:
        """The digests directly under a repository, in the current order."""
        assert self.registry is not None
        repo = self.registry.repositories.get(repository)
        if repo is None:
            return []
        order = self.order
        cached = self._orders.get((repository, order))
        if cached is not None and cached[0] is repo:
            return cached[1]
        digests = self.loaded_view.roots.of(repo)
        if order == "size":
            size = self.loaded_view.sizes.size
            digests.sort(key=lambda d: -size(repo, d))  # stable: equal sizes keep the name order
        elif order == "created":
            times = self._created_times(repo)
            # Newest first; artifacts without a date last, in name order (a stable sort).
            digests.sort(key=lambda d: -(times.of(d) or float("-inf")))
        self._orders[(repository, order)] = (repo, digests)
        return digests

    def top_entries(self, repository: str) -> list[Entry]:
        """The rows' entries of top_level(), kept by the view and reused by every rebuild."""
        assert self.registry is not None
        repo = self.registry.repositories.get(repository)
        if repo is None:
            return []
        return self.loaded_view.top_entries(repo, self.order, self.top_level(repository))

    # -- filter and order ---------------------------------------------------------------------

    def repository_rows(self) -> list[TreeNode[Entry]]:
        rows = []
        for child in self.root.children:  # created rows only, inside groups of repositories too
            for row in child.children if entry_of(child).kind == "group" else [child]:
                if entry_of(row).kind == "repository":
                    rows.append(row)
        return rows

    def rebuild(self, expand: Iterable[str] = (), cursor: tuple[str, str | None] | None = None) -> None:
        """Rows again from the model under the current filter and order; repositories named
        in `expand` open, the cursor goes to `cursor` (an artifact, or a repository)."""
        self._reset_rows()
        wanted = set(expand)
        for row in self.repository_rows():
            if entry_of(row).repository in wanted:
                row.expand()
        self.sync_lines()
        if cursor is not None and cursor[1] is not None and self.reveal((cursor[0], cursor[1])) is not None:
            return
        if cursor is not None and self.reveal_repository(cursor[0]) is not None:
            return
        if self.root.children:
            self.move_cursor(self.root.children[0])

    def expanded_repositories(self) -> list[str]:
        return [entry_of(row).repository for row in self.repository_rows() if row.is_expanded]

    # -- keys -------------------------------------------------------------------------------

    def _repository_row_of(self, node: TreeNode[Entry] | None) -> TreeNode[Entry] | None:
        while node is not None and node.data is not None and node.data.kind != "repository":
            node = node.parent
        return node if node is not None and node.data is not None else None

    class Expanded(Message):
        """`e` opened a repository: how many rows, and whether it stopped at the limit."""

        def __init__(self, repository: str, rows: int, complete: bool) -> None:
            super().__init__()
            self.repository = repository
            self.rows = rows
            self.complete = complete

    def action_expand_repository(self) -> None:
        """`e`: open every row of the repository under the cursor (up to EXPAND_ALL_LIMIT)."""
        repo_row = self._repository_row_of(self.cursor_node)
        if repo_row is None:
            return
        rows = 0
        stack = [repo_row]
        complete = True
        while stack:
            node = stack.pop()
            if not node.allow_expand:
                continue
            if rows + len(self._items(node)) > EXPAND_ALL_LIMIT:
                complete = False
                continue
            self._fill_now(node)
            if not node.is_expanded:
                node.expand()
            rows += len(node.children)
            stack.extend(reversed(node.children))
        self.post_message(self.Expanded(entry_of(repo_row).repository, rows, complete))

    def action_collapse_repository(self) -> None:
        """`E`: close the repository under the cursor and everything inside it."""
        repo_row = self._repository_row_of(self.cursor_node)
        if repo_row is None:
            return
        repo_row.collapse_all()
        self.move_cursor(repo_row)

    def action_expand(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.allow_expand and not node.is_expanded:
            node.expand()
        elif node.is_expanded and node.children:
            self.move_cursor(node.children[0])

    def action_collapse(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.allow_expand and node.is_expanded:
            node.collapse()
        elif node.parent is not None and node.parent is not self.root:
            self.move_cursor(node.parent)

    # Textual's DOMNode.action_toggle(attribute_name) flips an attribute; here the "toggle" action
    # (Enter, bound above) opens or closes the row, as Tree's users expect, and takes no argument.
    def action_toggle(self) -> None:  # type: ignore[override]
        node = self.cursor_node
        if node is not None and node.allow_expand:
            node.toggle()

    class MarkRequested(Message):
        """Space was pressed: the app decides what may be marked and says why not."""

    def action_mark(self) -> None:
        self.post_message(self.MarkRequested())

    # -- markers ----------------------------------------------------------------------------

    def refresh_key(self, key: ArtifactKey | None) -> None:
        """Repaint every row showing this artifact (a marker changed)."""
        if key is None:
            return
        for node in self._rows_by_key.get(key, ()):
            node.refresh()

    def toggle_mark(self, key: ArtifactKey) -> bool:
        if key in self.marked:
            del self.marked[key]
        else:
            self.marked[key] = None
        self.refresh_key(key)
        return key in self.marked

    def clear_marks(self) -> None:
        keys = list(self.marked)
        self.marked.clear()
        for key in keys:
            self.refresh_key(key)

    def set_same(self, key: ArtifactKey | None) -> None:
        """Highlight the other rows showing the artifact under the cursor (a shared child
        appears once under each of its parents)."""
        if key is not None and len(self._rows_by_key.get(key, ())) < 2:
            key = None
        if key == self._same:
            return
        previous, self._same = self._same, key
        self.refresh_key(previous)
        self.refresh_key(key)

    # -- drawing ----------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        self._styles = None
        super().notify_style_update()

    def _row_styles(self) -> RowStyles:
        if self._styles is None:
            get = self.get_component_rich_style
            self._styles = RowStyles(
                **{name: get(f"registry-tree--{name}", partial=True) for name in RowStyles.__dataclass_fields__}
            )
        return self._styles

    def render_label(self, node: TreeNode[Entry], base_style: Style, style: Style) -> Text:
        entry = entry_of(node)
        if entry is None or self.registry is None:
            return super().render_label(node, base_style, style)
        key = entry.key
        same = key is not None and key == self._same and node is not self.cursor_node
        label = row_text(self.registry, entry, self._row_styles(), self._rules, self.loaded_view.sizes, key in self.marked, same)
        icon = (self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE) if node.allow_expand else ""
        self._add_created(node, label, len(icon))
        label.stylize(style)
        if icon:
            return Text.assemble((icon, base_style + Style(bold=True)), label, no_wrap=True, overflow="crop")
        return label

    def _add_created(self, node: TreeNode[Entry], label: Text, icon_width: int) -> None:
        """An image's or index's created date at the end of its row, when the whole row still fits:
        the tree crops, and the words before the date (markers, tags, size) matter more."""
        entry = node.data
        if entry is None or entry.kind != "artifact" or not entry.digest or self.registry is None:
            return
        repo = self.registry.repositories.get(entry.repository)
        artifact = repo.artifacts.get(entry.digest) if repo is not None else None
        if repo is None or artifact is None or artifact.kind not in ("image", "index") or entry.digest in repo.subjects:
            return
        created = self._created_times(repo).of(artifact.digest)
        if created is None:
            return  # an undated row says nothing; the details pane says `-`
        shown = "  " + format_created(created)[:10]
        guides = 0 if self.show_root else -1  # the hidden root draws no guide
        parent = node.parent
        while parent is not None:
            guides += 1
            parent = parent.parent
        if guides * self.guide_depth + icon_width + label.cell_len + len(shown) <= self.size.width:
            label.append(shown, self._row_styles().detail)

    def _created_times(self, repo: Repository) -> CreatedTimes:
        times = self._times.get(repo.name)
        if times is None or times.repo is not repo:
            times = self._times[repo.name] = CreatedTimes(repo)
        return times

    def get_label_width(self, node: TreeNode[Entry]) -> int:
        # The tree crops instead of scrolling sideways (the details pane shows every field),
        # so no label needs measuring: measuring each line made every rebuild twice as slow.
        return 0

    # -- finding and revealing ----------------------------------------------------------------

    def _child_matching(self, node: TreeNode[Entry], want) -> TreeNode[Entry] | None:
        """The child of `node` (looking inside groups) whose entry satisfies `want`. Rows are
        created only as far as the wanted one; the rest follow in chunks (as on expanding)."""
        items = self._items(node)
        wanted_at = next(
            (i for i, item in enumerate(items) if (item.kind == "group" and any(want(e) for e in item.items or ())) or want(item)), None
        )
        if wanted_at is None:
            return None
        entry = entry_of(node)
        if entry.filled <= wanted_at:
            self._add_items(node, wanted_at + 1 - entry.filled)
            if entry.filled < len(items) and node.is_expanded:
                self.run_worker(self._fill_in_chunks(node), group="fill")
        for child in node.children:
            data = entry_of(child)
            if data.kind == "group":
                if any(want(item) for item in data.items or ()):
                    if not child.is_expanded:
                        child.expand()
                    return self._child_matching(child, want)
            elif want(data):
                return child
        return None

    def repository_node(self, name: str) -> TreeNode[Entry] | None:
        return self._child_matching(self.root, lambda e: e.kind == "repository" and e.repository == name)

    def reveal(self, key: ArtifactKey) -> TreeNode[Entry] | None:
        """Expand the path to an artifact, move the cursor onto it and return its node."""
        node = self.find_path(key)
        if node is not None:
            self.sync_lines()
            self.move_cursor(node)
            self.scroll_to_node(node, animate=False)
        return node

    def reveal_repository(self, name: str) -> TreeNode[Entry] | None:
        node = self.repository_node(name)
        if node is not None:
            self.sync_lines()
            self.move_cursor(node)
        return node

    def find_path(self, key: ArtifactKey) -> TreeNode[Entry] | None:
        repository, digest = key
        if self.registry is None or repository not in self.registry.repositories:
            return None
        # Already on screen under an expanded path? Prefer the row the user can see.
        for row in self._rows_by_key.get(key, ()):
            if all(p.is_expanded for p in _ancestors(row)) and _attached(row, self.root):
                return row
        repo = self.registry.repositories[repository]
        if digest not in repo.artifacts:
            return None
        node = self.repository_node(repository)
        for d, relation, via in path_to(repo, digest, self.loaded_view.roots):
            if node is None:
                return None
            if not node.is_expanded:
                node.expand()
            node = self._child_matching(
                node, lambda e, d=d, r=relation, v=via: e.kind == "artifact" and e.digest == d and e.relation == r and e.via == v
            )
        return node

    # -- after a deletion ----------------------------------------------------------------------

    def apply_deletion(self, deleted: Iterable[ArtifactKey], repositories: set[str]) -> None:
        """The model already lost `deleted`: remove their rows, show artifacts that lost their
        last parent at the top of their repository, move the cursor to a neighbour."""
        gone = set(deleted)
        cursor = self.cursor_node
        landing = self._neighbour(cursor, gone) if cursor is not None else None
        self._forget_items(gone, repositories)
        for key in gone:
            for node in list(self._rows_by_key.get(key, ())):
                if node.tree is self and _attached(node, self.root):
                    self._forget_subtree(node)
                    node.remove()
            self._rows_by_key.pop(key, None)
        for name in repositories:
            self._add_new_roots(name)
        self.loaded_view.sizes.clear()
        if self._same is not None and self._same not in self._rows_by_key:
            self._same = None
        for key in [k for k in self.marked if k in gone]:
            del self.marked[key]
        self.sync_lines()
        if landing is not None and _attached(landing, self.root):
            self.move_cursor(landing)
        elif self.root.children:
            self.move_cursor(self.root.children[0])

    def apply_restoration(self, restored: Iterable[ArtifactKey], repositories: set[str]) -> None:
        """The model holds `restored` again (an undo): the rows of `repositories` are made anew
        from it, the rows that were open open again, and the cursor stays on its row (on a row
        that went under a restored index, it follows the artifact there)."""
        cursor = self.cursor_node
        cursor_key = cursor.data.key if cursor is not None and cursor.data is not None else None
        listed = {e.repository for item in self._items(self.root)
                  for e in ((item.items or ()) if item.kind == "group" else (item,))}
        if not repositories <= listed:  # a repository the tree never had: its place among them is new
            place = cursor_key or (entry_of(cursor).repository, None) if cursor is not None else None
            self.rebuild(self.expanded_repositories(), place)
            return
        moved: tuple[TreeNode[Entry], tuple[_Identity, ...]] | None = None
        for row in self.repository_rows():
            if entry_of(row).repository not in repositories:
                continue
            if cursor is not None and row in _ancestors(cursor):
                moved = (row, _identities(cursor, row))
            opened = _opened_paths(row)
            self._forget_subtree(row)
            row.remove_children()
            entry = entry_of(row)
            entry.items, entry.filled = None, 0
            self._populated = [n for n in self._populated if _attached(n, self.root)]
            if row.is_expanded:
                self._fill_now(row)
                for path in opened:
                    node = self._follow(row, path)
                    if node is not None and not node.is_expanded:
                        node.expand()
            row.refresh()
        self.loaded_view.sizes.clear()
        if self._same is not None and self._same not in self._rows_by_key:
            self._same = None
        self.sync_lines()
        if cursor is None:
            return
        if moved is None:
            self.move_cursor(cursor)
            return
        landing = self._follow(moved[0], moved[1]) if moved[0].is_expanded else moved[0]
        if landing is not None:
            self.sync_lines()
            self.move_cursor(landing)
        elif cursor_key is None or self.reveal(cursor_key) is None:
            self.move_cursor(moved[0])

    def _follow(self, node: TreeNode[Entry], path: tuple[_Identity, ...]) -> TreeNode[Entry] | None:
        """The row at `path` (identities of the rows on the way, groups left out) below `node`,
        opening the rows on the way; None when the model no longer has such a row."""
        found: TreeNode[Entry] | None = node
        for identity in path:
            assert found is not None
            if not found.is_expanded:
                found.expand()
            found = self._child_matching(found, lambda e, i=identity: _identity(e) == i)
            if found is None:
                return None
        return found

    def _forget_items(self, gone: set[ArtifactKey], repositories: set[str]) -> None:
        """Drop deleted artifacts from the item lists of populated nodes, so rows not yet
        created never appear, and remove groups left empty."""
        populated = []
        for node in self._populated:
            entry = entry_of(node)
            if not _attached(node, self.root):
                continue
            populated.append(node)
            if entry.repository not in repositories and entry.kind != "root":
                continue
            items = entry.items or []
            created = items[: entry.filled]
            entry.filled -= sum(1 for e in created if e.key in gone)
            entry.items = [e for e in items if e.key not in gone]
        self._populated = populated
        for node in populated:
            entry = entry_of(node)
            for child in list(node.children):
                group = entry_of(child)
                if group.kind == "group" and not group.items:
                    entry.items = [e for e in entry.items or [] if e is not group]
                    entry.filled -= 1
                    self._forget_subtree(child)
                    child.remove()

    def _neighbour(self, node: TreeNode[Entry], gone: set[ArtifactKey]) -> TreeNode[Entry]:
        """The row the cursor lands on: the nearest surviving row after, before or above."""
        doomed = lambda n: any(a.data is not None and a.data.key in gone for a in [n, *_ancestors(n)])  # noqa: E731
        if not doomed(node):
            return node
        current = node
        while current.parent is not None and current.parent is not self.root and doomed(current.parent):
            current = current.parent
        siblings = list(current.parent.children) if current.parent is not None else []
        index = siblings.index(current)
        for candidate in siblings[index + 1 :] + siblings[:index][::-1]:
            if not doomed(candidate):
                return candidate
        return current.parent if current.parent is not None and current.parent is not self.root else node

    def _forget_subtree(self, node: TreeNode[Entry]) -> None:
        stack = list(node.children)
        while stack:
            n = stack.pop()
            key = n.data.key if n.data is not None else None
            if key is not None and key in self._rows_by_key:
                self._rows_by_key[key] = [x for x in self._rows_by_key[key] if x is not n]
                if not self._rows_by_key[key]:
                    del self._rows_by_key[key]
            stack.extend(n.children)

    def _add_new_roots(self, name: str) -> None:
        """An artifact kept because it is tagged, whose parents were all deleted, is now
        top-level: add it under its repository (if that is already shown)."""
        repo_node = None
        for child in self.root.children:  # created rows only, inside groups of repositories too
            for row in child.children if entry_of(child).kind == "group" else [child]:
                if entry_of(row).kind == "repository" and entry_of(row).repository == name:
                    repo_node = row
        if repo_node is None or entry_of(repo_node).filled == 0 or self.registry is None:
            if repo_node is not None:
                repo_node.refresh()
            return
        repo_entry = entry_of(repo_node)
        shown: set[str | None] = set()  # rows under the repository, created or not yet
        for e in repo_entry.items or []:
            if e.kind == "group":
                shown.update(i.digest for i in e.items or [])
            else:
                shown.add(e.digest)
        repo = self.registry.repositories.get(name)
        if repo is None:
            return
        for digest in self.loaded_view.roots.of(repo):
            if digest not in shown:
                entry = Entry("artifact", name, digest)
                add = repo_node.add if has_items(self.registry, entry) else repo_node.add_leaf
                child = add(Text(self._name_of(entry)), entry)
                self._rows_by_key.setdefault((name, digest), []).append(child)
                if repo_entry.items is not None:
                    repo_entry.items.append(entry)
                    repo_entry.filled = len(repo_entry.items)
        repo_node.refresh()


_Identity = tuple[str, str | None, str, str | None]


def _identity(entry: Entry) -> _Identity:
    """What a row shows, the same on rows made again from the same model."""
    return entry.kind, entry.digest, entry.relation, entry.via


def _identities(node: TreeNode[Entry], top: TreeNode[Entry]) -> tuple[_Identity, ...]:
    """The path from `top` down to `node`, groups left out (they are made again by position)."""
    path = [node, *_ancestors(node)]
    below = path[: path.index(top)]
    return tuple(_identity(entry_of(n)) for n in reversed(below) if entry_of(n).kind != "group")


def _opened_paths(top: TreeNode[Entry]) -> list[tuple[_Identity, ...]]:
    """The rows open below `top`, as paths, shallowest first."""
    paths: list[tuple[_Identity, ...]] = []
    stack: list[tuple[TreeNode[Entry], tuple[_Identity, ...]]] = [(top, ())]
    while stack:
        node, path = stack.pop()
        for child in node.children:
            if not child.is_expanded:
                continue
            entry = entry_of(child)
            below = path if entry.kind == "group" else (*path, _identity(entry))
            if entry.kind != "group":
                paths.append(below)
            stack.append((child, below))
    return sorted(paths, key=len)


def entry_of(node: TreeNode[Entry]) -> Entry:
    """The Entry of a row. Every row of this tree is made with one; Textual types `data` as
    optional because a Tree in general may have rows without."""
    return cast(Entry, node.data)


def _ancestors(node: TreeNode) -> list[TreeNode]:
    out = []
    parent = node.parent
    while parent is not None:
        out.append(parent)
        parent = parent.parent
    return out


def _attached(node: TreeNode, root: TreeNode) -> bool:
    current = node
    while current.parent is not None:
        if current not in current.parent.children:
            return False
        current = current.parent
    return current is root
