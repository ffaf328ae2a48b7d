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


def test_the_filter_matches_each_word_against_each_artifact_s_words():
    """The filter's index (tags in one text, kinds, platforms and markers as value -> digests)
    matches what testing every word against every artifact's words matches."""
    from ocitree.core.protection import first_protected, parse_rules
    from ocitree.tui.widgets.entries import RootItems
    from ocitree.tui.widgets.filtering import SearchWords, apply_filter

    registry = generate_registry(Shape(repositories=3, indexes=30, children=3, share=0.3, nesting=0.2, accessories=0.5,
                                       cosign_tags=0.5, missing=0.1), check_cycles=True)
    rules = parse_rules(["*:release*"])
    repo = registry.repositories[sorted(registry.repositories)[0]]
    tag = next(a.tags[0] for a in repo.artifacts.values() if a.tags)
    roots = RootItems()

    def words_of(repo, digest):
        artifact = repo.artifacts[digest]
        parts = [*artifact.tags, repo.kind_of(digest)]
        parts += [str(c.platform) for a in repo.artifacts.values() for c in a.children if c.digest == digest and c.platform]
        parts += ["shared"] * repo.is_shared(digest) + ["orphaned"] * repo.is_orphaned(digest)
        if digest in roots.set_of(repo) and not artifact.plain_tags and digest not in repo.subjects:
            parts.append("untagged")
        if artifact.tags and first_protected(rules, repo.name, artifact.tags):
            parts.append("protected")
        return [p.lower() for p in parts]

    queries = ["arm64", "linux/arm64", "sbom", "signature", "shared", "untagged", "orphaned", "protected", "index",
               "image", "e", "ARM64 shared", "signature sbom", tag, tag.upper(), "zzz-none"]
    for text in queries:
        result = apply_filter(registry, text, SearchWords(), rules)
        for name, repo in registry.repositories.items():
            expected = {d for d in repo.artifacts
                        if all(w in name.lower() or any(w in p for p in words_of(repo, d)) for w in text.lower().split())}
            assert result.matched.get(name, set()) == expected, (text, name)
    assert apply_filter(registry, "arm64", SearchWords(), rules).count > 0  # the shape has what the queries look for
    assert apply_filter(registry, "signature sbom", SearchWords(), rules).count == 0
