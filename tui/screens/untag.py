"""Untag (`t`): which tag (when the artifact has several), a confirmation, the store removes the
tag, and the tree shows the change in place. No rule lives here: core.untag plans and executes.

The main screen holds one Untagger and binds `t` to its `start()` where its `key_state()` is
"offered", and to its `explain()` where it is "refused" (so the footer does not offer
it, and the key says why); everything else of the flow lives here."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from rich.text import Text
from textual.binding import Binding
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Button, OptionList
from textual.widgets.option_list import Option

from ocitree.core.errors import OcitreeError, StalePlanError
from ocitree.core.names import short_digest

from ..literal import literal
from ..widgets.text_lines import TextLines
from .dialog import DialogScreen

if TYPE_CHECKING:
    from ocitree.core.untag import UntagPlan  # pydantic: imported where `t` is used, not at start (issue 10)
    from ocitree.core.model import Registry

    from .main import MainScreen

KeyState = Literal["offered", "refused", "none"]


class Untagger:
    """The `t` flow of one host, and what its source can do (asked once, off the UI thread:
    a live registry answers over the network)."""

    def __init__(self, host: MainScreen) -> None:
        self.host = host
        self.refusal: str | None = None  # why the source cannot untag, once known
        self.known = False
        self._asking = False
        self._failed_on: Registry | None = None  # the asking failed (the network): ask again after a reload
        self.running = False
        self._pressed = False  # `t` was pressed while the source was being asked

    # -- can the source untag? ---------------------------------------------------------------

    def key_state(self) -> KeyState:
        """"offered": `t` untags (and the footer shows it); "refused": `t` says why not; "none": no registry yet."""
        host = self.host
        if host.registry is None or host.loading_registry or host.deleting or self.running:
            return "none"
        if host.read_only:
            return "refused"
        if self._failed_on is not None and host.registry is not self._failed_on:
            self.known, self._failed_on = False, None
        if not self.known:
            # A live registry finds out with a DELETE (of a random tag): sent only once `t` is pressed,
            # so opening a registry never writes to it. A file source knows at once.
            if not host.ocitree.store.untag_check_writes:
                self._ask(host.registry)
            return "refused"
        return "offered" if self.refusal is None else "refused"

    def _ask(self, registry: Registry) -> None:
        if self._asking:
            return
        self._asking = True
        entry = self.host.registry_tree.cursor_entry
        repository = entry.repository if entry is not None and entry.repository else next(iter(registry.repositories), "")
        self.host.run_worker(lambda: self._ask_store(repository, registry), thread=True, group="untag-support",
                             exit_on_error=False)

    def _ask_store(self, repository: str, registry: Registry) -> None:
        failed_on = None
        try:
            refusal = self.host.ocitree.store.untag_refusal(repository)
        except OcitreeError as exc:
            refusal = f"could not find out whether {self.host.ocitree.store.source} can remove a tag alone: {exc}; r reloads and asks again"
            failed_on = registry
        self.host.app.call_from_thread(self._answered, refusal, failed_on)

    def _answered(self, refusal: str | None, failed_on: Registry | None) -> None:
        self.refusal, self.known, self._asking, self._failed_on = refusal, True, False, failed_on
        self.host.refresh_bindings()
        if self._pressed:  # `t` asked: go on with the untag, or say why not
            self._pressed = False
            if refusal is None and failed_on is None:
                self.start()
            else:
                self.explain()

    def explain(self) -> None:
        """`t` where the source cannot untag: say why, and what to do instead."""
        host = self.host
        if host.read_only:
            host.notify("Read-only: no tag can be removed.", severity="warning")
        elif not self.known:
            if host.registry is not None and not self._asking:
                self._pressed = True
                self._ask(host.registry)
            host.notify(f"Asking {literal(host.ocitree.store.source)} whether it can remove a tag alone...",
                        markup=False)
        elif self.refusal is not None:
            host.notify(literal(self.refusal), title="Cannot untag", severity="error", markup=False, timeout=10)

    # -- the flow ----------------------------------------------------------------------------

    def start(self) -> None:
        """`t` on a row: choose the tag (if several), confirm, untag."""
        host = self.host
        entry = host.registry_tree.cursor_entry
        registry = host.registry
        if registry is None or entry is None or entry.key is None:
            host.notify("Only an artifact's tags can be removed: move to a tagged artifact.", severity="warning")
            return
        repo = registry.repositories.get(entry.key[0])
        artifact = repo.artifacts.get(entry.key[1]) if repo is not None else None
        if repo is None or artifact is None:
            return
        from ocitree.core.untag import untag_choices

        tags = untag_choices(repo, artifact)
        if not tags:
            host.notify(f"{literal(repo.name)}@{short_digest(artifact.digest)} has no tag to remove.", markup=False,
                        severity="warning")
            return
        if len(tags) == 1:
            self._confirm(repo.name, tags[0])
        else:
            host.app.push_screen(ChooseTagScreen(repo.name, tags),
                             callback=lambda tag: self._confirm(repo.name, tag) if tag else None)

    def _confirm(self, repository: str, tag: str) -> None:
        host = self.host
        if host.registry is None:
            return
        try:
            from ocitree.core.untag import plan_untag

            plan = plan_untag(host.registry, repository, tag, host.ocitree.protect)
        except OcitreeError as exc:
            host.notify(literal(str(exc)), severity="error", markup=False)
            return
        if not plan.allowed:
            host.notify(literal(plan.refusal_text()), title="Cannot untag", severity="error", markup=False, timeout=10)
            return
        host.app.push_screen(ConfirmUntagScreen(plan, host.ocitree.store.sees_untagged),
                         callback=lambda ok: self._run(plan) if ok else host.notify("Cancelled: no tag was removed."))

    def _run(self, plan: UntagPlan) -> None:
        self.running = True
        self.host.refresh_bindings()
        self.host.run_worker(lambda: self._execute(plan), thread=True, group="untag", exit_on_error=False)

    def _execute(self, plan: UntagPlan) -> None:
        try:
            from ocitree.core.untag import execute_untag

            execute_untag(plan, self.host.ocitree.store, self.host.ocitree.audit_log)
        except Exception as exc:  # StalePlanError, StoreError, or a bug
            self.host.app.call_from_thread(self._failed, exc)
            return
        self.host.app.call_from_thread(self._done, plan)

    def _done(self, plan: UntagPlan) -> None:
        self.running = False
        host = self.host
        view = host.view
        if view is not None:
            from ocitree.core.untag import apply_untag

            apply_untag(view.registry, plan.repository, plan.tag)  # a new graph for the repository: the view's caches follow
            view.previews.clear()
            if host.registry_tree.filter is not None:
                host.apply_filter_text(host.filter_text)  # rebuilds the rows, filtered by what is there now
            else:
                host.registry_tree.rebuild(host.registry_tree.expanded_repositories(), host.cursor_place())
            host.refresh_matches()  # a find for the tag removed matches nothing now
        host.update_header()
        host.show_details()
        host.refresh_bindings()
        after = " It is now untagged: a prune --untagged candidate." if plan.becomes_untagged else ""
        host.notify(f"Removed the tag {literal(plan.reference)}; the manifest stays.{after}", title="Untagged", markup=False)

    def _failed(self, exc: Exception) -> None:
        self.running = False
        body = Text("No tag was removed.\n\n" if isinstance(exc, OcitreeError) else
                    "The untag failed unexpectedly; press r to reload and see the tags as they are.\n\n", "bold")
        body.append(literal(str(exc) if isinstance(exc, OcitreeError) else f"{type(exc).__name__}: {exc}"))
        if isinstance(exc, StalePlanError):
            body.append("\n\nPress r to reload and see the registry as it is now.")
        self.host.show_error("Untag refused by the store", body)
        self.host.refresh_bindings()


class ChooseTagScreen(DialogScreen[str | None]):
    """Which of the artifact's tags to remove."""

    DEFAULT_CSS = """
    ChooseTagScreen OptionList { height: auto; max-height: 12; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="untag.choose.cancel"),
        Binding("enter", "choose", "Untag", id="untag.choose"),
    ]
    AUTO_FOCUS = "OptionList"

    def __init__(self, repository: str, tags: list[str]) -> None:
        super().__init__()
        self.repository = repository
        self.tags = tags

    def dialog_title(self) -> Text:
        return Text(f"Remove which tag of {literal(self.repository)}?", "bold")

    def dialog_body(self) -> Widget:
        return Vertical(OptionList(*(Option(Text(literal(t)), id=str(i)) for i, t in enumerate(self.tags))))

    def dialog_keys(self) -> str:
        return "up/down choose   Enter untag   Esc cancel"

    def action_choose(self) -> None:
        highlighted = self.query_one(OptionList).highlighted
        if highlighted is not None:
            self.dismiss(self.tags[highlighted])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.tags[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmUntagScreen(DialogScreen[bool]):
    """What removing the tag leaves, Cancel focused, `y` untags, `n` and Esc cancel."""

    BINDINGS = [
        Binding("y", "confirm", "Untag", id="untag.yes"),
        Binding("n", "cancel", "Cancel", id="untag.no"),
        Binding("escape", "cancel", "Cancel", show=False, id="untag.escape"),
    ]
    AUTO_FOCUS = "#cancel"

    def __init__(self, plan: UntagPlan, sees_untagged: bool = True) -> None:
        super().__init__()
        self.plan = plan
        self.sees_untagged = sees_untagged

    def frame_class(self) -> str:
        return "danger" if self.plan.becomes_untagged else ""

    def dialog_title(self) -> Text:
        title = Text(f"Remove the tag {literal(self.plan.reference)}?", "bold")
        title.append(f"\nThe manifest {short_digest(self.plan.digest)} is not deleted.")
        return title

    def dialog_body(self) -> Widget:
        return TextLines(Text(literal(self.plan.effect(self.sees_untagged))))

    def dialog_keys(self) -> str:
        return "y untag   n or Esc cancel"

    def dialog_buttons(self) -> Iterable[Button]:
        yield Button(f"Untag {literal(self.plan.tag)}", variant="error", id="untag", compact=True)
        yield Button("Cancel", variant="primary", id="cancel", compact=True)

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "untag")
