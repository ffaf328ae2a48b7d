"""A DeletionPlan as text for the confirmation and refusal screens: every artifact that goes
and why, every one that stays and why, tags removed, bytes reclaimable. All the reasoning
lives in the plan; this only words it."""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, overload

from rich.cells import cell_len
from rich.text import Text

from ocitree.core import media_types as mt
from ocitree.core.cancellation import raise_if_stopped
from ocitree.core.model import Artifact, Registry
from ocitree.core.names import short_digest, short_hex
from ocitree.core.tag_schemes import plain_tags

from ..prune_command import RETAINED_WORDING
from ..literal import literal
from ..plan_text import display_tag, garbage_collect_advice, reclaim_lines

if TYPE_CHECKING:  # pydantic, which the first screen does without (issue 10)
    from ocitree.core.plan import DeleteView, DeletionPlan, KeepEntry, ParentRef


def _artifact(registry: Registry, repository: str, digest: str | None) -> Artifact | None:
    repo = registry.repositories.get(repository)
    return repo.artifacts.get(digest) if repo is not None and digest else None


def _plain(registry: Registry, repository: str, digest: str, tags: list[str]) -> list[str]:
    """A plan entry's tags but those naming a subject (core.tag_schemes), as its tree row lists them."""
    if not tags:  # most of a prune's entries: nothing to look up
        return []
    artifact = _artifact(registry, repository, digest)
    return plain_tags(tags, artifact is not None and artifact.is_index)


def _name(registry: Registry, repository: str, digest: str | None) -> str:
    """How the plan names an artifact: its first tag, else its short digest."""
    if not digest:
        return ""
    artifact = _artifact(registry, repository, digest)
    tags = artifact.plain_tags if artifact else []
    if tags:
        return literal(tags[0])
    return short_digest(digest)


def _parent(registry: Registry, repository: str, p: ParentRef) -> str:
    tags = _plain(registry, repository, p.digest, p.tags)
    if tags:
        return f"{literal(repository)}:{literal(tags[0])} ({short_digest(p.digest)})"
    return f"{literal(repository)}@{short_digest(p.digest)}"


def _platform(registry: Registry, repository: str, digest: str, platform: str | None) -> str | None:
    """The plan gives a child's platform only when it goes or stays because of its parent;
    a selected child still has one, in the index that lists it, as its tree row shows."""
    if platform:
        return platform
    repo = registry.repositories.get(repository)
    return repo.listed_platform(digest) if repo is not None else None


def _what(kind: str, tags: list[str], platform: str | None) -> str:
    """`index v2.4`, `image linux/arm64/v8`, `image untagged`, `signature`; `tags` are plain ones."""
    shown = [display_tag(t) for t in tags]
    parts = [kind]
    if platform:
        parts.append(literal(platform))
    if shown:
        parts.append(", ".join(shown))
    elif not platform and kind not in mt.ACCESSORY_KINDS:
        parts.append("untagged")
    return " ".join(parts)


def _why_deleted(registry: Registry, d: DeleteView) -> str:
    if d.why == "target":
        return "selected"
    via = _name(registry, d.repository, d.via)
    if d.why == "child":
        return f"child of {via}: no other parent, no tag"
    if d.why == "referrers":
        return f"referrers index: empty once {via} goes"
    return f"{d.kind} of {via}: goes with its subject"


def _why_kept(registry: Registry, k: KeepEntry) -> str:
    if k.reason == "tagged":
        return "has its own tag " + ", ".join(display_tag(t) for t in _plain(registry, k.repository, k.digest, k.tags))
    names = ", ".join(_parent(registry, k.repository, p) for p in k.parents)
    if k.reason == "accessory_listed":
        return f"an index lists it: {names}"
    return f"shared with {names}"


# A line as the words it is made of, each with its style (None: unstyled), and an entry's two lines
# so: the pieces give both the line (a Text) and its width, which is measured without the Text.
Pieces = tuple[tuple[str, str | None], ...]


