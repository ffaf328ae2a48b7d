"""What `docker-registry garbage-collect` (distribution 2.8) removes, computed from the storage as read.

Its mark phase walks every repository's revision links; each manifest it can read marks its own
blob and every blob and manifest it references (an image: config and layers; an index: the
manifests it lists). With `--delete-untagged` a revision no tag currently points at marks nothing
(and its link is removed), so in 2.8 even the untagged children of a tagged index lose their
layers (distribution issue #3178). The sweep removes every blob file nobody marked.

So each blob's marks are counted once per (repository, revision) that marks it; a deletion
takes away the marks of the revisions it removes, and a blob whose count falls to zero is freed.
"""

from __future__ import annotations

from collections.abc import Iterable

from ...model import Artifact
from ...plan import GarbageCollectFigures
from .reader import RepositoryLinks


def _marks(digest: str, artifact: Artifact) -> set[str]:
    marks = {digest}
    marks.update(b.digest for b in artifact.blobs)
    marks.update(c.digest for c in artifact.children)
    return marks


class GarbageCollector:
    """Mark counts for both modes of garbage-collect, built once per load; questions cost O(deleted)."""

    def __init__(self, repositories: dict[str, RepositoryLinks], manifests: dict[str, Artifact], blob_sizes: dict[str, int]):
        self.blob_sizes = blob_sizes
        self.manifests = manifests
        self.tagged: dict[str, set[str]] = {}  # repository -> digests a tag points at
        self.marks_all: dict[str, int] = {}
        self.marks_tagged: dict[str, int] = {}
        self._mark_sets: dict[str, set[str]] = {}
        for name, links in repositories.items():
            tagged = set(links.tags.values())
            self.tagged[name] = tagged
            for digest in links.revisions:
                marks = self._marks_of(digest)
                for m in marks:
                    self.marks_all[m] = self.marks_all.get(m, 0) + 1
                if digest in tagged:
                    for m in marks:
                        self.marks_tagged[m] = self.marks_tagged.get(m, 0) + 1
        self.now = sum(size for d, size in blob_sizes.items() if d not in self.marks_all)
        self.now_delete_untagged = sum(size for d, size in blob_sizes.items() if d not in self.marks_tagged)

    def _marks_of(self, digest: str) -> set[str]:
        marks = self._mark_sets.get(digest)
        if marks is None:
            artifact = self.manifests.get(digest)
            marks = _marks(digest, artifact) if artifact is not None else set()  # unreadable: garbage-collect skips it
            self._mark_sets[digest] = marks
        return marks

    def after(self, deleted: Iterable[tuple[str, str]]) -> GarbageCollectFigures:
        """Figures once the revisions `deleted` (repository, digest) and their tags are gone."""
        lost_all: dict[str, int] = {}
        lost_tagged: dict[str, int] = {}
        for repository, digest in dict.fromkeys(deleted):
            marks = self._marks_of(digest)
            for m in marks:
                lost_all[m] = lost_all.get(m, 0) + 1
            if digest in self.tagged.get(repository, ()):
                for m in marks:
                    lost_tagged[m] = lost_tagged.get(m, 0) + 1
        sizes = self.blob_sizes
        freed = sum(sizes.get(m, 0) for m, n in lost_all.items() if self.marks_all.get(m, 0) == n)
        freed_untagged = sum(sizes.get(m, 0) for m, n in lost_tagged.items() if self.marks_tagged.get(m, 0) == n)
        return GarbageCollectFigures(
            reclaimable_now=self.now,
            reclaimable_now_delete_untagged=self.now_delete_untagged,
            frees=self.now + freed,
            frees_delete_untagged=self.now_delete_untagged + freed_untagged,
        )

    def forget(self, deleted: Iterable[tuple[str, str]]) -> None:
        """Take deleted revisions out of the counts (the TUI drops them without a reload); their blob
        files stay until garbage-collect, so reclaimable-now grows by what they alone marked."""
        figures = self.after(deleted)
        for repository, digest in dict.fromkeys(deleted):
            marks = self._marks_of(digest)
            for m in marks:
                self.marks_all[m] = self.marks_all.get(m, 0) - 1
            tagged = self.tagged.get(repository, set())
            if digest in tagged:
                tagged.discard(digest)
                for m in marks:
                    self.marks_tagged[m] = self.marks_tagged.get(m, 0) - 1
        self.marks_all = {m: n for m, n in self.marks_all.items() if n > 0}
        self.marks_tagged = {m: n for m, n in self.marks_tagged.items() if n > 0}
        self.now, self.now_delete_untagged = figures.frees, figures.frees_delete_untagged
