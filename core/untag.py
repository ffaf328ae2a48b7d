"""Untagging: removing one tag and keeping the manifest it names.

Planned and executed like a deletion: `plan_untag` checks the tag against the same state
the TUI and the command line show (a protected tag is refused, as a tag naming a subject,
whose removal would detach an accessory); `execute_untag` takes the store's session, reads
the repository afresh under its lock, refuses a plan the fresh state would change, then
asks the store's Deletion to remove the tag, and appends the run to the audit log.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from .audit import append_audit_line, os_user
from .errors import BadInputError, OcitreeError, StalePlanError, StoreError, UnknownReferenceError
from .model import Artifact, Registry, Repository
from .names import short_digest
from .protection import first_protected, parse_rules
from .references import Reference, parse_reference
from .stores.base import Store
from .tag_schemes import names_subject

UntagRefusalReason = Literal["protected_tag", "names_subject"]


class UntagPlan(BaseModel):
    """What removing `repository:tag` does. Its JSON form is printed by `ocitree untag --json`."""

    source: str = ""
    repository: str
    tag: str
    digest: str
    allowed: bool
    refusal: UntagRefusalReason | None = None
    rule: str | None = None  # the protection pattern that matched
    protect: list[str] = Field(default_factory=list)
    other_tags: list[str] = Field(default_factory=list)  # the tags the manifest keeps
    top_level: bool = False  # no index lists it and it describes nothing
    becomes_untagged: bool = False  # a top-level manifest loses its last tag (a prune --untagged candidate)

    @property
    def reference(self) -> str:
        return f"{self.repository}:{self.tag}"

    def refusal_text(self) -> str:
        """One line: why the tag cannot be removed, and what to do instead."""
        if self.refusal == "protected_tag":
            return (f"{self.reference} is protected (rule {self.rule!r}); nothing was untagged. "
                    "Remove the rule (--protect, the config file or the source's own) to untag it")
        if self.refusal == "names_subject":
            return (f"{self.reference} is the tag that ties an accessory to its subject; removing it would detach "
                    "the accessory. Delete the accessory instead (nothing was untagged)")
        return ""

    def effect(self, sees_untagged: bool = True) -> str:
        """One line for the confirmation: what is left of the manifest afterwards."""
        what = f"{self.repository}@{short_digest(self.digest)}"
        if self.other_tags:
            shown = ", ".join(self.other_tags[:5]) + (f" and {len(self.other_tags) - 5} more" if len(self.other_tags) > 5 else "")
            return f"{what} stays, tagged {shown}."
        if not self.becomes_untagged:
            return f"{what} stays, untagged; the index or subject it belongs to still lists it."
        text = (f"{what} stays, untagged: it was this image's last tag, so it becomes an untagged top-level "
                f"manifest, a candidate for 'ocitree prune --untagged'.")
        if not sees_untagged:
            text += (" A registry lists manifests only through tags and indexes: after a reload ocitree still shows it "
                     "from its deletion journal, other clients do not see it at all.")
        return text


class UntagResult(BaseModel):
    completed: bool
    untagged: list[str] = Field(default_factory=list)  # repository:tag, once the store made it durable
    error: str | None = None
    audit_log: str | None = None


def parse_tag_reference(text: str) -> Reference:
    """`REPOSITORY:TAG` (a digest names a manifest, not a tag: refused with what to write)."""
    ref = parse_reference(text)
    if ref.tag is None:
        raise BadInputError(f"untag takes REPOSITORY:TAG, not a digest ({text!r}); 'ocitree ls' shows the tags")
    return ref


def plan_untag(registry: Registry, repository: str, tag: str, protect: list[str] | tuple[str, ...] = ()) -> UntagPlan:
    """Raises UnknownReferenceError when the repository or tag is not there."""
    artifact = registry.resolve(Reference(repository=repository, tag=tag))
    repo = registry.repositories[repository]
    patterns = registry.protection_patterns(protect)
    plan = UntagPlan(source=registry.source, repository=repository, tag=tag, digest=artifact.digest, allowed=True,
                     protect=patterns, other_tags=[t for t in artifact.tags if t != tag],
                     top_level=repo.is_top_level(artifact.digest))
    plan.becomes_untagged = plan.top_level and not plan.other_tags
    hit = first_protected(parse_rules(patterns), repository, [tag])
    if hit is not None:
        plan.allowed, plan.refusal, plan.rule = False, "protected_tag", hit[1]
    elif names_subject(tag, artifact.is_index):
        plan.allowed, plan.refusal = False, "names_subject"
    return plan


def untag_choices(repo: Repository, artifact: Artifact) -> list[str]:
    """The tags of `artifact` a user may be offered to remove: its own, not those naming a subject."""
    return [t for t in artifact.tags if not names_subject(t, artifact.is_index) and repo.tags.get(t) == artifact.digest]


def execute_untag(plan: UntagPlan, store: Store, audit_log: Path | None = None) -> UntagResult:
    """Remove the tag under the store's session; StalePlanError when the fresh state differs,
    StoreError when the source cannot (or failed to) remove it."""
    if not plan.allowed:
        raise BadInputError(f"refusing to execute a refused untag: {plan.refusal_text()}")
    refusal = store.untag_refusal(plan.repository)
    if refusal is not None:  # an operational limit of the source, as deletion disabled is
        raise StoreError(refusal)
    error: str | None = None
    with store.session({plan.repository}) as session:
        fresh = session.current()
        _refuse_if_stale(plan, fresh)
        deletion = session.begin(fresh)
        try:
            deletion.untag(plan.repository, plan.tag)
            deletion.commit()
        except OcitreeError as exc:
            error = str(exc)
    done = (plan.repository, plan.tag) in deletion.durable.untagged
    result = UntagResult(completed=done, untagged=[plan.reference] if done else [], error=error)
    if audit_log is not None:
        try:
            append_untag_record(audit_log, plan, result)
            result.audit_log = str(audit_log)
        except OSError:
            result.audit_log = None  # the caller warns that the record is missing
    if error is not None and not done:
        raise StoreError(error)
    return result


def _refuse_if_stale(plan: UntagPlan, fresh: Registry) -> None:
    try:
        now = plan_untag(fresh, plan.repository, plan.tag, plan.protect)
    except UnknownReferenceError:
        raise StalePlanError(f"the source changed since the plan was made: {plan.reference} is gone; nothing was untagged") from None
    if now.digest != plan.digest:
        raise StalePlanError(f"the source changed since the plan was made: {plan.reference} now names "
                             f"{short_digest(now.digest)}, not {short_digest(plan.digest)}; nothing was untagged. "
                             "Look again and run again")
    if not now.allowed:
        raise StalePlanError(f"the source changed since the plan was made: {now.refusal_text()}")
    if now.becomes_untagged != plan.becomes_untagged:
        raise StalePlanError(f"the source changed since the plan was made: {plan.reference} "
                             f"{'is now' if now.becomes_untagged else 'is no longer'} the last tag of a top-level manifest; "
                             "nothing was untagged. Look again and run again")


def append_untag_record(path: Path, plan: UntagPlan, result: UntagResult) -> None:
    """One line in the audit log, as a deletion's, with `action` saying what it was."""
    append_audit_line(path, {
        "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "user": os_user(),
        "action": "untag",
        "source": plan.source,
        "targets": [plan.reference],
        "untagged": [{"repository": plan.repository, "digest": plan.digest, "tag": plan.tag}] if result.completed else [],
        "deleted": [],
        "failed": [] if result.error is None else [{"repository": plan.repository, "digest": plan.digest,
                                                    "tags": [plan.tag], "error": result.error}],
        "result": "completed" if result.completed else "incomplete",
    })


def apply_untag(registry: Registry, repository: str, tag: str) -> None:
    """The model after the store removed the tag: the artifact loses it and the repository's graph
    is built again (the TUI updates in place, without reading the source again)."""
    repo = registry.repositories.get(repository)
    digest = repo.tags.get(tag) if repo is not None else None
    if repo is None or digest is None:
        return
    artifact = repo.artifacts[digest]
    artifact.tags = [t for t in artifact.tags if t != tag]
    registry.repositories[repository] = Repository(repository, repo.artifacts.values(), check_cycles=False)