def _line(pieces: Pieces) -> Text:
    line = Text()
    for words, style in pieces:
        line.append(words, style)
    return line


def _deleted_entry(registry: Registry, d: DeleteView, whys: dict[tuple[str, str, str, str | None], str] | None = None
                   ) -> tuple[Pieces, Pieces]:
    """`  - image linux/amd64 v2 0123456789ab`, then why it goes. `whys`: the second lines worded so
    far, by what words them: the children of one index share theirs, and a prune words 800,000."""
    tags = _plain(registry, d.repository, d.digest, d.tags)
    what = _what(d.kind, tags, _platform(registry, d.repository, d.digest, d.platform))
    first: Pieces = (("  - ", None), (what, "bold"), (f" {short_hex(d.digest)}", "dim"))
    if whys is None:
        return first, ((f"      {_why_deleted(registry, d)}", None),)
    key = (d.why, d.kind, d.repository, d.via)
    why = whys.get(key)
    if why is None:
        why = whys[key] = f"      {_why_deleted(registry, d)}"
    return first, ((why, None),)


def _kept_entry(registry: Registry, k: KeepEntry, whys: object = None) -> tuple[Pieces, Pieces]:
    """`  = index v2 (and its 3 children) 0123456789ab`, then why it stays. `whys` is not used (it
    is _EntryRun.pieces' memo): each kept entry's reason names its own parents, none to share."""
    repo = registry.repositories.get(k.repository)
    art = repo.artifacts.get(k.digest) if repo else None
    # a kept signature is a signature, as in its row
    kind = repo.kind_of(k.digest) if repo is not None and art is not None else "artifact"
    tags = _plain(registry, k.repository, k.digest, k.tags)
    what = _what(kind, tags, _platform(registry, k.repository, k.digest, k.platform))
    first: list[tuple[str, str | None]] = [("  = ", None), (what, "bold")]
    if repo is not None and art is not None and art.is_index:
        n = len({c.digest for c in art.children if c.digest in repo.artifacts})
        first.append((f" (and its {n} child{'ren' if n != 1 else ''})", "bold"))
    first.append((f" {short_hex(k.digest)}", "dim"))
    return tuple(first), ((f"      {_why_kept(registry, k)}", None),)


class _EntryRun(NamedTuple):
    """Consecutive lines that are entries' (two each): which entries, and how their lines read."""

    entries: Sequence[Any]  # the plan's delete or keep list
    shown: array[int]  # indexes into `entries`, in the order shown
    pieces: Callable[[Registry, Any, Any], tuple[Pieces, Pieces]]  # (registry, entry, memo or None)


