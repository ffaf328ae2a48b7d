"""The in-memory model: artifacts, and each repository's reference graph.

Artifacts are slotted dataclasses rather than pydantic models: a registry of a
million artifacts must fit in memory and build in seconds. Validation happens
where data enters (core.manifest, the stores); the graph trusts its input.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from itertools import filterfalse

from . import media_types as mt
from .blob_scope import BlobScope
from .errors import MalformedDataError, UnknownReferenceError
from .names import short_digest
from .protection import ProtectionRule, parse_rules
from .references import Reference
from .tag_schemes import cosign_subject, fallback_subject, is_fallback_tag, plain_tags

__all__ = ["Artifact", "BlobRef", "ChildRef", "PlatformInfo", "Registry", "Repository", "CYCLE", "ORPHANED",
           "is_fallback_tag", "used_digests"]

# What is odd about an artifact the top level does not lead to (Repository.detached).
ORPHANED = "orphaned accessory"
CYCLE = "accessory cycle"


@dataclass(frozen=True, slots=True)
class PlatformInfo:
    os: str
    architecture: str
    variant: str | None = None

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        return f"{text}/{self.variant}" if self.variant else text


@dataclass(frozen=True, slots=True)
class ChildRef:
    """One entry of an index's manifests[]."""

    digest: str
    media_type: str
    size: int
    platform: PlatformInfo | None = None
    annotations: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class BlobRef:
    """A config or layer blob an image manifest uses."""

    digest: str
    size: int
    media_type: str = ""


@dataclass(slots=True)
class Artifact:
    repository: str
    digest: str
    media_type: str
    size: int
    children: tuple[ChildRef, ...] = ()
    blobs: tuple[BlobRef, ...] = ()
    subject: str | None = None
    artifact_type: str | None = None
    config_media_type: str | None = None
    annotations: dict[str, str] | None = None
    tags: list[str] = field(default_factory=list)
    created: float | None = None  # POSIX seconds from the image config, when the store read it (core.dates)

    @property
    def is_index(self) -> bool:
        return self.media_type in mt.INDEX_TYPES

    @property
    def kind(self) -> mt.ArtifactKind:
        """index, image or artifact (an accessory's own kind comes from the graph)."""
        if self.is_index:
            return "index"
        if self.artifact_type is None and (self.config_media_type is None or self.config_media_type in mt.IMAGE_CONFIG_TYPES):
            return "image"  # no config known (a declared manifest) counts as an image
        return "artifact"

    @property
    def plain_tags(self) -> list[str]:
        """Its tags but those naming a subject (core.tag_schemes): the ones views list as its tags."""
        return plain_tags(self.tags, self.is_index)

    @property
    def total_size(self) -> int:
        return self.size + sum(b.size for b in self.blobs)

    def platform_of(self, digest: str) -> str | None:
        """The platform this index lists `digest` with, `os/arch[/variant]`; None where it states none."""
        for child in self.children:
            if child.digest == digest and child.platform is not None:
                return str(child.platform)
        return None

    def label(self) -> str:
        """`repo:tag` or `repo@sha256:abc…` for messages."""
        if self.tags:
            return f"{self.repository}:{self.tags[0]}"
        return f"{self.repository}@{short_digest(self.digest)}"


