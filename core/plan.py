"""DeletionPlan: the one plan type the TUI, `ocitree plan --json` and the executor all read.

Its JSON form (`plan.to_json()`) is a public interface documented in the README:
add fields, never rename or remove them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Literal, NamedTuple, Protocol, TypeVar, overload

from pydantic import BaseModel, Field, GetCoreSchemaHandler
from pydantic_core import core_schema

from .gc_pause import gc_paused
from .media_types import AccessoryKind, ArtifactKind
from .names import short_digest

SCHEMA_VERSION = 1

# Why an artifact is in a plan: the user named it (rule 1); a child of an index that goes
# (rules 3-4); an accessory of a subject that goes (rule 5); an emptied fallback referrers index.
DeleteWhy = Literal["target", "child", "accessory", "referrers"]
# Why a child or accessory the deletion reached stays: another index lists it (rule 3), its own
# tags (rule 3), an index lists the accessory (rule 5).
KeepReason = Literal["shared", "tagged", "accessory_listed"]
# Why a plan is refused: an index outside it lists a target (rule 2), a protected tag (rule 6).
RefusalReason = Literal["referenced", "protected_tag"]

_Model = TypeVar("_Model", bound=BaseModel)


def trusted_builder(model: type[_Model]) -> Callable[..., _Model]:
    """A constructor of `model` from trusted values for every field, given in the model's field
    order: the instance `model_construct` makes (same fields, same JSON), without its per-call
    walk over the fields' aliases and defaults. A prune plans hundreds of thousands of entries;
    model_construct was a sixth of its time, validation a third before that."""
    # One set for every instance: pydantic only ever adds a field name to it, and each is in it already.
    every_field = set(model.model_fields)
    new = model.__new__
    # BaseModel's slots, set through their descriptors: no attribute lookup per instance.
    set_dict = BaseModel.__dict__["__dict__"].__set__
    set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
    set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
    set_private = BaseModel.__dict__["__pydantic_private__"].__set__

    def build(**values: Any) -> _Model:
        instance = new(model)
        set_dict(instance, values)
        set_fields_set(instance, every_field)
        set_extra(instance, None)
        set_private(instance, None)
        return instance

    return build


class ParentRef(BaseModel):
    digest: str
    tags: list[str] = Field(default_factory=list)

    def label(self, repository: str) -> str:
        if self.tags:
            return f"{repository}:{self.tags[0]} ({short_digest(self.digest)})"
        return f"{repository}@{short_digest(self.digest)}"


class TargetRef(BaseModel):
    repository: str
    digest: str
    reference: str  # as the user named it: repo:tag or repo@digest


class ResumedRef(BaseModel):
    """A REF whose own artifact a cut-off run already deleted. What that run set out to delete
    under it and that is still present enters the plan as children (or accessories) of the
    deleted artifact, each re-checked by the rules as for a fresh plan."""

    reference: str  # as the user named it
    repository: str
    digest: str  # the REF's artifact, deleted by the cut-off run
    time: str = ""  # when that run was recorded
    leftovers: list[str] = Field(default_factory=list)  # what it set out to delete under the REF


class Refusal(BaseModel):
    repository: str
    digest: str
    reason: RefusalReason
    parents: list[ParentRef] = Field(default_factory=list)  # for "referenced"
    tag: str | None = None  # for "protected_tag"
    rule: str | None = None  # the protection pattern that matched
    tags: list[str] = Field(default_factory=list)

    def describe(self) -> str:
        what = f"{self.repository}:{self.tags[0]}" if self.tags else f"{self.repository}@{short_digest(self.digest)}"
        if self.reason == "referenced":
            n = len(self.parents)
            names = ", ".join(p.label(self.repository) for p in self.parents)
            return f"{what} is referenced by {n} ind{'ex' if n == 1 else 'exes'}: {names}"
        return f"{what} carries protected tag {self.tag!r} (rule {self.rule!r})"


class DeleteEntry(BaseModel):
    repository: str
    digest: str
    media_type: str
    kind: ArtifactKind | AccessoryKind
    tags: list[str] = Field(default_factory=list)
    why: DeleteWhy
    # the parent (child), subject (accessory), or the last accessory it listed (referrers: an OCI 1.1
    # fallback referrers index that the deletion leaves empty) that brought it in
    via: str | None = None
    size: int = 0
    platform: str | None = None


# A row of DeleteEntry's fields, in its order (the JSON's).
DeleteRow = tuple[str, str, str, str, list[str], str, str | None, int, str | None]
_DELETE_FIELDS = tuple(DeleteEntry.model_fields)
_new_delete_entry = trusted_builder(DeleteEntry)


class DeleteView(NamedTuple):
    """A DeleteEntry's fields, in its order, without the pydantic object: what the confirmation and
    the text plan read of hundreds of thousands (DeleteEntries.views)."""

    repository: str
    digest: str
    media_type: str
    kind: ArtifactKind | AccessoryKind
    tags: list[str]
    why: DeleteWhy
    via: str | None
    size: int
    platform: str | None


class DeleteRows(Protocol):
    """One repository's part of a plan's `delete` list, as the planner keeps it (core.planner)."""

    def __len__(self) -> int: ...

    def rows(self) -> Iterator[DeleteRow]:
        """Each entry's fields, in execution order."""
        ...

    def keys(self) -> Iterator[tuple[str, str, list[str]]]:
        """Each entry's repository, digest and tags, in execution order (what the fingerprint reads)."""
        ...


