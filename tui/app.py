"""OcitreeApp: the registry tree, the details pane, and the select, Delete, confirm flow.

Every deletion decision comes from core.planner; this module only asks for plans, shows
them, and hands allowed ones to core.executor in a worker thread.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Iterable
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, ProgressBar, Static, Tree

from ocitree.core.errors import OcitreeError, StalePlanError
from ocitree.core.model import Registry
from ocitree.core.plan import DeletionPlan, ExecutionResult, TargetRef
from ocitree.core.leftovers import find_leftovers
from ocitree.core.planner import plan_deletion
from ocitree.core.prune import Selection, plan_prune, select_by_rule
from ocitree.core.stores.base import LoadProgress, Store
from ocitree.core.executor import execute_plan

from .daemon_thread import in_daemon_thread
from .literal import literal
from .plan_text import human_bytes
from .screens.confirm import ConfirmDeleteScreen
from .screens.error import QUIT, RETRY, ErrorScreen, result_text
from .screens.help import HelpScreen, KeySection
from .screens.leftovers import LeftoversScreen
from .screens.mark_rule import MarkByRuleScreen, MarkRuleRequest
from .screens.progress import DeletingScreen
from .screens.refusal import JUMP, RefusalScreen
from .screens.untag import untagger
from .screens.quit import QuitDuringDeletionScreen
from .widgets.details import DetailsPane, details_text, repository_summary
from .widgets.entries import Entry, items_below, root_items
from .widgets.filtering import FilterResult, SearchWords, apply_filter
from .widgets.registry_tree import ORDERS, RegistryTree
from .widgets.find_index import FindIndex
from .widgets.search import Match, SearchBar, find_matches
from .widgets.source_header import HeaderState, SourceHeader

ArtifactKey = tuple[str, str]

# Above this many children an artifact's delete preview is worked out off the UI thread,
# so holding a key down over a huge index never stalls the cursor.
PREVIEW_INLINE_LIMIT = 2000
PROGRESS_INTERVAL = 0.1  # seconds between progress repaints (loading, deleting)
FILTER_OPEN_REPOSITORIES = 20  # a filter opens the repositories it leaves when there are this few
FILTER_OPEN_MATCHES = 50  # and the path to every match when there are this few
FIND_PLACEHOLDER = "find a repository, tag or digest prefix; Enter jumps, n/N next/previous, Esc clears"
FILTER_PLACEHOLDER = "filter: repository, tag, digest, platform, kind, shared/untagged/orphaned; Enter applies"

KEY_NAMES = {
    "slash": "/",
    "question_mark": "?",
    "space": "space",
    "delete": "Delete",
    "escape": "Esc",
    "enter": "Enter",
    "ctrl+p": "ctrl+p",
    "ctrl+c": "ctrl+c",
}


class OcitreeApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "ocitree"
    ENABLE_COMMAND_PALETTE = True
    NOTIFICATION_TIMEOUT = 3  # a toast sits over the details pane's last lines: not for long
    # Under 80 columns the details pane goes below the tree instead of beside it.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (80, "-wide")]

    BINDINGS = [
        Binding("d", "delete", "Delete", tooltip="Delete the artifact under the cursor, or the marked ones", id="delete"),
        Binding("delete", "delete", "Delete", tooltip="Delete the artifact under the cursor, or the marked ones", show=False, id="delete.key"),
        # Read-only: the same keys show the plan, with no way to run it.
        Binding("d", "preview", "Preview", tooltip="Read-only: show what deleting would do", id="preview"),
        Binding("delete", "preview", "Preview", tooltip="Read-only: show what deleting would do", show=False, id="preview.key"),
        Binding("slash", "search", "Find", tooltip="Find a repository, tag or digest prefix (jumps; hides nothing)", id="search"),
        Binding("n", "next_match", "Next", tooltip="Next match of the find", id="search.next"),
        Binding("N", "previous_match", "Prev", tooltip="Previous match of the find", show=False, id="search.previous"),
        Binding("f", "filter", "Filter", tooltip="Show only what matches: repository, tag, digest prefix, platform, kind, marker", id="filter"),
        Binding("escape", "clear_search", "Clear", tooltip="Clear the find, then the filter", show=False, id="search.clear"),
        Binding("o", "sort", "Sort", show=False, tooltip="Sort each repository's top level: by name, created date, size", id="sort"),
        Binding("c", "copy", "Copy", show=False, tooltip="Copy the full reference (repository@sha256:...) under the cursor", id="copy"),
        Binding("p", "jump_next_parent", "Parent", show=False, tooltip="Go to the next parent (or subject)", id="parent"),
        *[Binding(str(i), f"jump({i})", f"Parent {i}", show=False, id=f"parent.{i}") for i in range(1, 10)],
        Binding("m", "mark_by_rule", "Mark rule", tooltip="Mark by rule: keep last N, older than, untagged, orphans (as ocitree prune)",
                show=False, id="mark_rule"),
        Binding("L", "leftovers", "Leftovers", tooltip="Leftovers across the registry, by group with sizes; Enter marks a group",
                show=False, id="leftovers"),
        Binding("u", "unmark_all", "Unmark all", tooltip="Unmark every marked artifact", show=False, id="unmark"),
        Binding("r", "reload", "Reload", tooltip="Load the registry again from the source", id="reload"),
        Binding("question_mark", "help", "Help", tooltip="This list of keys", id="help"),
        Binding("q", "quit", "Quit", tooltip="Quit", id="quit"),
        # After q: on a narrow footer t is what gives way.
        Binding("t", "untag", "Untag", tooltip="Remove a tag, keep the manifest (where the source can)", id="untag"),
        Binding("t", "untag_why", "Untag", tooltip="Remove a tag, keep the manifest (where the source can)", show=False, id="untag.why"),
        # Over dialogs too; copies selected text instead when there is some.
        Binding("ctrl+c", "interrupt", "Quit", tooltip="Quit (asks first during a deletion); with text selected, copy it",
                show=False, priority=True, system=True, id="interrupt"),
    ]

    def __init__(
        self,
        store: Store,
        read_only: bool = False,
        protect: Iterable[str] = (),
        audit_log: Path | None = None,
    ) -> None:
        # The terminal's own 16 colours (ansi-dark theme). Saying so before App.__init__ matters:
        # that is where NO_COLOR picks its filter, and only the ANSI one keeps default colours.
        super().__init__(ansi_color=True)
        self.store = store
        self.read_only = read_only or store.read_only
        self.protect = list(protect)
        self.audit_log = audit_log
        self.registry: Registry | None = None
        self.loading = False
        self.deleting = False
        self.matches: list[Match] = []
        self.match_index = -1
        self.query_text = ""
        self.jump_targets: list[ArtifactKey] = []
        self._cycle: tuple[list[ArtifactKey], int] | None = None
        self._preview_cache: dict[ArtifactKey, Text] = {}
        self._rules: tuple = ()
        self._restore: tuple[str, str | None] | None = None
        self._restore_expanded: list[str] = []
        self.filter_text = ""
        self._bar_mode = "find"
        self._words = SearchWords()
        self._stop_requested = False
        self._rule_marks: Selection | None = None  # the marks `m` or `L` made, planned as a prune
        self._find_index: FindIndex | None = None
        self.theme = "ansi-dark"

    # -- layout -------------------------------------------------------------------------------

    def _fatal_error(self) -> None:
        """Exit after an unhandled exception, showing the traceback WITHOUT local variables.

        Textual's own version shows locals, and a frame in the registry code can hold an
        Authorization header or a token request: credentials are never printed. The
        exception's own text is made printable: it can quote a tag or a registry's answer."""
        import rich
        from rich.segment import Segments
        from rich.traceback import Traceback

        self.bell()
        traceback = Traceback(show_locals=False, width=None, suppress=[rich])
        for stack in traceback.trace.stacks:  # an exception's text can quote a source string
            stack.exc_type, stack.exc_value = literal(stack.exc_type), literal(stack.exc_value)
            stack.notes = [literal(note) for note in stack.notes]
        self._exit_renderables.append(Segments(self.console.render(traceback, self.console.options)))
        self._close_messages_no_wait()

    def compose(self) -> ComposeResult:
        yield SourceHeader(HeaderState(self.store.source, read_only=self.read_only,
                                       read_only_reason=getattr(self.store, "read_only_reason", None)), id="header")
        with Vertical(id="loading"):
            yield Static(Text(f"Loading {literal(self.store.source)} ..."), id="loading-text")
            yield ProgressBar(total=None, show_eta=False, id="loading-progress")
        with Horizontal(id="main"):
            yield RegistryTree(id="tree")
            yield DetailsPane(id="details")
        yield SearchBar(placeholder=FIND_PLACEHOLDER, id="search")
        yield Static(id="status")
        yield Footer(compact=True)

    @property  # DOMNode.tree (the DOM as a Rich tree, for debugging) gives way to the app's tree widget
    def tree(self) -> RegistryTree:  # type: ignore[override]
        return self.query_one("#tree", RegistryTree)

    def on_mount(self) -> None:
        self._update_header()
        self.load()

    def on_resize(self, event) -> None:
        # Under 80 columns the footer needs the palette's room for q Quit (ctrl+p still works).
        footer = self.screen_stack[0].query(Footer)
        for f in footer:
            f.show_command_palette = event.size.width >= 80

    def _update_header(self) -> None:
        # (App.is_mounted is a method, so the `if self.is_mounted` that stood here was always true.)
        marked = len(self.tree.marked)
        tree_filter = self.tree.filter
        self.query_one("#header", SourceHeader).update(
            registry=self.registry, read_only=self.read_only, marked=marked, loading=self.loading,
            order=self.tree.order,
            filter_text=self.filter_text if tree_filter is not None else "",
            filter_counts=(tree_filter.count, tree_filter.total) if tree_filter is not None else None,
        )

    # -- loading --------------------------------------------------------------------------------

    def load(self) -> None:
        if self.loading or self.deleting:
            return
        self.loading = True
        self._restore = self._cursor_place() if self.registry is not None else None
        self._restore_expanded = self.tree.expanded_repositories() if self.registry is not None else []
        self.query_one("#loading").display = True
        self.query_one("#main").display = False
        self.query_one("#loading-progress", ProgressBar).update(total=None, progress=0)
        self._update_header()
        self.refresh_bindings()
        self._load_worker()

    @work(exclusive=True, group="load", exit_on_error=False)
    async def _load_worker(self) -> None:
        # The reading runs on a daemon thread, not in a thread worker: asyncio waits for its
        # executor's threads when the app ends, so quitting during a stuck load would wait too.
        loop = asyncio.get_running_loop()
        last = 0.0

        def progress(p: LoadProgress) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last >= PROGRESS_INTERVAL or (p.total is not None and p.done >= p.total):
                last = now
                try:
                    loop.call_soon_threadsafe(self._show_progress, p)
                except RuntimeError:  # the app has ended
                    pass

        def read() -> Registry:
            registry = self.store.load(progress)
            for repo in registry.repositories.values():  # what the first expansions need
                root_items(repo)
                repository_summary(repo)
            return registry

        try:
            registry = await in_daemon_thread(read, "ocitree-load")
        except OcitreeError as exc:
            self._load_failed(exc)
            return
        except Exception as exc:  # a bug or an unexpected I/O error: say so, keep the app alive
            self._load_failed(exc)
            return
        self._loaded(registry)

    def _show_progress(self, p: LoadProgress) -> None:
        if not self.loading or not self.is_running:
            return
        bar = self.query_one("#loading-progress", ProgressBar)
        bar.update(total=p.total, progress=p.done)
        what = f" {literal(p.message)}" if p.message else ""
        self.query_one("#loading-text", Static).update(Text(f"Loading {literal(self.store.source)}:{what}"))

    def _load_failed(self, exc: Exception) -> None:
        self.loading = False
        if self.registry is not None:
            # A reload failed: the last loaded registry stays on screen (the executor still
            # checks the source before deleting), and the status line says it is not fresh.
            self.query_one("#loading").display = False
            self.query_one("#main").display = True
            self.tree.focus()
            self._set_status(Text("Reload failed: showing the registry as loaded before. r tries again.", "bold"))
        self._update_header()
        self.refresh_bindings()
        message = str(exc) if isinstance(exc, OcitreeError) else f"unexpected error: {exc!r}"
        body = Text(literal(message) + "\n\nPress r to try again or q to quit.")
        self.push_screen(
            ErrorScreen(f"Cannot load {literal(self.store.source)}", body, can_close=self.registry is not None),
            callback=lambda choice: self._after_error(choice, getattr(exc, "exit_code", 1)),
        )

    def _loaded(self, registry: Registry) -> None:
        self.loading = False
        self.registry = registry
        # The model lives as long as the app; without this every full collection rescans its
        # hundreds of thousands of objects, a pause of a third of a second on a key press.
        gc.freeze()
        self._rules = registry.protection_rules(self.protect)
        self._preview_cache.clear()
        self.query_one("#loading").display = False
        self.query_one("#main").display = True
        tree = self.tree
        if self.filter_text:  # a filter stays on across reloads, matched against what is there now
            tree.filter = apply_filter(registry, self.filter_text, self._words, self._rules)
        tree.set_registry(registry, self.protect)
        tree.focus()
        if self._restore is not None:
            # The same artifact, or its repository when it is gone.
            tree.rebuild(self._restore_expanded, self._restore)
        self._update_header()
        self._show_details()
        if not self.query_text:  # drop a "reload failed" line; keep a filter's match line
            self._set_status(None)
        self.refresh_bindings()
        self._build_find_index(registry)
        self._warm_filter(registry)

    @work(exclusive=True, group="warm", exit_on_error=False)
    async def _warm_filter(self, registry: Registry) -> None:
        """Work out the words `f` matches while nobody is typing (a second at 100,000 artifacts).
        On a daemon thread, as loading: quitting does not wait for it."""

        def warm() -> None:
            for repo in list(registry.repositories.values()):
                self._words.of(repo, self._rules)

        await in_daemon_thread(warm, "ocitree-warm")

    def _after_error(self, choice: str | None, exit_code: int = 1) -> None:
        if choice == QUIT:
            self.exit(return_code=exit_code if self.registry is None else 0)
        elif choice == RETRY:
            self.action_reload()

    # -- the details pane -------------------------------------------------------------------------

    @on(Tree.NodeHighlighted, "#tree")
    def _highlighted(self, event: Tree.NodeHighlighted) -> None:
        entry = event.node.data
        key = entry.key if entry is not None else None
        self.tree.set_same(key)
        if self._cycle is not None and key not in self._cycle[0]:
            self._cycle = None
        self._show_details()

    def _show_details(self) -> None:
        if self.registry is None:
            return
        entry = self.tree.cursor_entry
        preview = None
        key = entry.key if entry is not None else None
        if key is not None:
            preview = self._preview_cache.get(key)
            repo = self.registry.repositories.get(key[0])
            artifact = repo.artifacts.get(key[1]) if repo is not None else None
            if artifact is None:
                preview = None
            elif preview is None:
                if len(artifact.children) > PREVIEW_INLINE_LIMIT:
                    preview = Text("working it out...", "dim")
                    self._preview_worker(key)
                else:
                    preview = self._preview(key)
        self.jump_targets = []
        content = details_text(self.registry, entry, preview, self._rules, self.jump_targets, self.tree._sizes)
        digest = entry.digest if entry is not None and entry.kind == "artifact" else None
        self.query_one("#details", DetailsPane).show(content, digest)
        self.refresh_bindings()

    def _preview(self, key: ArtifactKey) -> Text:
        assert self.registry is not None
        plan = plan_deletion(self.registry, [_target(key)], self.protect)
        text = Text(plan.summary(), "bold" if plan.allowed else "bold reverse")
        self._preview_cache[key] = text
        return text

    @work(exclusive=True, group="preview", exit_on_error=False)
    async def _preview_worker(self, key: ArtifactKey) -> None:
        # A daemon thread, as for loading: quitting does not wait for a long plan to be worked out.
        await in_daemon_thread(lambda: self._preview(key), "ocitree-preview")
        self._preview_ready(key)

    def _preview_ready(self, key: ArtifactKey) -> None:
        entry = self.tree.cursor_entry
        if entry is not None and entry.key == key:
            self._show_details()

    @on(RegistryTree.Expanded)
    def _expanded_all(self, event: RegistryTree.Expanded) -> None:
        if not event.complete:
            self.notify(f"{literal(event.repository)} is large: opened {event.rows:,} rows; Enter opens the rest one by one.", markup=False)

    # -- marking ---------------------------------------------------------------------------------

    @on(RegistryTree.MarkRequested)
    def action_mark(self) -> None:
        entry = self.tree.cursor_entry
        key = entry.key if entry is not None else None
        if key is None:
            self.notify("Only artifacts can be marked: move to an artifact row.", severity="warning")
            return
        marked = self.tree.toggle_mark(key)
        self._rule_marks = None  # marked by hand now: a delete plans exactly these, all or nothing
        self._update_header()
        self.refresh_bindings()
        if marked and self.read_only:
            self.notify("Read-only: marks show what a deletion would take; d previews the plan.", severity="warning")

    def action_untag(self) -> None:
        untagger(self).start()

    def action_untag_why(self) -> None:
        untagger(self).explain()

    def action_unmark_all(self) -> None:
        self._rule_marks = None
        self.tree.clear_marks()
        self._update_header()
        self.refresh_bindings()

    # -- deleting --------------------------------------------------------------------------------

    def _targets(self) -> list[ArtifactKey]:
        if self.tree.marked:
            return list(self.tree.marked)
        entry = self.tree.cursor_entry
        return [entry.key] if entry is not None and entry.key is not None else []

    def action_delete(self) -> None:
        if self.read_only:
            self.action_preview()
            return
        if self.registry is None or self.deleting:
            return
        keys = self._targets()
        if not keys:
            self.notify("Nothing to delete here: move to an artifact, or mark some with space.", severity="warning")
            return
        plan = self._plan(keys)
        if plan.allowed:
            self.push_screen(ConfirmDeleteScreen(plan, self.registry, self.store.blob_reclaim), callback=lambda ok: self._confirmed(plan, ok))
        else:
            self.push_screen(RefusalScreen(plan, self.registry), callback=lambda choice: self._refusal_closed(plan, choice))

    def action_preview(self) -> None:
        """Read-only: the whole plan, as the confirmation shows it, with nothing to run it."""
        if self.registry is None:
            return
        keys = self._targets()
        if not keys:
            self.notify("Nothing to preview here: move to an artifact, or mark some with space.", severity="warning")
            return
        plan = self._plan(keys)
        if plan.allowed:
            self.push_screen(ConfirmDeleteScreen(plan, self.registry, self.store.blob_reclaim, read_only=True))
        else:
            self.push_screen(RefusalScreen(plan, self.registry), callback=lambda choice: self._refusal_closed(plan, choice))

    def _plan(self, keys: list[ArtifactKey]) -> DeletionPlan:
        """Marks a rule made plan as a prune (refused candidates retained, the rest goes);
        marks made by hand plan as one delete (one refusal refuses all)."""
        assert self.registry is not None
        if self._rule_marks is not None and set(keys) == set(self.tree.marked):
            targets = [_target(k) for k in keys]
            return plan_prune(self.registry, Selection(targets, list(self._rule_marks.retained)), self.protect)
        return plan_deletion(self.registry, [_target(k) for k in keys], self.protect)

    # -- marking by rule -------------------------------------------------------------------------

    def action_mark_by_rule(self) -> None:
        entry = self.tree.cursor_entry
        repository = entry.repository if entry is not None else None
        self.push_screen(MarkByRuleScreen(repository), callback=self._mark_by_rule)

    def _mark_by_rule(self, request: MarkRuleRequest | None) -> None:
        if request is None or self.registry is None:
            return
        entry = self.tree.cursor_entry
        repositories = None if request.all_repositories or entry is None else [entry.repository]
        selection = select_by_rule(self.registry, request.rule, time.time(), repositories)
        self._set_marks([(t.repository, t.digest) for t in selection.targets])
        self._rule_marks = selection
        retained = len(selection.retained)
        self.notify(f"Marked {len(selection.targets)} by rule; {retained} candidate{'s' if retained != 1 else ''} retained "
                    "(Delete shows the plan and why).")

    def _set_marks(self, keys: list[ArtifactKey]) -> None:
        self.tree.clear_marks()
        for key in keys:
            self.tree.toggle_mark(key)
        self._update_header()
        self.refresh_bindings()

    def action_leftovers(self) -> None:
        if self.registry is None:
            return
        groups = find_leftovers(self.registry)
        self.push_screen(LeftoversScreen(groups, self.store.sees_untagged),
                         callback=lambda kind: self._mark_leftovers(groups, kind))

    def _mark_leftovers(self, groups, kind) -> None:
        if kind is None:
            return
        group = next(g for g in groups if g.kind == kind)
        keys = list(group.artifacts)
        self._set_marks(keys)
        # Leftovers plan like a prune: one that an index outside the plan still lists is retained, not a refusal of all.
        self._rule_marks = Selection([_target(k) for k in keys], [])
        self.notify(f"Marked {len(keys)}: {group.title}. Delete shows the plan.")

    def _refusal_closed(self, plan: DeletionPlan, choice: str | None) -> None:
        if choice != JUMP:
            return
        for r in plan.refusals:
            if r.reason == "referenced" and r.parents:
                self.tree.reveal((r.repository, r.parents[0].digest))
                return

    def _confirmed(self, plan: DeletionPlan, ok: bool | None) -> None:
        if not ok:
            self.notify("Cancelled: nothing was deleted.")
            return
        self.deleting = True
        self._stop_requested = False
        self.refresh_bindings()
        screen = DeletingScreen(len(plan.delete), self.store.source)
        self.push_screen(screen)
        self._execute(plan, screen)

    @work(thread=True, exclusive=True, group="delete", exit_on_error=False)
    def _execute(self, plan: DeletionPlan, screen: DeletingScreen) -> None:
        last = 0.0

        def on_step(done, total, ref) -> None:
            # Each call waits for the UI thread: at every step, a file store's 10,000
            # in-memory deletions would spend most of their time repainting the bar.
            nonlocal last
            if self._stop_requested:  # ctrl+c, confirmed: the executor stops as at an interrupt
                raise KeyboardInterrupt
            now = time.monotonic()
            if now - last >= PROGRESS_INTERVAL or done == total:
                last = now
                self.call_from_thread(screen.advance, done, total, ref)

        try:
            result = execute_plan(plan, self.store, on_step, self.audit_log)
        except Exception as exc:  # StalePlanError, StoreError, or a bug: nothing or part was done
            self.call_from_thread(self._execution_failed, plan, exc)
            return
        self.call_from_thread(self._executed, plan, result)

    def _close_deletion_screens(self) -> None:
        while isinstance(self.screen, (QuitDuringDeletionScreen, DeletingScreen)):
            self.pop_screen()

    def _executed(self, plan: DeletionPlan, result: ExecutionResult) -> None:
        self.deleting = False
        self._close_deletion_screens()
        if self._stop_requested:
            n, left = len(result.deleted), len(result.not_done)
            self.exit(return_code=1, message=Text(
                f"ocitree: stopped by ctrl+c: deleted {n}, not deleted {left}. What remains is consistent; "
                "open it again and delete the same to finish."))
            return
        deleted = [(d.repository, d.digest) for d in result.deleted]
        if deleted and self.registry is not None:
            repositories = self.registry.drop_artifacts(deleted)
            self.store.refresh_blob_scope(self.registry)
            self._preview_cache.clear()
            if self.tree.filter is not None:  # the counts in the header follow what is left
                self.tree.filter = apply_filter(self.registry, self.filter_text, self._words, self._rules)
            self.tree.apply_deletion(deleted, repositories)
            self._refresh_matches()
        self._update_header()
        self._show_details()
        if result.completed:
            n = len(result.deleted)
            tags = len(plan.tags_removed)
            message = f"Deleted {n} artifact{'s' if n != 1 else ''} and {tags} tag{'s' if tags != 1 else ''}"
            kept = ", ".join(part.replace("keeps", "kept") for part in plan.summary().split(", ") if part.startswith("keeps"))
            if kept:
                message += f"; {kept}"
            freed = "freed" if plan.reclaim.by == "immediate" else "reclaimable by garbage collection"
            bound = "" if plan.reclaim.exact else "at most "
            message += f". {bound}{human_bytes(plan.reclaimable_bytes)} {freed}."
            self.notify(message, title="Deleted")
            if plan.rewrite:  # a rewritten referrers index is new content: read the source again
                self.load()
        else:
            self.push_screen(ErrorScreen("The deletion stopped part way", result_text(result)), callback=self._after_error)
        if self.audit_log is not None and result.audit_log is None:
            self.notify(f"Could not append to the audit log {literal(str(self.audit_log))}.", severity="warning")

    def _execution_failed(self, plan: DeletionPlan, exc: Exception) -> None:
        self.deleting = False
        self._close_deletion_screens()
        if self._stop_requested:
            self.exit(return_code=1, message=Text(f"ocitree: stopped by ctrl+c before deleting: {literal(str(exc))}"))
            return
        if isinstance(exc, OcitreeError):  # raised before the first deletion: nothing changed
            body = Text("Nothing was deleted.\n\n", "bold")
            body.append(literal(str(exc)))
        else:  # a bug: where it stopped is unknown, so do not claim nothing changed
            body = Text("The deletion failed unexpectedly; press r to reload and see what remains.\n\n", "bold")
            body.append(literal(f"{type(exc).__name__}: {exc}"))
        if isinstance(exc, StalePlanError):
            body.append("\n\nPress r to reload and see the registry as it is now.")
        self.push_screen(ErrorScreen("Deletion refused by the store", body), callback=self._after_error)
        self.refresh_bindings()

    # -- jumping to parents -------------------------------------------------------------------

    def action_jump(self, n: int) -> None:
        if 1 <= n <= len(self.jump_targets):
            targets = list(self.jump_targets)
            if self.tree.reveal(targets[n - 1]) is None:
                self.notify("Cannot show that artifact.", severity="warning")

    def action_jump_next_parent(self) -> None:
        """p: go through the parents (or subjects) one by one. The cycle survives the cursor
        moving onto each of them, so p, p, p visits every parent of the artifact it began on."""
        entry = self.tree.cursor_entry
        key = entry.key if entry is not None else None
        if self._cycle is not None and key == self._cycle[0][self._cycle[1]]:
            targets, index = self._cycle[0], (self._cycle[1] + 1) % len(self._cycle[0])
        elif self.jump_targets:
            targets, index = list(self.jump_targets), 0
        else:
            return
        self._cycle = (targets, index)
        self.tree.reveal(targets[index])
        if len(targets) > 1:
            self.notify(f"Parent {index + 1} of {len(targets)}: p for the next.", timeout=2)

    # -- find (`/`) and filter (`f`) --------------------------------------------------------------

    def _open_bar(self, mode: str) -> None:
        bar = self.query_one("#search", SearchBar)
        self._bar_mode = mode
        bar.placeholder = FILTER_PLACEHOLDER if mode == "filter" else FIND_PLACEHOLDER
        bar.value = self.filter_text if mode == "filter" else self.query_text
        bar.display = True
        bar.focus()
        self.refresh_bindings()

    def action_search(self) -> None:
        self._open_bar("find")

    def action_filter(self) -> None:
        self._open_bar("filter")

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        bar = self.query_one("#search", SearchBar)
        bar.display = False
        self.tree.focus()
        if self._bar_mode == "filter":
            self.apply_filter_text(event.value.strip())
            return
        self.query_text = event.value.strip()
        if not self.query_text or self.registry is None:
            self._clear_find()
            return
        self.matches = self._find(self.query_text, self.tree.filter)
        self.match_index = -1
        if not self.matches:
            self._set_status(Text(f"no match for {literal(self.query_text)!r}: Esc clears", "bold"))
        else:
            self._go_to_match(0)
        self.refresh_bindings()

    def _find(self, query: str, shown=None) -> list[Match]:
        assert self.registry is not None  # callers return first without one
        index = self._find_index
        if index is None or index.registry is not self.registry:
            index = self._find_index = FindIndex(self.registry)
        return index.matches(query, shown)

    @work(thread=True, exclusive=True, group="find-index", exit_on_error=False)
    def _build_find_index(self, registry: Registry) -> None:
        """After the first screen, so that the first `/` at a million artifacts answers at once."""
        index = FindIndex(registry)
        if self._find_index is None or self._find_index.registry is not self.registry:
            self._find_index = index

    def _cursor_place(self) -> tuple[str, str | None] | None:
        """Where the cursor is, to put it back after the rows are rebuilt."""
        entry = self.tree.cursor_entry
        if entry is None or entry.kind == "root" or not entry.repository:
            return None
        return (entry.repository, entry.key[1] if entry.key is not None else None)

    def apply_filter_text(self, text: str) -> None:
        """Hide every row that neither matches `text` nor leads to a match; "" shows all."""
        if self.registry is None:
            return
        tree = self.tree
        place = self._cursor_place()
        expanded = tree.expanded_repositories()
        self._clear_find()
        self.filter_text = text
        if not text:
            tree.filter = None
            tree.rebuild(expanded, place)
        else:
            result = apply_filter(self.registry, text, self._words, self._rules)
            tree.filter = result
            names = sorted(result.repositories)
            tree.rebuild(names if len(names) <= FILTER_OPEN_REPOSITORIES else [], None)
            first = self._first_match(result)
            if first is not None:
                if result.count <= FILTER_OPEN_MATCHES:
                    for key in sorted(result.matched_keys(), reverse=True):
                        tree.find_path(key)
                tree.reveal(first)
            elif result.count == 0:
                self._set_status(Text(f"no artifact matches {literal(text)!r}: Esc clears the filter", "bold"))
        self._update_header()
        self._show_details()
        self.refresh_bindings()

    def _first_match(self, result: FilterResult) -> ArtifactKey | None:
        """The first matching artifact in the order the tree shows them."""
        assert self.registry is not None
        for name in sorted(result.repositories):
            shown = result.visible.get(name, set())
            for top in self.tree.top_level(name):
                if top not in shown:
                    continue
                stack = [top]
                while stack:  # depth first, in the order the rows appear
                    digest = stack.pop()
                    if result.matches((name, digest)):
                        return (name, digest)
                    below = items_below(self.registry, Entry("artifact", name, digest))
                    stack.extend(e.digest for e in reversed(below) if e.key is not None and e.digest in shown)
        return None

    def _go_to_match(self, index: int) -> None:
        self.match_index = index % len(self.matches)
        match = self.matches[self.match_index]
        if match.digest is None:
            self.tree.reveal_repository(match.repository)
        else:
            self.tree.reveal((match.repository, match.digest))
        self._show_match_status()

    def _refresh_matches(self) -> None:
        """After a deletion: the matches that are left, without moving the cursor."""
        if not self.query_text or self.registry is None:
            return
        self.matches = self._find(self.query_text)
        self.match_index = min(self.match_index, len(self.matches) - 1)
        if self.matches:
            self._show_match_status()
        else:
            self._set_status(Text(f"no match left for {literal(self.query_text)!r}: Esc clears", "bold"))

    def _show_match_status(self) -> None:
        status = Text()
        status.append(f"/{literal(self.query_text)}", "bold")
        status.append(f"  match {self.match_index + 1} of {len(self.matches)}   n next  N previous  Esc clears")
        self._set_status(status)

    def action_next_match(self) -> None:
        if self.matches:
            self._go_to_match(self.match_index + 1)

    def action_previous_match(self) -> None:
        if self.matches:
            self._go_to_match(self.match_index - 1)

    def action_clear_search(self) -> None:
        """Esc: the find first (and an open bar), then the filter."""
        bar = self.query_one("#search", SearchBar)
        if bar.display and self._bar_mode == "filter":
            self._clear_find()
            self.apply_filter_text("")
        elif bar.display or self.query_text or self.matches:
            self._clear_find()
        elif self.tree.filter is not None:
            self.apply_filter_text("")

    def _clear_find(self) -> None:
        bar = self.query_one("#search", SearchBar)
        was_open = bar.display
        bar.display = False
        bar.value = ""
        self.query_text = ""
        self.matches = []
        self.match_index = -1
        self._set_status(None)
        if was_open:
            self.tree.focus()
        self.refresh_bindings()

    # -- sort, copy, ctrl+c ------------------------------------------------------------------------

    def action_sort(self) -> None:
        tree = self.tree
        tree.order = ORDERS[(ORDERS.index(tree.order) + 1) % len(ORDERS)]
        tree.rebuild(tree.expanded_repositories(), self._cursor_place())
        self._update_header()
        if tree.order == "created":
            self.notify("Newest first by created time (image config or org.opencontainers.image.created); "
                        "artifacts without a date come last.")

    def action_copy(self) -> None:
        entry = self.tree.cursor_entry
        if entry is None or entry.kind == "group":
            self.notify("Nothing to copy here: move to an artifact or a repository.", severity="warning")
            return
        reference = f"{entry.repository}@{entry.digest}" if entry.digest else entry.repository
        self.copy_to_clipboard(reference)
        self.notify(f"Copied {literal(reference)}", markup=False)

    def action_interrupt(self) -> None:
        """ctrl+c: copy selected text if there is some; else quit, asking first while deleting."""
        focused = self.focused
        selected = focused.selected_text if isinstance(focused, Input) else None
        if not selected:
            selected = self.screen.get_selected_text()
        if selected:
            self.copy_to_clipboard(selected)
            self.screen.clear_selection()
            self.notify("Copied the selected text.")
            return
        if self.deleting:
            if not self._stop_requested and not isinstance(self.screen, QuitDuringDeletionScreen):
                self.push_screen(QuitDuringDeletionScreen(), callback=self._quit_during_deletion)
            return
        self.exit(return_code=0)

    def _quit_during_deletion(self, stop: bool | None) -> None:
        if stop and self.deleting:
            self._stop_requested = True
            screen = self.screen
            if isinstance(screen, DeletingScreen):
                screen.query_one("#delete-step", Static).update("stopping after the artifact being deleted now...")

    def _set_status(self, text: Text | None) -> None:
        status = self.query_one("#status", Static)
        status.display = text is not None
        status.update(text or "")

    # -- the rest ---------------------------------------------------------------------------------

    def action_reload(self) -> None:
        self._clear_find()  # matches of the old registry would point at rows that may be gone
        self.load()

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.key_sections()))

    def key_sections(self) -> list[KeySection]:
        def rows(bindings) -> list[tuple[str, str]]:
            out: dict[str, list[str]] = {}
            for b in bindings:
                if not isinstance(b, Binding):
                    continue
                label = b.tooltip or b.description
                out.setdefault(label, []).append(KEY_NAMES.get(b.key, b.key))
            return [(", ".join(keys), label) for label, keys in out.items()]

        app_rows = rows(b for b in self.BINDINGS if isinstance(b, Binding) and not b.action.startswith("jump(") and b.action not in ("preview", "untag_why"))
        app_rows.insert(app_rows.index(next(r for r in app_rows if r[0] == "p")) + 1, ("1-9", "Go to parent (or subject) number N in the details pane"))
        app_rows.append(("ctrl+p", "Command palette: the main actions by name"))
        tree_rows = [
            ("up, k", "Move up"),
            ("down, j", "Move down"),
            ("right", "Expand; on an expanded row, go to its first child"),
            ("left", "Collapse; on a collapsed row, go to its parent"),
            ("Enter", "Expand or collapse"),
            ("space", "Mark or unmark the artifact for deletion"),
            ("PageUp, PageDown", "Move a page"),
            ("Home, End, g, G", "First or last row"),
            ("l, h", "Expand, collapse (as right and left)"),
            ("e, E", "Expand every row of this repository; collapse it all"),
            ("shift+up, shift+down", "Previous or next sibling"),
            ("Tab", "Move the focus to the details pane (arrows, j/k, PageUp/PageDown scroll it) and back"),
        ]
        confirm_rows = [
            ("y", "Delete: run the plan shown"),
            ("n, Esc", "Cancel: nothing is deleted (Cancel has the focus)"),
            ("Tab", "Move between the buttons"),
            ("up, down", "Scroll a long plan"),
            ("g", "On a refusal: go to the first referencing index"),
        ]
        return [("Tree", tree_rows), ("Actions", app_rows), ("Confirmation and refusal", confirm_rows)]

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield SystemCommand("Delete", "Delete the artifact under the cursor, or every marked one (shows the plan first)", self.action_delete)
        yield SystemCommand("Mark or unmark", "Mark the artifact under the cursor for deletion", self.action_mark)
        yield SystemCommand("Unmark all", "Clear every mark", self.action_unmark_all)
        yield SystemCommand("Find", "Find a repository, tag or digest prefix", self.action_search)
        yield SystemCommand("Filter", "Show only rows matching a repository, tag, digest, platform, kind or marker", self.action_filter)
        yield SystemCommand("Sort", "Sort each repository's top level: by name, created date, size", self.action_sort)
        yield SystemCommand("Copy reference", "Copy repository@sha256:... of the row under the cursor", self.action_copy)
        yield SystemCommand("Go to parent", "Go to the next parent (or subject) of the artifact", self.action_jump_next_parent)
        yield SystemCommand("Reload", "Load the registry again from the source", self.action_reload)
        yield SystemCommand("Keys", "Show every key", self.action_help)
        # Textual's own "Keys" shows a key panel for the focused widget; ours lists them all.
        yield from (c for c in super().get_system_commands(screen) if c.title != "Keys")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("delete", "preview", "mark", "mark_by_rule", "leftovers", "unmark_all", "search", "filter", "sort", "copy", "jump", "jump_next_parent") and (
            self.registry is None or self.loading
        ):
            return False
        if action == "delete":
            return not self.read_only and not self.deleting
        if action == "preview":
            return self.read_only
        if action == "unmark_all":
            return bool(self.tree.marked)
        if action in ("untag", "untag_why"):  # the footer offers t only where the source can untag
            return untagger(self).key_state() == ("offered" if action == "untag" else "refused")
        if action in ("next_match", "previous_match"):
            return bool(self.matches)
        if action == "clear_search":
            return bool(self.matches or self.query_text or self.query_one("#search", SearchBar).display or self.tree.filter is not None)
        if action == "jump_next_parent":
            return bool(self.jump_targets) or self._cycle is not None
        if action == "jump":
            # Textual types action parameters as object; this one is the N of a `jump(N)` binding.
            return bool(parameters) and int(parameters[0]) <= len(self.jump_targets)  # type: ignore[call-overload]
        if action == "command_palette":  # its Quit would stop a deletion part way
            return not self.deleting
        if action == "reload":
            return not self.loading and not self.deleting
        return True



def _target(key: ArtifactKey) -> TargetRef:
    repository, digest = key
    return TargetRef(repository=repository, digest=digest, reference=f"{repository}@{digest}")