class Repository:
    """One repository's reference graph. Built in linear time; lookups are O(1)."""

    __slots__ = ("name", "artifacts", "tags", "parents", "with_children", "accessories", "subjects", "accessory_kinds",
                 "blob_users", "leftover_blobs")

    def __init__(self, name: str, artifacts: Iterable[Artifact], check_cycles: bool = True):
        self.name = name
        self.artifacts: dict[str, Artifact] = {a.digest: a for a in artifacts}
        self.tags: dict[str, str] = {}
        self.parents: dict[str, list[str]] = {}
        #: the artifacts whose manifests[] lists something (parents' other side, as a set: the planner
        #: finds the indexes among hundreds of thousands of artifacts without reading each one)
        self.with_children: set[str] = set()
        self.accessories: dict[str, list[str]] = {}
        self.subjects: dict[str, list[str]] = {}
        self.accessory_kinds: dict[str, mt.AccessoryKind] = {}
        self.blob_users: dict[str, int] = {}
        #: blob digest -> size of stored blobs nothing uses (an OCI layout's, set by its store)
        self.leftover_blobs: dict[str, int] = {}
        parents = self.parents
        blob_users = self.blob_users
        indexes = self.with_children
        for artifact in self.artifacts.values():
            for tag in artifact.tags:
                self.tags[tag] = artifact.digest
            if artifact.children:
                indexes.add(artifact.digest)
                seen: set[str] = set()
                for child in artifact.children:
                    if child.digest not in seen:
                        seen.add(child.digest)
                        parents.setdefault(child.digest, []).append(artifact.digest)
            for blob in {b.digest for b in artifact.blobs}:
                blob_users[blob] = blob_users.get(blob, 0) + 1
            if artifact.subject:
                self._add_accessory(artifact.subject, artifact.digest)
                self.accessory_kinds[artifact.digest] = mt.accessory_kind(
                    artifact.artifact_type, artifact.config_media_type, None, tuple([b.media_type for b in artifact.blobs if b.media_type]))
        for tag, digest in self.tags.items():
            cosign = cosign_subject(tag)
            if cosign is not None:
                self._add_accessory(cosign[0], digest)
                self.accessory_kinds[digest] = mt.accessory_kind(None, None, cosign[1])
            elif self.artifacts[digest].is_index and (subject := fallback_subject(tag)) is not None:
                self._add_accessory(subject, digest)
                self.accessory_kinds[digest] = mt.REFERRERS
        # A cycle passes through an index that an index lists: most repositories have none, and
        # then the walk of every index's children is skipped.
        if check_cycles and any(digest in parents for digest in indexes):
            self._check_cycles()

    def _add_accessory(self, subject: str, accessory: str) -> None:
        if subject == accessory:
            return
        lst = self.accessories.setdefault(subject, [])
        if accessory not in lst:
            lst.append(accessory)
            self.subjects.setdefault(accessory, []).append(subject)

    def _check_cycles(self) -> None:
        """Reject an index that (through children) lists itself: content addressing makes
        that impossible in a real registry, so it can only be a hand-written mistake."""
        state: dict[str, int] = {}  # 1 = on the current path, 2 = done
        for root, artifact in self.artifacts.items():
            if not artifact.children or state.get(root):
                continue
            stack: list[tuple[str, int]] = [(root, 0)]
            path: list[str] = [root]
            state[root] = 1
            while stack:
                digest, i = stack[-1]
                children = self.artifacts[digest].children
                if i >= len(children):
                    stack.pop()
                    path.pop()
                    state[digest] = 2
                    continue
                stack[-1] = (digest, i + 1)
                child = children[i].digest
                if child not in self.artifacts:
                    continue
                mark = state.get(child)
                if mark == 1:
                    cycle = path[path.index(child):] + [child]
                    shown = " -> ".join(short_digest(d) for d in cycle)
                    raise MalformedDataError(f"repository {self.name}: reference cycle {shown}; an index cannot list itself")
                if mark is None:
                    state[child] = 1
                    stack.append((child, 0))
                    path.append(child)

    # Lookups the planner and the TUI use -------------------------------------------------

    def parents_of(self, digest: str) -> list[str]:
        return self.parents.get(digest, [])

    def accessories_of(self, digest: str) -> list[str]:
        return self.accessories.get(digest, [])

    def is_shared(self, digest: str) -> bool:
        return len(self.parents.get(digest, ())) > 1

    def is_accessory(self, digest: str) -> bool:
        return digest in self.subjects

    def kind_of(self, digest: str) -> mt.ArtifactKind | mt.AccessoryKind:
        """What every view and the plan call an artifact here: its accessory kind (signature, sbom,
        attestation, referrers, accessory) if it describes another, else index, image or artifact."""
        artifact = self.artifacts[digest]
        if digest in self.subjects:
            return self.accessory_kinds.get(digest, mt.ACCESSORY)
        return artifact.kind

    def platform_under(self, parent: str | None, digest: str) -> str | None:
        """The platform the index `parent` lists `digest` with (None: no parent, or none stated)."""
        index = self.artifacts.get(parent) if parent is not None else None
        return index.platform_of(digest) if index is not None else None

    def listed_platform(self, digest: str) -> str | None:
        """The first platform an index holding `digest` lists it with, as its tree row shows."""
        for parent in self.parents.get(digest, ()):
            platform = self.platform_under(parent, digest)
            if platform is not None:
                return platform
        return None

    def is_top_level(self, digest: str) -> bool:
        """No index lists it and it describes no other artifact: a row of its own under the repository."""
        return digest not in self.parents and digest not in self.subjects

    def top_level_in_order(self) -> Iterator[Artifact]:
        """The artifacts is_top_level holds, in the source's order. Its test as two C-level filters:
        a prune reads every artifact of the registry here."""
        arts = self.artifacts
        return map(arts.__getitem__, filterfalse(self.subjects.__contains__, filterfalse(self.parents.__contains__, arts)))

    def top_level(self) -> list[Artifact]:
        """Artifacts no index lists and that are not accessories, tagged ones first."""
        items = list(self.top_level_in_order())
        items.sort(key=lambda a: (not a.tags, a.tags[0] if a.tags else a.digest))
        return items

    def detached(self, top: list[Artifact] | None = None) -> list[tuple[Artifact, str]]:
        """Artifacts that the top level does not lead to (through children and accessories), each
        with what is odd about it: ORPHANED, an accessory whose subject is gone (a signature left
        after another tool deleted its image), or CYCLE, accessories whose subjects are each other
        (cosign tags naming each other). Views list them under the repository, so that every
        artifact the source holds is shown. One per group: the rest hang under it."""
        if not self.subjects:
            return []  # without accessories, every artifact is top level or under an index
        reached: set[str] = set()
        artifacts = self.artifacts
        accessories = self.accessories

        def reach(digest: str) -> None:
            stack = [digest]
            while stack:
                d = stack.pop()
                artifact = artifacts.get(d)
                if artifact is None or d in reached:  # a missing child or subject is never reached
                    continue
                reached.add(d)
                for child in artifact.children:  # no generators: this walks every artifact of a listing
                    stack.append(child.digest)
                stack += accessories.get(d, ())

        for artifact in self.top_level() if top is None else top:
            reach(artifact.digest)
        if len(reached) == len(artifacts):
            return []
        out: list[tuple[Artifact, str]] = []
        rest = sorted((a for d, a in artifacts.items() if d not in reached),
                      key=lambda a: (not a.tags, a.tags[0] if a.tags else a.digest))
        for artifact in rest:  # orphans first: each leads to what hangs under it
            if artifact.digest not in reached and self.is_orphaned(artifact.digest):
                out.append((artifact, ORPHANED))
                reach(artifact.digest)
        for artifact in sorted(rest, key=lambda a: a.digest in self.parents):  # an index before what it lists
            if artifact.digest not in reached:
                out.append((artifact, CYCLE))
                reach(artifact.digest)
        return out

    def present_subjects(self, digest: str) -> list[str]:
        """The subjects an accessory names that this repository holds."""
        return [s for s in self.subjects.get(digest, ()) if s in self.artifacts]

    def is_orphaned(self, digest: str) -> bool:
        """An accessory no index lists whose subjects are all gone: it describes nothing any more
        (a signature left after another tool deleted its image)."""
        return digest in self.subjects and digest not in self.parents and not self.present_subjects(digest)

    def missing_subjects(self, digest: str) -> list[str]:
        """The subjects an accessory names that this repository does not hold."""
        return [s for s in self.subjects.get(digest, ()) if s not in self.artifacts]


