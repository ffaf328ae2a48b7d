"""Plans and results as Rich renderables for the command line (`ls` output: ls_output.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from ocitree.core.names import short_digest

from .literal import literal, literal_text
from .ls_output import display_tag, human_bytes, reclaimable_now, registry_json, size_text  # noqa: F401 (their home was here)

if TYPE_CHECKING:  # pydantic, which the first screen does without (issue 10)
    from ocitree.core.plan import DeletionPlan, ExecutionResult, GarbageCollectFigures


def _tags(tags: list[str]) -> str:
    return "tags " + ", ".join(display_tag(t) for t in tags) if tags else "untagged"


RECLAIM_WORDING = {
    "gc": "Reclaimable by the registry's garbage collector",
    "immediate": "Freed at once (unused blobs are removed with their manifests)",
    "kept": "Reclaimable once unused blobs are pruned (--keep-blobs leaves them)",
}


def reclaim_lines(plan: DeletionPlan) -> list[str]:
    """What the plan frees, how sure the figure is, and what it counted: the CLI and the TUI say the same."""
    info = plan.reclaim
    amount = human_bytes(plan.reclaimable_bytes)
    if not info.exact:
        amount = f"at most {amount}"
    first = f"{RECLAIM_WORDING.get(info.by, RECLAIM_WORDING['gc'])}: {amount}"
    if info.counted_across:
        first += f" (exact, counted across {info.counted_across})" if info.exact else f" (counted across {info.counted_across})"
    lines = [first]
    if not info.exact and info.caveat:
        lines.append(f"  an upper bound: {info.caveat}")
    lines.extend(f"  {note}" for note in info.notes)
    return [literal(line) for line in lines]


def render_plan(plan: DeletionPlan, blob_reclaim: str | None = None, title: str | None = None) -> RenderableType:
    """`blob_reclaim` is ignored: the plan itself says who frees its blobs. `title` replaces the
    list of REFs (a prune names its rule, not thousands of targets)."""
    parts: list[RenderableType] = []
    if title is None:
        targets = ", ".join(literal(r) for r in plan.references)
        parts.append(Text.assemble(("Plan for ", "bold"), (targets, "bold cyan"), f"  (source: {literal(plan.source)})"))
    else:
        parts.append(Text.assemble((title, "bold"), f"  (source: {literal(plan.source)})"))
    if not plan.allowed:
        parts.append(Text("REFUSED: nothing will be deleted", style="bold red"))
        for r in plan.refusals:
            parts.append(Text("  x " + literal(r.describe())))
        return Group(*parts)

    deletes = plan.delete.views()  # the entries, when the executor runs
    labels = {d.digest: display_tag(d.tags[0]) for d in deletes if d.tags}
    if plan.rewrite:
        n = len(plan.rewrite)
        parts.append(Text(f"REWRITE {n} referrers ind{'ex' if n == 1 else 'exes'} first (OCI 1.1 fallback tag; bookkeeping, not a parent):",
                          style="bold yellow"))
        for w in plan.rewrite:
            parts.append(Text("  ~ " + literal(w.describe())))
            for digest in w.remove:
                parts.append(Text(f"      without {short_digest(digest)}"))
    labels.update({r.digest: f"{literal(r.reference)} (deleted before)" for r in plan.resumed})
    if plan.delete:
        parts.append(Text(f"DELETE {len(plan.delete)} artifact{'s' if len(plan.delete) != 1 else ''}, in this order:", style="bold red"))
    else:
        parts.append(Text("Nothing left to delete", style="bold"))
    rows: DeleteRows | None = None
    repository = None
    for i, d in enumerate(deletes, 1):
        if d.repository != repository:
            repository = d.repository
            parts.append(literal_text(f"  {repository}", "bold blue"))
            rows = DeleteRows()
            parts.append(rows)
        why: str = "referrers index left empty" if d.why == "referrers" else d.why
        if d.via and d.why == "referrers":
            why += " by deleting " + labels.get(d.via, short_digest(d.via))
        elif d.via:
            why += " of " + labels.get(d.via, short_digest(d.via))
        kind = d.kind + (f" {d.platform}" if d.platform else "")
        assert rows is not None  # the first entry starts one: its repository differs from None
        rows.add(f"{i}.", short_digest(d.digest), literal(f"{kind}; {_tags(d.tags)}; {why}"))
    if plan.keep:
        parts.append(Text(f"KEEP {len(plan.keep)}", style="bold green"))
        for k in plan.keep:
            parts.append(Text("  = " + literal(k.describe())))
    if plan.missing:
        parts.append(Text(f"MISSING {len(plan.missing)} (listed but not in the repository; reported, not an error)", style="bold yellow"))
        for m in plan.missing:
            parts.append(Text(f"  ? {literal(m.repository)}@{short_digest(m.digest)} listed by {short_digest(m.parent)}"))
    if plan.tags_removed:
        parts.append(Text("Tags removed: " + ", ".join(display_tag(t.partition(":")[2]) for t in plan.tags_removed)))
    parts.extend(Text(line) for line in reclaim_lines(plan))
    if plan.garbage_collect is not None:
        parts.append(Text(garbage_collect_advice(plan.garbage_collect)))
    parts.append(Text("Summary: " + plan.summary(), style="bold"))
    return Group(*parts)


class DeleteRows:
    """One repository's numbered delete entries: number, digest, and what and why, wrapped in the
    width left. It prints what a three-column Rich Table (no box, the last column taking the
    rest) prints, line for line, at a small part of the cost: a prune lists hundreds of
    thousands of entries, and the Table measured every cell of every row first."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str]] = []

    def add(self, number: str, digest: str, text: str) -> None:
        self.rows.append((number, digest, text))

    def _widths(self) -> tuple[int, int, int, int]:
        """The first two columns' widths, the last one's widest text, and the narrowest the last
        one can be (its longest word)."""
        numbers = max(4, *(cell_len(n) for n, _, _ in self.rows))
        digests = max(cell_len(d) for _, d, _ in self.rows)
        texts = max(cell_len(t) for _, _, t in self.rows)
        return numbers, digests, texts, max(1, *(cell_len(w) for _, _, t in self.rows for w in t.split()))

    def _as_table(self) -> Table:
        table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 1))
        table.add_column(justify="right", no_wrap=True, min_width=4)
        table.add_column(no_wrap=True)
        table.add_column(ratio=1)
        for number, digest, text in self.rows:
            table.add_row(number, digest, Text(text))  # a str cell is markup
        return table

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self._as_table())

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if not self.rows:
            return
        numbers, digests, texts, longest_word = self._widths()
        # The last column takes what is left, up to its widest text (the Table does not expand).
        rest = min(options.max_width - numbers - digests - 4, texts)
        if rest < longest_word:  # too narrow: columns shrink as the Table decides
            yield self._as_table()
            return
        new_line = Segment.line()
        for number, digest, text in self.rows:
            lead = f"{number:>{numbers}}  {digest}{' ' * (digests - cell_len(digest))}  "
            cells = cell_len(text)
            if cells <= rest:
                yield Segment(lead + text + " " * (rest - cells))
                yield new_line
                continue
            blank = " " * cell_len(lead)
            for n, line in enumerate(Text(text).wrap(console, rest, overflow="ellipsis")):  # as a Table cell
                yield Segment((lead if n == 0 else blank) + line.plain + " " * (rest - line.cell_len))
                yield new_line