class PlanLines(Sequence[Text]):
    """The plan's lines, each a one-line Text, where an entry's two lines are made only when read.

    A prune of a million artifacts deletes 800,000: two Texts each held for the dialog were most of a
    gigabyte and seconds of building, while the dialog shows a screenful. Other lines (headers,
    totals) are few and kept made. Iterating makes the lines in order; indexing makes one."""

    __slots__ = ("_registry", "_runs", "_starts", "_length")

    def __init__(self, registry: Registry, runs: list[list[Text] | _EntryRun]) -> None:
        self._registry = registry
        self._runs = runs
        self._starts: list[int] = []  # each run's first line
        length = 0
        for run in runs:
            self._starts.append(length)
            length += len(run) if isinstance(run, list) else 2 * len(run.shown)
        self._length = length

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> Text: ...

    @overload
    def __getitem__(self, index: slice) -> list[Text]: ...

    def __getitem__(self, index: int | slice) -> Text | list[Text]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._length))]
        if index < 0:
            index += self._length
        if not 0 <= index < self._length:
            raise IndexError("plan line out of range")
        at = bisect_right(self._starts, index) - 1
        run, offset = self._runs[at], index - self._starts[at]
        if isinstance(run, list):
            return run[offset]
        entry = run.entries[run.shown[offset // 2]]
        return _line(run.pieces(self._registry, entry, None)[offset % 2])

    def __iter__(self) -> Iterator[Text]:
        for run in self._runs:
            if isinstance(run, list):
                yield from run
                continue
            for i in run.shown:
                first, second = run.pieces(self._registry, run.entries[i], None)
                yield _line(first)
                yield _line(second)

    def widths(self) -> array[int]:
        """Each line's cell length, from its words: no Text is made for an entry's lines."""
        widths = array("I")
        whys: dict[tuple[str, str, str, str | None], str] = {}  # second lines shared by many entries
        measured: dict[str, int] = {}  # and their widths, by the same string
        for run in self._runs:
            if isinstance(run, list):
                widths.extend(line.cell_len for line in run)
                continue
            for n, i in enumerate(run.shown):
                if not n % 4096:  # on the planning thread: Esc stops it here too
                    raise_if_stopped()
                first, ((why, _),) = run.pieces(self._registry, run.entries[i], whys)
                widths.append(cell_len("".join([words for words, _ in first])))
                width = measured.get(why)
                if width is None:
                    width = measured[why] = cell_len(why)
                widths.append(width)
        return widths


class _Lines:
    """Builds a PlanLines: `append` as on a Text, and a "\n" in what is appended ends the line, as
    `Text.split("\n", allow_blank=True)` of the whole would cut it (a style spanning a line break
    styles each part); `entries` adds entries' lines, made when read. The lines are the plan's,
    without one big Text split afterwards: at a prune's tens of thousands of entries that split
    took longer than building the text."""

    __slots__ = ("runs", "lines", "line")

    def __init__(self) -> None:
        self.runs: list[list[Text] | _EntryRun] = []
        self.lines: list[Text] = []  # whole lines since the last entries
        self.line = Text()

    def append(self, text: str, style: str | None = None) -> None:
        if "\n" not in text:
            self.line.append(text, style)
            return
        first, *rest = text.split("\n")
        self.line.append(first, style)
        for part in rest:
            self.lines.append(self.line)
            self.line = Text()
            self.line.append(part, style)

    def entries(self, run: _EntryRun) -> None:
        """After the last whole line: nothing may be on the line being written."""
        if self.line:
            raise ValueError("entries must start a line")
        self.runs += [self.lines, run]
        self.lines = []

    def done(self, registry: Registry) -> PlanLines:
        """Every line, the last one too (blank after a final "\n")."""
        self.lines.append(self.line)
        self.runs.append(self.lines)
        return PlanLines(registry, [run for run in self.runs if not isinstance(run, list) or run])


TAGS_LISTED = 200  # in the line of tags removed


def plan_lines(plan: DeletionPlan, registry: Registry) -> PlanLines:
    """The plan the confirmation shows, one Text per line (no "\n" in any): what goes and why,
    what stays and why, tags removed, bytes reclaimable, what a rule retained. An entry's lines
    are made when read (PlanLines)."""
    text = _Lines()
    # Grouped in one pass each: a prune's plan has hundreds of thousands of entries in a hundred repositories.
    deleted_in: dict[str, array[int]] = {}
    deletes = plan.delete.views()  # the entries, when the executor runs
    for i, d in enumerate(deletes):
        deleted_in.setdefault(d.repository, array("I")).append(i)
    kept_in: dict[str, array[int]] = {}
    for i, k in enumerate(plan.keep):
        kept_in.setdefault(k.repository, array("I")).append(i)
    for repository in dict.fromkeys([*deleted_in, *kept_in]):
        deleted = deleted_in.get(repository)
        kept = kept_in.get(repository)
        text.append(literal(repository), "bold")
        text.append("\n")
        if deleted:
            text.append(f" Will be deleted ({len(deleted)})\n", "bold")
            text.entries(_EntryRun(deletes, deleted, _deleted_entry))
        if kept:
            text.append(f" Will stay ({len(kept)})\n", "bold")
            text.entries(_EntryRun(plan.keep, kept, _kept_entry))
    if plan.rewrite:
        text.append(f"Referrers indexes rewritten first ({len(plan.rewrite)}): bookkeeping, not parents\n", "bold")
        for w in plan.rewrite:
            text.append(f"  ~ {literal(w.describe())}\n")
    if plan.missing:
        text.append(f"Listed but missing ({len(plan.missing)}): reported, not an error\n", "bold")
        for m in plan.missing:
            text.append(f"  ? {literal(m.repository)}@{short_digest(m.digest)} listed by {_name(registry, m.repository, m.parent)}\n")
    text.append("\n")
    if plan.tags_removed:
        text.append(f"Tags removed ({len(plan.tags_removed)}): ", "bold")
        # A prune's tens of thousands made one line of thousands of rows, wrapped on the UI thread at
        # each width the layout tries; the entries above name their artifacts' tags all the same.
        shown = plan.tags_removed[:TAGS_LISTED]
        unlisted = len(plan.tags_removed) - len(shown)
        text.append(", ".join(display_tag(t) for t in shown) + (f" and {unlisted:,} more" if unlisted else "") + "\n")
    else:
        text.append("Tags removed: none\n", "bold")
    first, *rest = reclaim_lines(plan)
    label, _, figure = first.partition(": ")
    text.append(label + ": ", "bold")
    text.append(figure)
    for more in rest:
        text.append("\n" + more)
    if plan.retained:
        text.append(f"\n\nRetained by the rule ({len(plan.retained)}):\n", "bold green")
        for r in plan.retained:
            text.append(f"  = {_name(registry, r.repository, r.digest)}  {r.reason}: {RETAINED_WORDING[r.reason]}\n")
    if plan.garbage_collect is not None:  # registry storage: say to run the collector, and what it frees
        text.append("\n" + garbage_collect_advice(plan.garbage_collect))
    return text.done(registry)


def plan_text(plan: DeletionPlan, registry: Registry, blob_reclaim: str | None = None) -> Text:
    """The plan's lines as one Text. `blob_reclaim` is ignored: the plan itself says who frees its blobs."""
    return Text("\n").join(plan_lines(plan, registry))


@dataclass(frozen=True)
class PlanBody:
    """A dialog's body as TextLines shows it: one-line Texts and their cell lengths, measured where
    the plan is worked out (a worker thread) so that the UI thread only lays out what is seen."""

    lines: Sequence[Text]
    widths: Sequence[int]

    @classmethod
    def of(cls, lines: list[Text]) -> PlanBody:
        return cls(lines, [line.cell_len for line in lines])


def plan_body(plan: DeletionPlan, registry: Registry) -> PlanBody:
    """What the confirmation (an allowed plan) or the refusal (a refused one) shows of `plan`."""
    if plan.allowed:
        lines = plan_lines(plan, registry)
        return PlanBody(lines, lines.widths())
    return PlanBody.of(list(refusal_text(plan, registry).split("\n", allow_blank=True)))


def refusal_text(plan: DeletionPlan, registry: Registry) -> Text:
    text = Text()
    for r in plan.refusals:
        what = _name(registry, r.repository, r.digest)
        text.append(f"{literal(r.repository)}: ", "bold")
        if r.reason == "referenced":
            n = len(r.parents)
            text.append(f"{what} is listed by {n} ind{'ex' if n == 1 else 'exes'}:\n")
            for p in r.parents:
                text.append("  - index ")
                text.append(_parent(registry, r.repository, p), "bold")
                text.append("\n")
        else:
            text.append(f"{what} carries protected tag ")
            text.append(literal(r.tag or ""), "bold")
            text.append(f" (rule {literal(r.rule or '')})\n")
    text.append("\n")
    if any(r.reason == "referenced" for r in plan.refusals):
        text.append(
            "An index still needs it. Delete the index instead (its unshared children go with it), "
            "or mark the index too and delete both as one plan.\n",
            "italic",
        )
    if any(r.reason == "protected_tag" for r in plan.refusals):
        text.append("A protected tag cannot be deleted from here; change the protection rules first.\n", "italic")
    text.rstrip()
    return text