class DeleteEntries(Sequence[DeleteEntry]):
    """`DeletionPlan.delete`: what goes, in execution order, kept as the planner's rows until read.

    A prune deletes hundreds of thousands of artifacts; a pydantic object for each was a third of
    its plan and most of the memory it added, while its confirmation reads only the count. Each
    repository's part stays in rows (DeleteRows); the entries are made the first time the list is
    read (all at once: the executor then reads what was planned, whatever changes after), and the
    JSON and the fingerprint are written from the rows. A list of entries is taken as it is."""

    __slots__ = ("_entries", "_parts")

    def __init__(self, entries: Iterable[DeleteEntry] = ()) -> None:
        self._entries: list[DeleteEntry] = list(entries)  # made: the first entries
        self._parts: list[DeleteRows] = []  # not made yet: the rest, in order

    def add(self, part: DeleteRows) -> None:
        """The planner's rows for one repository, after what is there."""
        if len(part):
            self._parts.append(part)

    def _made(self) -> list[DeleteEntry]:
        if self._parts:
            fields, build, made = _DELETE_FIELDS, _new_delete_entry, self._entries
            with gc_paused():  # hundreds of thousands of objects that all live, and no cycles
                for part in self._parts:
                    made.extend([build(**dict(zip(fields, row))) for row in part.rows()])
            self._parts = []
        return self._entries

    def __len__(self) -> int:
        return len(self._entries) + sum(map(len, self._parts))

    @overload
    def __getitem__(self, index: int) -> DeleteEntry: ...

    @overload
    def __getitem__(self, index: slice) -> list[DeleteEntry]: ...

    def __getitem__(self, index: int | slice) -> DeleteEntry | list[DeleteEntry]:
        return self._made()[index]

    def __iter__(self) -> Iterator[DeleteEntry]:
        return iter(self._made())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DeleteEntries):
            return self._made() == other._made()
        if isinstance(other, list):
            return self._made() == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # a list's equality, a list's hash

    def __repr__(self) -> str:
        return f"DeleteEntries({self._made()!r})"

    def views(self) -> list[DeleteView]:
        """Every entry's fields, in order, without making the entries that are not made yet: a view
        of a prune's 800,000 costs a third of making them, which the executor does when it runs."""
        fields = _DELETE_FIELDS
        views = [DeleteView(*[getattr(d, f) for f in fields]) for d in self._entries]
        for part in self._parts:
            views.extend(map(DeleteView._make, part.rows()))
        return views

    def keys(self) -> Iterator[tuple[str, str, list[str]]]:
        """Each entry's (repository, digest, tags), without making the entries."""
        for d in self._entries:
            yield d.repository, d.digest, d.tags
        for part in self._parts:
            yield from part.keys()

    def json_rows(self) -> list[dict[str, Any]]:
        """The entries as DeleteEntry.model_dump gives them, from the rows where not made yet."""
        fields = _DELETE_FIELDS
        made = [{**d.__dict__, "tags": list(d.tags)} for d in self._entries]  # every field is JSON's own type
        for part in self._parts:
            made.extend([dict(zip(fields, row)) for row in part.rows()])
        return made

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        # A list of entries (validated as such) becomes DeleteEntries; the JSON is a list of objects.
        from_list = core_schema.chain_schema([handler.generate_schema(list[DeleteEntry]),
                                              core_schema.no_info_plain_validator_function(cls)])
        return core_schema.json_or_python_schema(
            json_schema=from_list,
            python_schema=core_schema.union_schema([core_schema.is_instance_schema(cls), from_list]),
            serialization=core_schema.plain_serializer_function_ser_schema(cls.json_rows),
        )