def garbage_collect_advice(gc: GarbageCollectFigures) -> str:
    """Registry storage: blob files stay until the registry's garbage collector runs."""
    return (f"Blob files stay until you run `docker-registry garbage-collect CONFIG` (registry stopped or read-only): "
            f"it will then free {human_bytes(gc.frees)} ({gc.frees:,} bytes; {gc.reclaimable_now:,} of them already "
            f"reclaimable now), or {human_bytes(gc.frees_delete_untagged)} ({gc.frees_delete_untagged:,} bytes) "
            f"with --delete-untagged (which in distribution 2.8 also unlinks untagged children of indexes that stay)")


def render_result(result: ExecutionResult) -> RenderableType:
    if result.completed:
        return Text(f"Done: {result.summary()}", style="bold green")
    lines = [Text(f"INCOMPLETE: {literal(result.summary())}", style="bold red")]
    for d in result.deleted:
        lines.append(Text(f"  deleted      {literal(d.repository)}@{short_digest(d.digest)}"))
    for f in result.failed:
        # A store that writes once at the end fails as a whole, with no artifact to name.
        where = f"{literal(f.repository)}@{short_digest(f.digest)}: " if f.digest else ""
        lines.append(Text(f"  failed       {where}{literal(f.error)}"))
    for n in result.not_done:
        lines.append(Text(f"  not deleted  {literal(n.repository)}@{short_digest(n.digest)}"))
    lines.append(Text("Run the same delete again to finish: what remains is planned afresh."))
    return Group(*lines)
