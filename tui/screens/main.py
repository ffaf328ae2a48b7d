"""MainScreen: the registry tree, the details pane, and the select, Delete, confirm flow.

The screen owns the state a user sees change: the loaded view, whether a load or a deletion
runs, the marks, the find and the filter. Each is a reactive declared with `bindings=True`, so
the footer follows it without anyone asking. Workers never touch widgets: they post a typed
message (RegistryLoaded, LoadFailed, DeletionFinished, ...) and the handlers below are the only
place their results arrive, with one route (`show_error`) for every error dialog.

Every deletion decision comes from core.planner; this module only asks for plans (worked out,
with the lines the dialog shows, on a worker thread: a prune's plan takes seconds), shows them,
and hands allowed ones to core.executor in a worker thread.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import Footer, Input, ProgressBar, Static, Tree

from ocitree.core.cancellation import PlanCancelled, raise_if_stopped, stopped_by
from ocitree.core.errors import OcitreeError, StalePlanError
from ocitree.core.model import Artifact, Registry
from ocitree.core.stores.base import LoadProgress

from ..daemon_thread import in_daemon_thread
from ..literal import literal
from ..plan_text import human_bytes
from ..registry_view import RegistryView, target_ref
from ..widgets.details import DetailsPane, details_text
from ..widgets.entries import Entry, items_below
from ..widgets.filtering import FilterResult, apply_filter
from ..widgets.registry_tree import ORDERS, RegistryTree
from ..widgets.search import Match, SearchBar
from ..widgets.source_header import HeaderState, SourceHeader
from .confirm import ConfirmDeleteScreen
from .dialog import DialogScreen
from .error import QUIT, RETRY, ErrorScreen, result_text
from .help import HelpScreen, KeySection, binding_rows
from .plan_view import PlanBody, plan_body
from .progress import DeletingScreen
from .quit import QuitDuringDeletionScreen
from .refusal import JUMP, RefusalScreen
from .untag import Untagger

if TYPE_CHECKING:
    # pydantic and the plan machinery: imported when first used (warm_up does it after the first
    # screen), so that starting the app does not wait for them (issue 10).
    from ocitree.core.leftovers import LeftoverGroup, LeftoverKind
    from ocitree.core.plan import ArtifactRef, DeletionPlan, ExecutionResult
    from ocitree.core.prune import Selection

    from ..app import OcitreeApp
    from .mark_rule import MarkRuleRequest

ArtifactKey = tuple[str, str]
BarMode = Literal["find", "filter"]  # what the bar at the bottom does with its text

# Above this many children an artifact's delete preview is worked out off the UI thread,
# so holding a key down over a huge index never stalls the cursor.
PREVIEW_INLINE_LIMIT = 2000
PROGRESS_INTERVAL = 0.1  # seconds between progress repaints (loading, deleting)
FILTER_OPEN_REPOSITORIES = 20  # a filter opens the repositories it leaves when there are this few
FILTER_OPEN_MATCHES = 50  # and the path to every match when there are this few
FIND_PLACEHOLDER = "find a repository, tag or digest prefix; Enter jumps, n/N next/previous, Esc clears"
FILTER_PLACEHOLDER = "filter: repository, tag, digest, platform, kind, shared/untagged/orphaned; Enter applies"
# The actions that need a loaded registry (and no load running).
NEEDS_REGISTRY = frozenset({"delete", "preview", "mark", "mark_by_rule", "leftovers", "unmark_all", "search", "filter",
                            "sort", "copy", "jump", "jump_next_parent"})
# The actions put off while a deletion is planned: they change the marks being planned, or open
# another flow (a bar or a dialog) that the plan's confirmation would then land on.
WAIT_FOR_PLAN = frozenset({"mark_by_rule", "leftovers", "unmark_all", "search", "filter", "history", "untag", "untag_why"})
PLANNING_NOTE_DELAY = 0.15  # seconds: a plan quicker than this shows no note (it would only flash)


@dataclass(frozen=True)
class RestorePoint:
    """What to put back after the rows are rebuilt: the cursor's place and the open repositories."""

    place: tuple[str, str | None] | None
    expanded: list[str]


@dataclass(eq=False)
class PlanRequest:
    """A plan being worked out on a worker thread, and what it was asked against: a plan whose
    registry changed meanwhile (a reload, a deletion, an undo) is dropped, never shown."""

    keys: list[ArtifactKey]
    view: RegistryView
    changes: int  # MainScreen.registry_changes when asked
    read_only: bool  # a preview: the confirmation without its Delete button
    work_out: Callable[[], DeletionPlan]
    status_before: Text | None  # the status line to put back once the plan is ready
    note: Text | None = None  # the status line saying it is planning, once shown
    #: set when it is no longer wanted: the planner stops at its next look (core.cancellation)
    stop: threading.Event = field(default_factory=threading.Event)