class KeepEntry(BaseModel):
    repository: str
    digest: str
    reason: KeepReason
    parents: list[ParentRef] = Field(default_factory=list)  # the parents that remain
    tags: list[str] = Field(default_factory=list)
    via: str | None = None  # the deleted parent or subject it hangs under
    platform: str | None = None

    def describe(self) -> str:
        what = f"{self.repository}@{short_digest(self.digest)}"
        if self.reason == "tagged":
            return f"{what} kept: tagged {', '.join(self.tags)}"
        names = ", ".join(p.label(self.repository) for p in self.parents)
        if self.reason == "accessory_listed":
            return f"{what} kept: accessory listed by {names}"
        return f"{what} kept: shared with {names}"


class RewriteEntry(BaseModel):
    """An OCI 1.1 fallback referrers index (tagged `sha256-<hex>` after its subject) written anew
    without the accessories the plan deletes. It is the registry's bookkeeping, not a parent:
    it never keeps an accessory alive. The old index, untagged by the rewrite, is deleted too."""

    repository: str
    digest: str  # the index now
    tags: list[str] = Field(default_factory=list)
    remove: list[str] = Field(default_factory=list)  # digests of the entries taken out
    remaining: int = 0  # entries it keeps

    def describe(self) -> str:
        n = len(self.remove)
        return (f"{self.repository}@{short_digest(self.digest)} (referrers index) rewritten without "
                f"{n} entr{'y' if n == 1 else 'ies'}; {self.remaining} remain")


class MissingEntry(BaseModel):
    repository: str
    digest: str
    parent: str


RetainReason = Literal["keep_last", "newer", "not_selected", "referenced", "protected", "no_date"]


class RetainedEntry(BaseModel):
    """A prune candidate the rule, the planner or a protection rule keeps (`ocitree prune`)."""

    repository: str
    digest: str
    tags: list[str] = Field(default_factory=list)
    reason: RetainReason


class ReclaimInfo(BaseModel):
    """How to read `reclaimable_bytes`: who frees the blobs, which users were counted, how sure it is."""

    by: Literal["gc", "immediate", "kept"] = "gc"  # the registry's garbage collector; ocitree at once; nobody
    exact: bool = True  # False: an upper bound (blobs may have users ocitree cannot see)
    counted_across: str = ""  # whose use keeps a blob, in words
    caveat: str = ""  # why it is only an upper bound
    notes: list[str] = Field(default_factory=list)  # unused blobs left out of the figure, and why


class GarbageCollectFigures(BaseModel):
    """Registry storage read directly: bytes of blob files `docker-registry garbage-collect` removes, exactly."""

    reclaimable_now: int  # run today, before this plan
    reclaimable_now_delete_untagged: int  # the same with --delete-untagged
    frees: int  # run after this plan
    frees_delete_untagged: int  # the same with --delete-untagged