def _uses(repo: Repository, digest: str) -> bool:
    """`digest in used_digests(repo)`, without building the set."""
    return digest in repo.artifacts or digest in repo.blob_users or digest in repo.parents


def used_digests(repo: Repository) -> set[str]:
    """Every digest the repository's artifacts use: as a manifest, an index entry, a config or a layer."""
    used = set(repo.artifacts)
    used.update(repo.blob_users)
    used.update(repo.parents)
    return used


class Registry:
    """Every repository a source holds."""

    __slots__ = ("source", "repositories", "protect", "blob_scope", "shared_digests")

    def __init__(self, source: str, repositories: Iterable[Repository], protect: Iterable[str] = (),
                 blob_scope: BlobScope | None = None):
        self.source = source
        self.repositories: dict[str, Repository] = {r.name: r for r in repositories}
        self.protect: list[str] = list(protect)  # protection patterns the source itself carries
        self.blob_scope = blob_scope or BlobScope()
        #: blob store -> digest -> number of repositories using it, for digests two or more use;
        #: built by core.reclaim on the first plan, kept up to date by drop_artifacts
        self.shared_digests: dict[str, dict[str, int]] | None = None

    def protection_patterns(self, given: Iterable[str] = ()) -> list[str]:
        """The protection patterns in force: those `given` (command line, config file) first, then
        the ones the source carries, each once."""
        return list(dict.fromkeys([*given, *self.protect]))

    def protection_rules(self, given: Iterable[str] = ()) -> tuple[ProtectionRule, ...]:
        """protection_patterns, parsed (BadInputError for a bad one)."""
        return parse_rules(self.protection_patterns(given))

    @property
    def artifact_count(self) -> int:
        return sum(len(r.artifacts) for r in self.repositories.values())

    def drop_artifacts(self, removed: Iterable[tuple[str, str]]) -> set[str]:
        """Forget deleted artifacts `(repository, digest)` and rebuild only the graphs of
        the repositories they were in (the TUI updates in place after a deletion).
        Returns the names of the repositories rebuilt."""
        by_repo: dict[str, set[str]] = {}
        for repository, digest in removed:
            by_repo.setdefault(repository, set()).add(digest)
        for name, digests in by_repo.items():
            repo = self.repositories.get(name)
            if repo is not None:
                kept = (a for d, a in repo.artifacts.items() if d not in digests)
                self.repositories[name] = rebuilt = Repository(name, kept, check_cycles=False)
                rebuilt.leftover_blobs = repo.leftover_blobs  # still unused: nothing that went used them
                if self.shared_digests is not None:
                    self._forget_shared(repo, rebuilt)
        return set(by_repo)

    def restore_artifacts(self, restored: Iterable[Artifact]) -> set[str]:
        """The inverse of drop_artifacts: put artifacts back (an undo restored them) and rebuild only
        the graphs of their repositories. One the repository already holds under that digest is
        replaced; a tag a restored artifact carries is taken from whatever artifact holds it now (an
        undo with --retag moved it back). Returns the names of the repositories rebuilt."""
        by_repo: dict[str, dict[str, Artifact]] = {}
        for artifact in restored:
            by_repo.setdefault(artifact.repository, {})[artifact.digest] = artifact
        for name, artifacts in by_repo.items():
            repo = self.repositories.get(name)
            if repo is None:  # a repository that was never loaded: where its blobs live is not counted yet
                self.repositories[name] = Repository(name, artifacts.values(), check_cycles=False)
                self.shared_digests = None
                continue
            taken = {tag for artifact in artifacts.values() for tag in artifact.tags}
            kept = (a if not taken.intersection(a.tags) else replace(a, tags=[t for t in a.tags if t not in taken])
                    for d, a in repo.artifacts.items() if d not in artifacts)
            rebuilt = Repository(name, [*kept, *artifacts.values()], check_cycles=False)
            used = used_digests(rebuilt)
            rebuilt.leftover_blobs = {d: n for d, n in repo.leftover_blobs.items() if d not in used}
            self.repositories[name] = rebuilt
            self._count_restored(repo, rebuilt, used)
        return set(by_repo)

    def _count_restored(self, before: Repository, after: Repository, still: set[str]) -> None:
        """Digests `after` uses and `before` did not count one repository more (where another
        repository of the same blob store uses them too)."""
        shared = self.shared_digests
        if shared is None:  # not counted yet
            return
        domain = self.blob_scope.domain
        for digest in still - used_digests(before):
            store = domain(after.name, digest)
            counts = shared.get(store)
            n = counts.get(digest) if counts is not None else None
            if counts is not None and n is not None:
                counts[digest] = n + 1
                continue
            # not shared before: it is now if another repository of that store uses it
            if any(other is not after and domain(other.name, digest) == store and _uses(other, digest)
                   for other in self.repositories.values()):
                shared.setdefault(store, {})[digest] = 2

    def _forget_shared(self, before: Repository, after: Repository) -> None:
        """Digests `before` used and `after` no longer does count one repository less."""
        shared = self.shared_digests
        if shared is None:  # not counted yet
            return
        still = used_digests(after)
        for digest in used_digests(before) - still:
            counts = shared.get(self.blob_scope.domain(before.name, digest), {})
            n = counts.get(digest)
            if n is not None:
                if n > 2:
                    counts[digest] = n - 1
                else:
                    del counts[digest]

    def resolve(self, ref: Reference) -> Artifact:
        repo = self.repositories.get(ref.repository)
        if repo is None:
            names = sorted(self.repositories)
            hint = f" (repositories: {', '.join(names[:5])}{', ...' if len(names) > 5 else ''})" if names else ""
            raise UnknownReferenceError(f"no repository {ref.repository!r} in {self.source}{hint}")
        if ref.digest and ref.is_prefix:
            return repo.artifacts[_by_prefix(repo, ref.digest)]
        if ref.digest:
            artifact = repo.artifacts.get(ref.digest)
            if artifact is None:
                raise UnknownReferenceError(f"no manifest {ref.digest} in repository {ref.repository}")
            return artifact
        digest = repo.tags.get(ref.tag or "")
        if digest is None:
            tags = sorted(repo.tags)
            hint = f" (tags: {', '.join(tags[:8])}{', ...' if len(tags) > 8 else ''})" if tags else " (it has no tags)"
            raise UnknownReferenceError(f"no tag {ref.tag!r} in repository {ref.repository}{hint}")
        return repo.artifacts[digest]


AMBIGUOUS_SHOWN = 5  # candidates an ambiguous-prefix message names


def _by_prefix(repo: Repository, prefix: str) -> str:
    """The one digest in `repo` starting with `prefix`; a clear error for none or several."""
    found = [d for d in repo.artifacts if d.startswith(prefix)]
    if not found:
        raise UnknownReferenceError(f"no manifest whose digest starts with {prefix} in repository {repo.name}")
    if len(found) > 1:
        found.sort()
        shown = ", ".join(found[:AMBIGUOUS_SHOWN]) + (f" and {len(found) - AMBIGUOUS_SHOWN} more" if len(found) > AMBIGUOUS_SHOWN else "")
        raise UnknownReferenceError(
            f"digest prefix {prefix} is ambiguous in repository {repo.name}: it starts {len(found)} digests ({shown}); give more hex digits"
        )
    return found[0]
