"""The `/` search index finds what the full scan finds, in the same order, also after a deletion."""

from __future__ import annotations

import pytest

from ocitree.sample_data.generate import Shape, generate_registry
from ocitree.tui.widgets.find_index import FindIndex
from ocitree.tui.widgets.search import find_matches


@pytest.fixture(scope="module")
def registry():
    return generate_registry(Shape(repositories=3, indexes=40, children=4, share=0.2, nesting=0.2, accessories=0.3,
                                   cosign_tags=0.5, missing=0.1), check_cycles=True)


def _queries(registry):
    repo = registry.repositories[sorted(registry.repositories)[1]]
    digests = list(repo.artifacts)
    tagged = [a for a in repo.artifacts.values() if a.tags]
    return ["app1", "APP", "release", "v1", tagged[3].tags[0], tagged[3].tags[0].upper(), digests[7][7:13],
            digests[7][7:9], "sha256:", "sha256:" + digests[9][7:10], "sha512:ab", digests[7], "sig", ".", "-", "a\nb",
            "zzzz-none", "  app2  ", "", "sha256-"]


def test_the_index_answers_like_the_scan(registry):
    index = FindIndex(registry)
    for q in _queries(registry):
        assert index.matches(q) == find_matches(registry, q), q


def test_a_deletion_is_seen_by_the_next_query(registry):
    index = FindIndex(registry)
    repo = registry.repositories[sorted(registry.repositories)[1]]
    gone = [(repo.name, d) for d, a in list(repo.artifacts.items()) if a.tags][:5]
    registry.drop_artifacts(gone)
    for q in _queries(registry):
        assert index.matches(q) == find_matches(registry, q), q
    assert not any(m.digest == gone[0][1] for m in index.matches(gone[0][1]))


def test_with_a_filter_on_the_index_keeps_what_the_scan_keeps():
    from ocitree.core.protection import parse_rules
    from ocitree.tui.widgets.filtering import SearchWords, apply_filter

    registry = generate_registry(Shape(repositories=3, indexes=30, children=3, accessories=0.3, cosign_tags=0.5), check_cycles=True)
    index = FindIndex(registry)
    for text in ("release", "app1", "signature"):
        shown = apply_filter(registry, text, SearchWords(), parse_rules([]))
        for q in _queries(registry):
            assert index.matches(q, shown) == find_matches(registry, q, shown), (text, q)