class DeletionPlan(BaseModel):
    schema_version: int = SCHEMA_VERSION
    source: str = ""
    allowed: bool
    targets: list[TargetRef]
    resumed: list[ResumedRef] = Field(default_factory=list)  # REFs finishing a cut-off run
    protect: list[str] = Field(default_factory=list)
    refusals: list[Refusal] = Field(default_factory=list)
    delete: DeleteEntries = Field(default_factory=DeleteEntries)  # in execution order
    rewrite: list[RewriteEntry] = Field(default_factory=list)  # done before any delete
    keep: list[KeepEntry] = Field(default_factory=list)
    missing: list[MissingEntry] = Field(default_factory=list)
    tags_removed: list[str] = Field(default_factory=list)  # repository:tag
    reclaimable_bytes: int = 0
    retained: list[RetainedEntry] = Field(default_factory=list)  # prune only: candidates kept, with why
    reclaim: ReclaimInfo = Field(default_factory=ReclaimInfo)
    garbage_collect: GarbageCollectFigures | None = None  # registry storage only
    # prune only: the rule that chose the targets, kept in the write-ahead record so that the
    # same prune, run again, finishes a run cut off (core/interrupted.py); not part of the JSON
    prune_rule: str | None = Field(default=None, exclude=True)

    @property
    def repositories(self) -> set[str]:
        return {t.repository for t in self.targets} | {r.repository for r in self.resumed}

    @property
    def references(self) -> list[str]:
        """Each REF of the plan once, in the order named."""
        return list(dict.fromkeys([*(t.reference for t in self.targets), *(r.reference for r in self.resumed)]))

    def summary(self) -> str:
        """One line: `deletes 10, keeps 1 shared` or `refused: referenced by 2 indexes`."""
        if not self.allowed:
            first = self.refusals[0]
            if first.reason == "referenced":
                n = len(first.parents)
                text = f"refused: referenced by {n} ind{'ex' if n == 1 else 'exes'}"
            else:
                text = f"refused: protected tag {first.tag}"
            more = len(self.refusals) - 1
            return text + (f" (+{more} more)" if more else "")
        parts = [f"deletes {len(self.delete)}"]
        counts: dict[KeepReason, int] = {}
        for k in self.keep:
            counts[k.reason] = counts.get(k.reason, 0) + 1
        words: dict[KeepReason, str] = {"shared": "shared", "tagged": "tagged", "accessory_listed": "listed accessory"}
        for reason in words:
            if counts.get(reason):
                parts.append(f"keeps {counts[reason]} {words[reason]}")
        if self.rewrite:
            parts.append(f"rewrites {len(self.rewrite)} referrers ind{'ex' if len(self.rewrite) == 1 else 'exes'}")
        if self.missing:
            parts.append(f"{len(self.missing)} missing")
        return ", ".join(parts)

    def fingerprint(self) -> tuple[object, ...]:
        """What must not change between planning and executing for the plan to stand."""
        return (
            self.allowed,
            tuple((repository, digest, tuple(sorted(tags))) for repository, digest, tags in self.delete.keys()),
            tuple((r.repository, r.digest, r.reason) for r in self.refusals),
            tuple((w.repository, w.digest, tuple(w.remove)) for w in self.rewrite),
        )

    def to_json_dict(self) -> dict[str, Any]:
        # The delete list is put in its place from its rows: through model_dump, pydantic's
        # serializer would copy each of a prune's hundreds of thousands of entries once more.
        with gc_paused():  # as many dicts, and no cycles: the collector's passes would find nothing
            doc = self.model_dump(mode="json", exclude={"delete"})
            doc["delete"] = self.delete.json_rows()
        return {name: doc[name] for name in type(self).model_fields if name in doc}  # the fields' order


class ArtifactRef(BaseModel):
    repository: str
    digest: str
    tags: list[str] = Field(default_factory=list)


class FailedStep(ArtifactRef):
    error: str


class ExecutionResult(BaseModel):
    """What the executor did: `deleted`, `failed` (at most one: it stops there), `not_done`."""

    completed: bool
    deleted: list[ArtifactRef] = Field(default_factory=list)
    failed: list[FailedStep] = Field(default_factory=list)
    not_done: list[ArtifactRef] = Field(default_factory=list)
    rewritten: list[ArtifactRef] = Field(default_factory=list)  # referrers indexes written anew (old digest)
    audit_log: str | None = None

    def summary(self) -> str:
        if self.completed:
            return f"deleted {len(self.deleted)} artifact{'s' if len(self.deleted) != 1 else ''}"
        f = self.failed[0] if self.failed else None
        reason = f": {f.error}" if f else ""
        return f"stopped after deleting {len(self.deleted)}; {len(self.not_done)} not deleted{reason}"
