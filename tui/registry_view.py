"""RegistryView: one loaded registry and what the TUI works out from it, built anew on each load.

Everything here is kept per repository graph (a deletion replaces a repository's graph) and
lives exactly as long as the load it came from: a reload builds a new view, so nothing from an
earlier registry can leak into the next one. The load worker builds it, off the UI thread.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.text import Text

from ocitree.core.model import Artifact, Registry, Repository

from .widgets.entries import Entry, RootItems
from .widgets.filtering import FilterResult, SearchWords
from .widgets.find_index import FindIndex
from .widgets.labels import SizeCache
from .widgets.search import Match
from .widgets.details import repository_summary

if TYPE_CHECKING:  # pydantic: the planner is imported for the first preview, after the first screen (issue 10)
    from ocitree.core.plan import TargetRef

ArtifactKey = tuple[str, str]


class RegistryView:
    def __init__(self, registry: Registry, protect: Iterable[str] = ()) -> None:
        self.registry = registry
        self.protect = list(protect)
        self.rules = registry.protection_rules(self.protect)
        self.roots = RootItems()  # the rows directly under each repository
        self.sizes = SizeCache()  # total sizes, for the rows, the details and sorting by size
        self.words = SearchWords(self.roots)  # what `f` matches
        self.previews: dict[ArtifactKey, Text] = {}  # "If deleted: ..." per artifact
        self._summaries: dict[str, tuple[Repository, list[tuple[str, str]]]] = {}
        self._top_entries: dict[tuple[str, str], tuple[Repository, list[Entry]]] = {}  # (repository, order) -> rows' entries
        self._find_index: FindIndex | None = None

    def warm(self) -> None:
        """What the first expansions, cursor moves, `/` and `f` need, worked out after the first
        screen while nobody is typing (each is also worked out on demand, for one repository)."""
        import ocitree.core.planner  # noqa: F401 (pydantic and the planner, for the first preview: not before the first screen)

        for repo in list(self.registry.repositories.values()):
            self.roots.of(repo)  # tens of ms per 100,000 artifacts
            self.summary(repo)
        self.find_index()
        for repo in list(self.registry.repositories.values()):
            self.words.of(repo, self.rules)

    def summary(self, repo: Repository) -> list[tuple[str, str]]:
        """Counts for a repository row: walking 100,000 artifacts on every cursor move over
        the repository rows would cost tens of ms."""
        cached = self._summaries.get(repo.name)
        if cached is not None and cached[0] is repo:
            return cached[1]
        summary = repository_summary(repo)
        self._summaries[repo.name] = (repo, summary)
        return summary

    def top_entries(self, repo: Repository, order: str, digests: list[str]) -> list[Entry]:
        """The rows' entries of a repository's top level (`digests`, in `order`), made once per
        graph and order and reused by every rebuild, filtered or not: making 9,000 per Enter
        in the filter bar cost ~10 ms and left as many objects for the garbage collector to
        walk. The tree starts their items over when it rebuilds (RegistryTree._reset_rows)."""
        cached = self._top_entries.get((repo.name, order))
        if cached is not None and cached[0] is repo:
            return cached[1]
        entries = [Entry("artifact", repo.name, d) for d in digests]
        self._top_entries[(repo.name, order)] = (repo, entries)
        return entries

    def find_index(self) -> FindIndex:
        index = self._find_index
        if index is None:
            index = self._find_index = FindIndex(self.registry, self.roots)
        return index

    def find(self, query: str, shown: FilterResult | None = None) -> list[Match]:
        return self.find_index().matches(query, shown)

    def preview(self, key: ArtifactKey) -> Text:
        """The one-line plan summary the details pane shows for deleting `key` alone."""
        from ocitree.core.planner import plan_deletion

        plan = plan_deletion(self.registry, [target_ref(key)], self.protect)
        text = Text(plan.summary(), "bold" if plan.allowed else "bold reverse")
        self.previews[key] = text
        return text

    def drop_artifacts(self, keys: list[ArtifactKey]) -> set[str]:
        """After a deletion: the model without `keys`; returns the repositories that changed."""
        repositories = self.registry.drop_artifacts(keys)
        self.previews.clear()
        return repositories

    def restore_artifacts(self, artifacts: list[Artifact]) -> set[str]:
        """After an undo: the model with `artifacts` back; returns the repositories that changed."""
        repositories = self.registry.restore_artifacts(artifacts)
        self.previews.clear()
        return repositories


def target_ref(key: ArtifactKey) -> TargetRef:
    """An artifact as the planner's target, named by digest."""
    repository, digest = key
    from ocitree.core.plan import TargetRef

    return TargetRef(repository=repository, digest=digest, reference=f"{repository}@{digest}")