class MainScreen(Screen[None]):
    # The order here is the order of the footer and of the help's "Actions" section. A binding
    # with a tooltip is listed in the help (`?`); read-only twins are left out by action name.
    BINDINGS = [
        Binding("d", "delete", "Delete", tooltip="Delete the artifact under the cursor, or the marked ones", id="delete"),
        Binding("delete", "delete", "Delete", tooltip="Delete the artifact under the cursor, or the marked ones", show=False, id="delete.key"),
        # Read-only: the same keys show the plan, with no way to run it.
        Binding("d", "preview", "Preview", tooltip="Read-only: show what deleting would do", id="preview"),
        Binding("delete", "preview", "Preview", tooltip="Read-only: show what deleting would do", show=False, id="preview.key"),
        # Only while a plan is worked out (the status line says so): before the find's Esc.
        Binding("escape", "cancel_plan", "Cancel plan", id="plan.cancel"),
        Binding("slash", "search", "Find", tooltip="Find a repository, tag or digest prefix (jumps; hides nothing)", id="search"),
        Binding("n", "next_match", "Next", tooltip="Next match of the find", id="search.next"),
        Binding("N", "previous_match", "Prev", tooltip="Previous match of the find", show=False, id="search.previous"),
        Binding("f", "filter", "Filter", tooltip="Show only what matches: repository, tag, digest prefix, platform, kind, marker", id="filter"),
        Binding("escape", "clear_search", "Clear", tooltip="Clear the find, then the filter", show=False, id="search.clear"),
        Binding("o", "sort", "Sort", show=False, tooltip="Sort each repository's top level: by name, created date, size", id="sort"),
        Binding("c", "copy", "Copy", show=False, tooltip="Copy the full reference (repository@sha256:...) under the cursor", id="copy"),
        Binding("p", "jump_next_parent", "Parent", show=False, tooltip="Go to the next parent (or subject)", id="parent"),
        *[Binding(str(i), f"jump({i})", f"Parent {i}", show=False, id=f"parent.{i}",
                  tooltip="Go to parent (or subject) number N in the details pane") for i in range(1, 10)],
        Binding("m", "mark_by_rule", "Mark rule", tooltip="Mark by rule: keep last N, older than, untagged, orphans (as ocitree prune)",
                show=False, id="mark_rule"),
        Binding("L", "leftovers", "Leftovers", tooltip="Leftovers across the registry, by group with sizes; Enter marks a group",
                show=False, id="leftovers"),
        Binding("u", "unmark_all", "Unmark all", tooltip="Unmark every marked artifact", show=False, id="unmark"),
        Binding("H", "history", "History", tooltip="The runs ocitree executed on this source; Enter shows one, z undoes it",
                show=False, id="history"),
        Binding("r", "reload", "Reload", tooltip="Load the registry again from the source", id="reload"),
        Binding("question_mark", "help", "Help", tooltip="This list of keys", id="help"),
        Binding("q", "app.quit", "Quit", tooltip="Quit", id="quit"),
        # After q: on a narrow footer t is what gives way. Shown only where the source can untag.
        Binding("t", "untag", "Untag", tooltip="Remove a tag, keep the manifest (where the source can)", id="untag"),
        Binding("t", "untag_why", "Untag", tooltip="Remove a tag, keep the manifest (where the source can)", show=False,
                id="untag.why"),
        # Not an action of ours (Screen has it): listed with the tree's keys in the help.
        Binding("tab", "app.focus_next", "Focus next", show=False,
                tooltip="Move the focus to the details pane (arrows, j/k, PageUp/PageDown scroll it) and back"),
    ]
    HELP_HIDDEN = frozenset({"preview", "untag_why", "app.focus_next"})  # twins; a key of the tree's section

    # -- the state the footer and the header follow -------------------------------------------
    view: var[RegistryView | None] = var(None, bindings=True, init=False)  # the last loaded registry
    # Not `loading`: Widget.loading covers a widget with a loading indicator.
    loading_registry: var[bool] = var(False, bindings=True, init=False)
    deleting: var[bool] = var(False, bindings=True, init=False)
    marked: var[int] = var(0, bindings=True, init=False)  # how many artifacts the tree has marked
    query_text: var[str] = var("", bindings=True, init=False)  # the find (`/`)
    matches: var[tuple[Match, ...]] = var((), bindings=True, init=False)
    filter_text: var[str] = var("", bindings=True, init=False)  # the filter (`f`)
    bar_mode: var[BarMode | None] = var(None, bindings=True, init=False)  # None: the bar is closed
    jump_targets: var[tuple[ArtifactKey, ...]] = var((), bindings=True, init=False)  # 1-9 in the details pane
    cycle: var[tuple[tuple[ArtifactKey, ...], int] | None] = var(None, bindings=True, init=False)  # where `p` is
    planning: var[PlanRequest | None] = var(None, bindings=True, init=False)  # d pressed, its plan not ready yet

    # -- what workers report --------------------------------------------------------------------

    class LoadProgressed(Message):
        def __init__(self, progress: LoadProgress) -> None:
            super().__init__()
            self.progress = progress

    class RegistryLoaded(Message):
        def __init__(self, view: RegistryView) -> None:
            super().__init__()
            self.view = view

    class LoadFailed(Message):
        def __init__(self, error: Exception) -> None:
            super().__init__()
            self.error = error

    class PreviewReady(Message):
        def __init__(self, key: ArtifactKey) -> None:
            super().__init__()
            self.key = key

    class PlanReady(Message):
        def __init__(self, request: PlanRequest, plan: DeletionPlan, body: PlanBody) -> None:
            super().__init__()
            self.request = request
            self.plan = plan
            self.body = body

    class PlanFailed(Message):
        def __init__(self, request: PlanRequest, error: Exception) -> None:
            super().__init__()
            self.request = request
            self.error = error

    class DeletionFinished(Message):
        def __init__(self, plan: DeletionPlan, result: ExecutionResult) -> None:
            super().__init__()
            self.plan = plan
            self.result = result

    class DeletionFailed(Message):
        """The executor raised: nothing was deleted (an OcitreeError), or a bug stopped it."""

        def __init__(self, plan: DeletionPlan, error: Exception) -> None:
            super().__init__()
            self.plan = plan
            self.error = error

    def __init__(self, app: OcitreeApp) -> None:
        super().__init__()
        self.ocitree = app  # the app, for the store and the options ocitree was started with
        self.match_index = -1
        self.restore_point: RestorePoint | None = None  # where a reload puts the cursor back
        self.stop_requested = False  # ctrl+c during a deletion, confirmed
        self.rule_marks: Selection | None = None  # the marks `m` or `L` made, planned as a prune
        # the rule of `m`'s marks as `ocitree prune` says it: that command finishes a cut-off run of them
        self.rule_marks_key: str | None = None
        self.untagger = Untagger(self)  # the `t` flow, and whether the source can untag once asked
        self.registry_changes = 0  # counts loads and in-place changes of the view's registry
        self.plan_waiting: MainScreen.PlanReady | None = None  # a plan ready while another screen was on top
        self.status_shown: Text | None = None  # what the status line says

    # -- layout ---------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        store = self.ocitree.store
        yield SourceHeader(HeaderState(store.source, read_only=self.ocitree.read_only,
                                       read_only_reason=getattr(store, "read_only_reason", None)), id="header")
        with Vertical(id="loading"):
            yield Static(Text(f"Loading {literal(store.source)} ..."), id="loading-text")
            yield ProgressBar(total=None, show_eta=False, id="loading-progress")
        with Horizontal(id="main"):
            yield RegistryTree(id="tree")
            yield DetailsPane(id="details")
        yield SearchBar(placeholder=FIND_PLACEHOLDER, id="search")
        yield Static(id="status")
        yield Footer(compact=True)

    @property
    def registry_tree(self) -> RegistryTree:
        return self.query_one(RegistryTree)

    @property
    def registry(self) -> Registry | None:
        return self.view.registry if self.view is not None else None

    @property
    def read_only(self) -> bool:
        return self.ocitree.read_only

    def on_mount(self) -> None:
        self.update_header()
        self.load()

    def update_header(self) -> None:
        tree = self.registry_tree
        self.query_one(SourceHeader).update(
            registry=self.registry, read_only=self.read_only, marked=len(tree.marked), loading=self.loading_registry,
            order=tree.order,
            filter_text=self.filter_text if tree.filter is not None else "",
            filter_counts=(tree.filter.count, tree.filter.total) if tree.filter is not None else None,
        )

    def watch_marked(self) -> None:
        self.update_header()

    def watch_loading_registry(self, loading: bool) -> None:
        if loading or self.view is not None:  # a first load that failed leaves its panel up
            self.query_one("#loading").display = loading
            self.query_one("#main").display = not loading
        self.update_header()

    def set_status(self, text: Text | None) -> None:
        status = self.query_one("#status", Static)
        status.display = text is not None
        status.update(text or "")
        self.status_shown = text

    # -- loading --------------------------------------------------------------------------------

    def load(self) -> None:
        if self.loading_registry or self.deleting:
            return
        self.cancel_plan("The registry is read again: the plan was dropped. Press d once it is loaded.")
        if self.view is not None:
            self.restore_point = RestorePoint(self.cursor_place(), self.registry_tree.expanded_repositories())
        else:
            self.restore_point = None
        self.query_one("#loading-progress", ProgressBar).update(total=None, progress=0)
        self.loading_registry = True
        self.load_worker()

    @work(exclusive=True, group="load", exit_on_error=False)
    async def load_worker(self) -> None:
        # The reading runs on a daemon thread, not in a thread worker: asyncio waits for its
        # executor's threads when the app ends, so quitting during a stuck load would wait too.
        loop = asyncio.get_running_loop()
        store, protect = self.ocitree.store, self.ocitree.protect
        last = 0.0

        def progress(p: LoadProgress) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last >= PROGRESS_INTERVAL or (p.total is not None and p.done >= p.total):
                last = now
                try:
                    loop.call_soon_threadsafe(self.post_message, self.LoadProgressed(p))
                except RuntimeError:  # the app has ended
                    pass

        def read() -> RegistryView:
            return RegistryView(store.load(progress), protect)  # the rest is worked out after the first screen (warm_up)

        try:
            view = await in_daemon_thread(read, "ocitree-load")
        except Exception as exc:  # an OcitreeError, a bug or an unexpected I/O error: say so, keep the app alive
            self.post_message(self.LoadFailed(exc))
            return
        self.post_message(self.RegistryLoaded(view))

    @on(LoadProgressed)
    def show_progress(self, message: LoadProgressed) -> None:
        if not self.loading_registry:
            return
        p = message.progress
        self.query_one("#loading-progress", ProgressBar).update(total=p.total, progress=p.done)
        # The step on a line of its own: after a long source path it was cut off at 80 columns.
        what = f"\n{literal(p.message)}" if p.message else ""
        self.query_one("#loading-text", Static).update(Text(f"Loading {literal(self.ocitree.store.source)}{what}"))

    @on(LoadFailed)
    def load_failed(self, message: LoadFailed) -> None:
        exc = message.error
        self.loading_registry = False
        if self.view is not None:
            # A reload failed: the last loaded registry stays on screen (the executor still
            # checks the source before deleting), and the status line says it is not fresh.
            self.registry_tree.focus()
            self.set_status(Text("Reload failed: showing the registry as loaded before. r tries again.", "bold"))
        text = str(exc) if isinstance(exc, OcitreeError) else f"unexpected error: {exc!r}"
        body = Text(literal(text) + "\n\nPress r to try again or q to quit.")
        self.show_error(f"Cannot load {literal(self.ocitree.store.source)}", body, can_close=self.view is not None,
                        exit_code=getattr(exc, "exit_code", 1))

    @on(RegistryLoaded)
    def loaded(self, message: RegistryLoaded) -> None:
        view = message.view
        # The model lives as long as the app; without this every full collection rescans its
        # hundreds of thousands of objects, a pause of a third of a second on a key press.
        gc.freeze()
        self.view = view
        self.registry_changes += 1
        self.loading_registry = False
        tree = self.registry_tree
        if self.filter_text:  # a filter stays on across reloads, matched against what is there now
            tree.filter = apply_filter(view.registry, self.filter_text, view.words, view.rules)
        tree.set_registry(view)
        tree.focus()
        if self.restore_point is not None:
            # The same artifact, or its repository when it is gone.
            tree.rebuild(self.restore_point.expanded, self.restore_point.place)
        self.update_header()
        self.show_details()
        if not self.query_text:  # drop a "reload failed" line; keep a filter's match line
            self.set_status(None)
        # After the first screen is painted: the warm-up thread would hold the GIL half the time.
        self.call_after_refresh(self.warm_up, view)

    @work(exclusive=True, group="warm", exit_on_error=False)
    async def warm_up(self, view: RegistryView) -> None:
        """Build the find index and the words `f` matches while nobody is typing (a second at
        100,000 artifacts). On a daemon thread, as loading: quitting does not wait for it."""
        await in_daemon_thread(view.warm, "ocitree-warm")

    # -- the one route for errors ---------------------------------------------------------------

    def show_error(self, title: str, body: Text, *, can_close: bool = True, exit_code: int = 1) -> None:
        """An error dialog whose r reloads and q quits (with `exit_code` when nothing was loaded)."""

        def chosen(choice: str | None) -> None:
            if choice == QUIT:
                self.app.exit(return_code=exit_code if self.view is None else 0)
            elif choice == RETRY:
                self.action_reload()

        self.app.push_screen(ErrorScreen(title, body, can_close=can_close), callback=chosen)

    # -- the details pane -------------------------------------------------------------------------

    @on(Tree.NodeHighlighted, "#tree")
    def highlighted(self, event: Tree.NodeHighlighted) -> None:
        entry = event.node.data
        key = entry.key if entry is not None else None
        self.registry_tree.set_same(key)
        if self.cycle is not None and key not in self.cycle[0]:
            self.cycle = None
        self.show_details()

    def show_details(self) -> None:
        view = self.view
        if view is None:
            return
        entry = self.registry_tree.cursor_entry
        preview = None
        key = entry.key if entry is not None else None
        if key is not None:
            preview = view.previews.get(key)
            repo = view.registry.repositories.get(key[0])
            artifact = repo.artifacts.get(key[1]) if repo is not None else None
            if artifact is None:
                preview = None
            elif preview is None:
                if len(artifact.children) > PREVIEW_INLINE_LIMIT:
                    preview = Text("working it out...", "dim")
                    self.preview_worker(view, key)
                else:
                    preview = view.preview(key)
        jump_targets: list[ArtifactKey] = []
        content = details_text(view, entry, preview, jump_targets)
        self.jump_targets = tuple(jump_targets)
        digest = entry.digest if entry is not None and entry.kind == "artifact" else None
        self.query_one(DetailsPane).show(content, digest)

    @work(exclusive=True, group="preview", exit_on_error=False)
    async def preview_worker(self, view: RegistryView, key: ArtifactKey) -> None:
        # A daemon thread, as for loading: quitting does not wait for a long plan to be worked out.
        await in_daemon_thread(lambda: view.preview(key), "ocitree-preview")
        self.post_message(self.PreviewReady(key))

    @on(PreviewReady)
    def preview_ready(self, message: PreviewReady) -> None:
        entry = self.registry_tree.cursor_entry
        if entry is not None and entry.key == message.key:
            self.show_details()

    @on(RegistryTree.Expanded)
    def expanded_all(self, event: RegistryTree.Expanded) -> None:
        if not event.complete:
            self.notify(f"{literal(event.repository)} is large: opened {event.rows:,} rows; Enter opens the rest one by one.", markup=False)

    # -- marking ---------------------------------------------------------------------------------

    @on(RegistryTree.MarkRequested)
    def action_mark(self) -> None:
        entry = self.registry_tree.cursor_entry
        key = entry.key if entry is not None else None
        if key is None:
            self.notify("Only artifacts can be marked: move to an artifact row.", severity="warning")
            return
        if self.wait_for_plan():
            return
        marked = self.registry_tree.toggle_mark(key)
        self.rule_marks = None  # marked by hand now: a delete plans exactly these, all or nothing
        self.marked = len(self.registry_tree.marked)
        if marked and self.read_only:
            self.notify("Read-only: marks show what a deletion would take; d previews the plan.", severity="warning")

    def action_unmark_all(self) -> None:
        if self.wait_for_plan():
            return
        self.rule_marks = None
        self.registry_tree.clear_marks()
        self.marked = 0

    def set_marks(self, keys: list[ArtifactKey]) -> None:
        self.registry_tree.clear_marks()
        for key in keys:
            self.registry_tree.toggle_mark(key)
        self.marked = len(self.registry_tree.marked)
        self.update_header()  # the same count as before still names other artifacts

    def action_mark_by_rule(self) -> None:
        if self.wait_for_plan():
            return
        entry = self.registry_tree.cursor_entry
        repository = entry.repository if entry is not None else None
        from .mark_rule import MarkByRuleScreen

        self.app.push_screen(MarkByRuleScreen(repository), callback=self.mark_by_rule)

    def mark_by_rule(self, request: MarkRuleRequest | None) -> None:
        registry = self.registry
        if request is None or registry is None:
            return
        entry = self.registry_tree.cursor_entry
        repositories = None if request.all_repositories or entry is None else [entry.repository]
        from ocitree.core.prune import rule_key, select_by_rule

        selection = select_by_rule(registry, request.rule, time.time(), repositories)
        self.set_marks([(t.repository, t.digest) for t in selection.targets])
        self.rule_marks = selection
        # One repository's marks are `ocitree prune --repos REPOSITORY` with the same flags.
        scoped = replace(request.rule, repos=tuple(repositories)) if repositories and not request.rule.repos else request.rule
        self.rule_marks_key = rule_key(scoped) if repositories is None or not request.rule.repos else None
        retained = len(selection.retained)
        self.notify(f"Marked {len(selection.targets)} by rule; {retained} candidate{'s' if retained != 1 else ''} retained "
                    "(Delete shows the plan and why).")

    def action_leftovers(self) -> None:
        if self.registry is None or self.wait_for_plan():
            return
        from ocitree.core.leftovers import find_leftovers

        from .leftovers import LeftoversScreen

        groups = find_leftovers(self.registry)
        self.app.push_screen(LeftoversScreen(groups, self.ocitree.store.sees_untagged),
                             callback=lambda kind: self.mark_leftovers(groups, kind))

    def mark_leftovers(self, groups: list[LeftoverGroup], kind: LeftoverKind | None) -> None:
        if kind is None:
            return
        group = next(g for g in groups if g.kind == kind)
        keys = list(group.artifacts)
        self.set_marks(keys)
        from ocitree.core.prune import Selection

        # Leftovers plan like a prune: one that an index outside the plan still lists is retained, not a refusal of all.
        self.rule_marks = Selection([target_ref(k) for k in keys], [])
        self.rule_marks_key = None  # no rule of `ocitree prune` names a leftovers group
        self.notify(f"Marked {len(keys)}: {group.title}. Delete shows the plan.")

    # -- deleting --------------------------------------------------------------------------------

    def targets(self) -> list[ArtifactKey]:
        if self.registry_tree.marked:
            return list(self.registry_tree.marked)
        entry = self.registry_tree.cursor_entry
        return [entry.key] if entry is not None and entry.key is not None else []

    def action_delete(self) -> None:
        if self.read_only:
            self.action_preview()
            return
        if self.registry is None or self.deleting:
            return
        self.start_plan(read_only=False)

    def action_preview(self) -> None:
        """Read-only: the whole plan, as the confirmation shows it, with nothing to run it."""
        if self.registry is None:
            return
        self.start_plan(read_only=True)

    def start_plan(self, read_only: bool) -> None:
        """d: work the plan out (and its lines) on a worker thread; the confirmation, or the
        refusal, shows when it is ready. A prune's plan of tens of thousands of entries takes
        seconds, which the UI thread spent frozen: meanwhile the keys work now (the cursor,
        Esc to cancel, r, q), and the status line says what is being planned."""
        view = self.view
        if view is None:
            return
        if self.planning is not None:  # a second d: one plan, one dialog
            self.notify("Still planning the deletion: its plan shows when ready (Esc cancels).", timeout=3)
            return
        keys = self.targets()
        if not keys:
            what = "preview" if read_only else "delete"
            self.notify(f"Nothing to {what} here: move to an artifact, or mark some with space.", severity="warning")
            return
        request = PlanRequest(keys, view, self.registry_changes, read_only, self.planner(keys), self.status_shown)
        self.planning = request
        self.plan_waiting = None
        self.set_timer(PLANNING_NOTE_DELAY, lambda: self.show_planning_note(request))
        self.plan_worker(request)

    def show_planning_note(self, request: PlanRequest) -> None:
        if self.planning is not request:
            return
        n = len(request.keys)
        what = f"{n:,} marked artifact{'s' if n != 1 else ''}" if self.registry_tree.marked else "the artifact under the cursor"
        note = request.note = Text(f"Planning the deletion of {what}...", "bold")
        note.append("  Esc cancels")
        self.set_status(note)

    @work(exclusive=True, group="plan", exit_on_error=False)
    async def plan_worker(self, request: PlanRequest) -> None:
        # A daemon thread, as for loading: quitting does not wait for a long plan to be worked out.
        def work_out() -> tuple[DeletionPlan, PlanBody]:
            # The collector off meanwhile: a prune's plan makes hundreds of thousands of objects that
            # all live, and each full collection they set off scans them all again, a pause of a
            # tenth to a third of a second for the UI thread too (the loaded model is frozen, see
            # `loaded`, so it is not what the collector scans). Not core's gc_paused: its freeze would
            # keep for good any cyclic garbage the UI thread makes meanwhile.
            collecting = gc.isenabled()
            gc.disable()
            try:
                with stopped_by(request.stop):
                    plan = request.work_out()
                    raise_if_stopped()
                    return plan, plan_body(plan, request.view.registry)
            finally:
                if collecting:
                    gc.enable()

        try:
            plan, body = await in_daemon_thread(work_out, "ocitree-plan")
        except PlanCancelled:  # Esc, a reload: nobody waits for it
            return
        except Exception as exc:  # a bug, or the registry changed under the planner: said, or dropped
            self.post_message(self.PlanFailed(request, exc))
            return
        self.post_message(self.PlanReady(request, plan, body))

    def end_planning(self, request: PlanRequest) -> None:
        self.planning = None
        if request.note is not None and self.status_shown is request.note:  # not replaced since by another message
            self.set_status(request.status_before)

    def action_cancel_plan(self) -> None:
        """Esc while planning: no dialog will come, and the planning thread stops at its next look."""
        self.cancel_plan("Planning cancelled: nothing was deleted.")

    def cancel_plan(self, message: str) -> None:
        request = self.planning
        if request is None:
            return
        request.stop.set()
        self.workers.cancel_group(self, "plan")
        self.end_planning(request)
        self.notify(message)

    def plan_is_current(self, request: PlanRequest) -> bool:
        return request.view is self.view and request.changes == self.registry_changes and not self.loading_registry

    @on(PlanFailed)
    def plan_failed(self, message: PlanFailed) -> None:
        request = message.request
        if request is not self.planning:  # cancelled
            return
        self.end_planning(request)
        if not self.plan_is_current(request):
            self.notify("The registry changed while planning: the plan was dropped. Press d to plan again.")
            return
        exc = message.error
        self.show_error("Cannot plan the deletion", Text(literal(f"{type(exc).__name__}: {exc}")))

    @on(PlanReady)
    def plan_ready(self, message: PlanReady) -> None:
        request = message.request
        if request is not self.planning:  # cancelled, or dropped by a reload
            return
        self.end_planning(request)
        if self.app.screen is not self:  # the help, the palette: shown when the user is back here
            self.plan_waiting = message
            return
        self.show_plan(message)

    def on_screen_resume(self) -> None:
        message, self.plan_waiting = self.plan_waiting, None
        if message is not None:
            self.call_after_refresh(self.show_plan, message)

    def show_plan(self, message: PlanReady) -> None:
        request, plan, body = message.request, message.plan, message.body
        if self.planning is not None:  # d again since (back from the help, say): that plan is the one to show
            return
        if not self.plan_is_current(request):
            self.notify("The registry changed while planning: the plan was dropped. Press d to plan again.")
            return
        if self.app.screen is not self:
            self.plan_waiting = message
            return
        registry = request.view.registry
        if not plan.allowed:
            self.app.push_screen(RefusalScreen(plan, registry, body), callback=lambda choice: self.refusal_closed(plan, choice))
        elif request.read_only:
            self.app.push_screen(ConfirmDeleteScreen(plan, registry, self.ocitree.store.blob_reclaim, read_only=True, body=body))
        else:
            self.app.push_screen(ConfirmDeleteScreen(plan, registry, self.ocitree.store.blob_reclaim, body=body),
                                 callback=lambda ok: self.confirmed(plan, ok))

    def wait_for_plan(self) -> bool:
        """True (and said) while a plan is worked out: the marks stay those being planned, and
        no other flow opens under the confirmation that is coming."""
        if self.planning is None:
            return False
        self.notify("Planning a deletion: wait for its plan, or Esc to cancel it.", severity="warning", timeout=3)
        return True

    def plan(self, keys: list[ArtifactKey]) -> DeletionPlan:
        """The plan of deleting `keys`, worked out here (the d key does it on a worker thread)."""
        return self.planner(keys)()

    def planner(self, keys: list[ArtifactKey]) -> Callable[[], DeletionPlan]:
        """What works out the plan of deleting `keys`, on any thread, from what holds now.
        Marks a rule made plan as a prune (refused candidates retained, the rest goes);
        marks made by hand plan as one delete (one refusal refuses all)."""
        from ocitree.core.planner import plan_deletion
        from ocitree.core.prune import Selection, plan_prune

        registry, protect = self.registry, list(self.ocitree.protect)
        assert registry is not None
        keys = list(keys)
        if self.rule_marks is not None and set(keys) == set(self.registry_tree.marked):
            retained, rule = list(self.rule_marks.retained), self.rule_marks_key

            def prune() -> DeletionPlan:
                plan = plan_prune(registry, Selection([target_ref(k) for k in keys], retained), protect)
                plan.prune_rule = rule  # recorded with each REF: the same prune finishes a cut-off run
                return plan

            return prune
        return lambda: plan_deletion(registry, [target_ref(k) for k in keys], protect)

    def refusal_closed(self, plan: DeletionPlan, choice: str | None) -> None:
        if choice != JUMP:
            return
        for r in plan.refusals:
            if r.reason == "referenced" and r.parents:
                self.registry_tree.reveal((r.repository, r.parents[0].digest))
                return

    def confirmed(self, plan: DeletionPlan, ok: bool | None) -> None:
        if not ok:
            self.notify("Cancelled: nothing was deleted.")
            return
        self.deleting = True
        self.stop_requested = False
        screen = DeletingScreen(len(plan.delete), self.ocitree.store.source)
        self.app.push_screen(screen)
        self.execute(plan, screen)

    @work(thread=True, exclusive=True, group="delete", exit_on_error=False)
    def execute(self, plan: DeletionPlan, screen: DeletingScreen) -> None:
        last = 0.0

        def on_step(done: int, total: int, ref: ArtifactRef) -> None:
            # Each call waits for the UI thread: at every step, a file store's 10,000
            # in-memory deletions would spend most of their time repainting the bar.
            nonlocal last
            if self.stop_requested:  # ctrl+c, confirmed: the executor stops as at an interrupt
                raise KeyboardInterrupt
            now = time.monotonic()
            if now - last >= PROGRESS_INTERVAL or done == total:
                last = now
                self.app.call_from_thread(screen.advance, done, total, ref)

        from ocitree.core.executor import execute_plan

        try:
            result = execute_plan(plan, self.ocitree.store, on_step, self.ocitree.audit_log)
        except Exception as exc:  # StalePlanError, StoreError, or a bug: nothing or part was done
            self.post_message(self.DeletionFailed(plan, exc))
            return
        self.post_message(self.DeletionFinished(plan, result))

    def close_deletion_screens(self) -> None:
        while isinstance(self.app.screen, (QuitDuringDeletionScreen, DeletingScreen)):
            self.app.pop_screen()

    @on(DeletionFinished)
    def deletion_finished(self, message: DeletionFinished) -> None:
        plan, result = message.plan, message.result
        self.deleting = False
        self.close_deletion_screens()
        if self.stop_requested:
            n, left = len(result.deleted), len(result.not_done)
            self.app.exit(return_code=1, message=Text(
                f"ocitree: stopped by ctrl+c: deleted {n}, not deleted {left}. What remains is consistent; "
                "open it again and delete the same to finish."))
            return
        deleted = [(d.repository, d.digest) for d in result.deleted]
        view = self.view
        if deleted and view is not None:
            repositories = view.drop_artifacts(deleted)
            self.rows_changed_in_place(view)
            self.registry_tree.apply_deletion(deleted, repositories)
        self.after_change_in_place()
        if result.completed:
            self.notify(deletion_summary(plan, result), title="Deleted")
            if plan.rewrite:  # a rewritten referrers index is new content: read the source again
                self.load()
        else:
            self.show_error("The deletion stopped part way", result_text(result))
        audit_log = self.ocitree.audit_log
        if audit_log is not None and result.audit_log is None:
            self.notify(f"Could not append to the audit log {literal(str(audit_log))}.", severity="warning")

    def apply_restoration(self, artifacts: list[Artifact]) -> None:
        """After an undo: the restored artifacts back in the view and the tree, in place, as a
        deletion is applied (a reload would read the whole source again for a few artifacts)."""
        view = self.view
        if view is None:
            self.load()
            return
        repositories = view.restore_artifacts(artifacts)
        self.rows_changed_in_place(view)
        self.registry_tree.apply_restoration([(a.repository, a.digest) for a in artifacts], repositories)
        self.after_change_in_place()

    def rows_changed_in_place(self, view: RegistryView) -> None:
        """The view's registry changed in place: what is worked out from all of it follows."""
        self.registry_changes += 1
        self.cancel_plan("The registry changed: the plan being worked out was dropped. Press d to plan again.")
        self.ocitree.store.refresh_blob_scope(view.registry)
        if self.registry_tree.filter is not None:  # the counts in the header follow what is there now
            self.registry_tree.filter = apply_filter(view.registry, self.filter_text, view.words, view.rules)

    def after_change_in_place(self) -> None:
        self.marked = len(self.registry_tree.marked)
        self.refresh_matches()
        self.update_header()
        self.show_details()

    @on(DeletionFailed)
    def deletion_failed(self, message: DeletionFailed) -> None:
        exc = message.error
        self.deleting = False
        self.close_deletion_screens()
        if self.stop_requested:
            self.app.exit(return_code=1, message=Text(f"ocitree: stopped by ctrl+c before deleting: {literal(str(exc))}"))
            return
        if isinstance(exc, OcitreeError):  # raised before the first deletion: nothing changed
            body = Text("Nothing was deleted.\n\n", "bold")
            body.append(literal(str(exc)))
        else:  # a bug: where it stopped is unknown, so do not claim nothing changed
            body = Text("The deletion failed unexpectedly; press r to reload and see what remains.\n\n", "bold")
            body.append(literal(f"{type(exc).__name__}: {exc}"))
        if isinstance(exc, StalePlanError):
            body.append("\n\nPress r to reload and see the registry as it is now.")
        self.show_error("Deletion refused by the store", body)

    def interrupt(self) -> None:
        """ctrl+c with no text selected: quit, asking first while a deletion runs."""
        if self.deleting:
            if not self.stop_requested and not isinstance(self.app.screen, QuitDuringDeletionScreen):
                self.app.push_screen(QuitDuringDeletionScreen(), callback=self.quit_during_deletion)
            return
        self.app.exit(return_code=0)

    def quit_during_deletion(self, stop: bool | None) -> None:
        if stop and self.deleting:
            self.stop_requested = True
            screen = self.app.screen
            if isinstance(screen, DeletingScreen):
                screen.show_step("stopping after the artifact being deleted now...")

    # -- jumping to parents -------------------------------------------------------------------

    def action_jump(self, n: int) -> None:
        if 1 <= n <= len(self.jump_targets):
            if self.registry_tree.reveal(self.jump_targets[n - 1]) is None:
                self.notify("Cannot show that artifact.", severity="warning")

    def action_jump_next_parent(self) -> None:
        """p: go through the parents (or subjects) one by one. The cycle survives the cursor
        moving onto each of them, so p, p, p visits every parent of the artifact it began on."""
        entry = self.registry_tree.cursor_entry
        key = entry.key if entry is not None else None
        if self.cycle is not None and key == self.cycle[0][self.cycle[1]]:
            targets, index = self.cycle[0], (self.cycle[1] + 1) % len(self.cycle[0])
        elif self.jump_targets:
            targets, index = self.jump_targets, 0
        else:
            return
        self.cycle = (targets, index)
        self.registry_tree.reveal(targets[index])
        if len(targets) > 1:
            self.notify(f"Parent {index + 1} of {len(targets)}: p for the next.", timeout=2)

    # -- find (`/`) and filter (`f`) --------------------------------------------------------------

    def open_bar(self, mode: BarMode) -> None:
        self.bar_mode = mode
        bar = self.query_one(SearchBar)
        bar.placeholder = FILTER_PLACEHOLDER if mode == "filter" else FIND_PLACEHOLDER
        bar.value = self.filter_text if mode == "filter" else self.query_text
        bar.display = True
        bar.focus()

    def close_bar(self) -> None:
        self.bar_mode = None
        bar = self.query_one(SearchBar)
        if bar.display:
            bar.display = False
            self.registry_tree.focus()

    def action_search(self) -> None:
        if not self.wait_for_plan():
            self.open_bar("find")

    def action_filter(self) -> None:
        if not self.wait_for_plan():
            self.open_bar("filter")

    @on(Input.Submitted, "#search")
    def search_submitted(self, event: Input.Submitted) -> None:
        mode = self.bar_mode
        self.close_bar()
        if mode == "filter":
            self.apply_filter_text(event.value.strip())
            return
        query = event.value.strip()
        if not query or self.view is None:
            self.clear_find()
            return
        self.query_text = query
        self.matches = tuple(self.view.find(query, self.registry_tree.filter))
        self.match_index = -1
        if not self.matches:
            self.set_status(Text(f"no match for {literal(query)!r}: Esc clears", "bold"))
        else:
            self.go_to_match(0)

    def cursor_place(self) -> tuple[str, str | None] | None:
        """Where the cursor is, to put it back after the rows are rebuilt."""
        entry = self.registry_tree.cursor_entry
        if entry is None or entry.kind == "root" or not entry.repository:
            return None
        return (entry.repository, entry.key[1] if entry.key is not None else None)

    def apply_filter_text(self, text: str) -> None:
        """Hide every row that neither matches `text` nor leads to a match; "" shows all."""
        view = self.view
        if view is None:
            return
        tree = self.registry_tree
        place = self.cursor_place()
        expanded = tree.expanded_repositories()
        self.clear_find()
        self.filter_text = text
        if not text:
            tree.filter = None
            tree.rebuild(expanded, place)
        else:
            result = apply_filter(view.registry, text, view.words, view.rules)
            tree.filter = result
            names = sorted(result.repositories)
            tree.rebuild(names if len(names) <= FILTER_OPEN_REPOSITORIES else [], None)
            first = self.first_match(result)
            if first is not None:
                if result.count <= FILTER_OPEN_MATCHES:
                    for key in sorted(result.matched_keys(), reverse=True):
                        tree.find_path(key)
                tree.reveal(first)
            elif result.count == 0:
                self.set_status(Text(f"no artifact matches {literal(text)!r}: Esc clears the filter", "bold"))
        self.update_header()
        self.show_details()

    def first_match(self, result: FilterResult) -> ArtifactKey | None:
        """The first matching artifact in the order the tree shows them."""
        view = self.view
        assert view is not None
        for name in sorted(result.repositories):
            shown = result.visible.get(name, set())
            for top in self.registry_tree.top_level(name):
                if top not in shown:
                    continue
                stack = [top]
                while stack:  # depth first, in the order the rows appear
                    digest = stack.pop()
                    if result.matches((name, digest)):
                        return (name, digest)
                    below = items_below(view.registry, Entry("artifact", name, digest), view.roots)
                    stack.extend(e.digest for e in reversed(below) if e.key is not None and e.digest in shown)
        return None

    def go_to_match(self, index: int) -> None:
        self.match_index = index % len(self.matches)
        match = self.matches[self.match_index]
        if match.digest is None:
            self.registry_tree.reveal_repository(match.repository)
        else:
            self.registry_tree.reveal((match.repository, match.digest))
        self.show_match_status()

    def refresh_matches(self) -> None:
        """After a deletion or an undo: the matches there are now, without moving the cursor."""
        if not self.query_text or self.view is None:
            return
        self.matches = tuple(self.view.find(self.query_text))
        self.match_index = min(self.match_index, len(self.matches) - 1)
        if self.matches:
            self.show_match_status()
        else:
            self.set_status(Text(f"no match left for {literal(self.query_text)!r}: Esc clears", "bold"))

    def show_match_status(self) -> None:
        status = Text()
        status.append(f"/{literal(self.query_text)}", "bold")
        status.append(f"  match {self.match_index + 1} of {len(self.matches)}   n next  N previous  Esc clears")
        self.set_status(status)

    def action_next_match(self) -> None:
        if self.matches:
            self.go_to_match(self.match_index + 1)

    def action_previous_match(self) -> None:
        if self.matches:
            self.go_to_match(self.match_index - 1)

    def action_clear_search(self) -> None:
        """Esc: the find first (and an open bar), then the filter."""
        if self.bar_mode == "filter":
            self.clear_find()
            self.apply_filter_text("")
        elif self.bar_mode is not None or self.query_text or self.matches:
            self.clear_find()
        elif self.filter_text:
            self.apply_filter_text("")

    def clear_find(self) -> None:
        self.close_bar()
        self.query_one(SearchBar).value = ""
        self.query_text = ""
        self.matches = ()
        self.match_index = -1
        self.set_status(None)

    # -- sort, copy ------------------------------------------------------------------------------

    def action_sort(self) -> None:
        tree = self.registry_tree
        tree.order = ORDERS[(ORDERS.index(tree.order) + 1) % len(ORDERS)]
        tree.rebuild(tree.expanded_repositories(), self.cursor_place())
        self.update_header()
        if tree.order == "created":
            self.notify("Newest first by created time (image config or org.opencontainers.image.created); "
                        "artifacts without a date come last.")

    def action_copy(self) -> None:
        entry = self.registry_tree.cursor_entry
        if entry is None or entry.kind == "group":
            self.notify("Nothing to copy here: move to an artifact or a repository.", severity="warning")
            return
        reference = f"{entry.repository}@{entry.digest}" if entry.digest else entry.repository
        self.app.copy_to_clipboard(reference)
        self.notify(f"Copied {literal(reference)}", markup=False)

    # -- the rest ---------------------------------------------------------------------------------

    def action_reload(self) -> None:
        self.clear_find()  # matches of the old registry would point at rows that may be gone
        self.load()

    def action_history(self) -> None:
        if self.wait_for_plan():
            return
        from ..history_flow import open_history

        open_history(self)

    def action_untag(self) -> None:
        if not self.wait_for_plan():
            self.untagger.start()

    def action_untag_why(self) -> None:
        self.untagger.explain()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(self.key_sections()))

    def key_sections(self) -> list[KeySection]:
        """The help's sections, read from the bindings of the tree, this screen, the app and
        the confirmation and refusal dialogs."""
        app = self.ocitree
        tab = [b for b in self.BINDINGS if isinstance(b, Binding) and b.action == "app.focus_next"]
        actions = binding_rows([b for b in self.BINDINGS if isinstance(b, Binding) and b.action not in self.HELP_HIDDEN])
        actions += binding_rows(app.BINDINGS)
        actions.append((app.COMMAND_PALETTE_BINDING, "Command palette: the main actions by name"))
        dialogs = binding_rows([*ConfirmDeleteScreen.BINDINGS, *DialogScreen.BINDINGS, *RefusalScreen.BINDINGS])
        return [("Tree", binding_rows([*RegistryTree.BINDINGS, *tab])), ("Actions", actions),
                ("Confirmation and refusal", dialogs)]

    def system_commands(self) -> Iterable[SystemCommand]:
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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in NEEDS_REGISTRY and (self.view is None or self.loading_registry):
            return False
        if action == "cancel_plan":
            return self.planning is not None
        if action in WAIT_FOR_PLAN and self.planning is not None:
            return False
        if action == "delete":
            return not self.read_only and not self.deleting
        if action == "preview":
            return self.read_only
        if action == "unmark_all":
            return self.marked > 0
        if action in ("untag", "untag_why"):  # the footer offers t only where the source can untag
            return self.untagger.key_state() == ("offered" if action == "untag" else "refused")
        if action in ("next_match", "previous_match"):
            return bool(self.matches)
        if action == "clear_search":
            return bool(self.matches or self.query_text or self.bar_mode is not None or self.filter_text)
        if action == "jump_next_parent":
            return bool(self.jump_targets) or self.cycle is not None
        if action == "jump":
            return bool(parameters) and int(str(parameters[0])) <= len(self.jump_targets)
        if action == "reload":
            return not self.loading_registry and not self.deleting
        return True


def deletion_summary(plan: DeletionPlan, result: ExecutionResult) -> str:
    """The toast after a complete deletion: what went, what stayed, what it frees."""
    n = len(result.deleted)
    tags = len(plan.tags_removed)
    message = f"Deleted {n} artifact{'s' if n != 1 else ''} and {tags} tag{'s' if tags != 1 else ''}"
    kept = ", ".join(part.replace("keeps", "kept") for part in plan.summary().split(", ") if part.startswith("keeps"))
    if kept:
        message += f"; {kept}"
    freed = "freed" if plan.reclaim.by == "immediate" else "reclaimable by garbage collection"
    bound = "" if plan.reclaim.exact else "at most "
    return message + f". {bound}{human_bytes(plan.reclaimable_bytes)} {freed}."
