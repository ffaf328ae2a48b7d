"""The reference graph each repository builds: parents, sharing, accessories, top level, cycles,
and the messages a user sees when a REF names nothing."""

from __future__ import annotations

import pytest

from ocitree.core import media_types as mt
from ocitree.core.errors import MalformedDataError, UnknownReferenceError
from ocitree.core.model import Artifact, BlobRef, ChildRef, Registry, Repository
from ocitree.core.references import parse_reference
from ocitree.core.stores.sample import registry_from_sample
from ocitree.core.stores.sample_format import SampleFile
from ocitree.sample_data.builder import RegistryBuilder

R = "team/app"


def digest(n: int) -> str:
    return f"sha256:{n:012x}{'e' * 52}"  # the number shows in short digests


def image(n: int, tags=(), blobs=(), subject=None, artifact_type=None) -> Artifact:
    return Artifact(R, digest(n), mt.OCI_MANIFEST, 500, blobs=tuple(blobs), subject=subject,
                    artifact_type=artifact_type, config_media_type=mt.OCI_CONFIG, tags=list(tags))


def index(n: int, children: list[int], tags=()) -> Artifact:
    return Artifact(R, digest(n), mt.OCI_INDEX, 300, children=tuple(ChildRef(digest(c), mt.OCI_MANIFEST, 500) for c in children),
                    tags=list(tags))


def load(builder: RegistryBuilder) -> Registry:
    return registry_from_sample(SampleFile.model_validate(builder.to_sample()), "test.json")


def test_parents_are_counted_once_per_index_and_sharing_follows():
    repo = Repository(R, [image(1), image(2), index(10, [1, 1, 2]), index(11, [2])])
    assert repo.parents_of(digest(1)) == [digest(10)]
    assert repo.parents_of(digest(2)) == [digest(10), digest(11)]
    assert not repo.is_shared(digest(1)) and repo.is_shared(digest(2))
    assert repo.parents_of(digest(10)) == []


def test_with_children_holds_what_lists_something_and_follows_a_rebuild():
    empty = Artifact(R, digest(12), mt.OCI_INDEX, 100)  # an index that lists nothing
    registry = Registry("test", [Repository(R, [image(1), image(2), index(10, [1, 1, 3]), index(11, [2]), empty])])
    assert registry.repositories[R].with_children == {digest(10), digest(11)}  # a missing child still counts
    registry.drop_artifacts([(R, digest(11))])
    assert registry.repositories[R].with_children == {digest(10)}


def test_accessories_from_subject_fields_and_cosign_tags():
    b = RegistryBuilder()
    m = b.image(R, ["v1"])
    sig = b.accessory(R, m, "signature", cosign_tag=False)
    sbom = b.accessory(R, m, "sbom", cosign_tag=False)
    att = b.accessory(R, m, "attestation", use_subject_field=False)  # found by its sha256-<hex>.att tag only
    both = b.accessory(R, sbom, "signature")  # subject field and cosign tag name the same subject
    repo = load(b).repositories[R]
    assert repo.accessories_of(m.digest) == [sig.digest, sbom.digest, att.digest]
    assert repo.accessories_of(sbom.digest) == [both.digest]
    assert repo.subjects[both.digest] == [sbom.digest]
    kinds = {d: repo.accessory_kinds[d] for d in (sig.digest, sbom.digest, att.digest, both.digest)}
    assert kinds == {sig.digest: "signature", sbom.digest: "sbom", att.digest: "attestation", both.digest: "signature"}
    assert repo.is_accessory(att.digest) and not repo.is_accessory(m.digest)


def test_referrers_fallback_tag_only_counts_on_an_index():
    b = RegistryBuilder()
    m = b.image(R, ["v1"])
    sig = b.accessory(R, m, "signature", cosign_tag=False)
    fallback = b.index(R, [sig], [m.digest.replace(":", "-")])
    plain = b.image(R, ["sha256-" + "f" * 64], arch="arm64")  # an image with such a tag is no referrers index
    repo = load(b).repositories[R]
    assert repo.accessory_kinds[fallback.digest] == "referrers"
    assert fallback.digest in repo.accessories_of(m.digest)
    assert not repo.is_accessory(plain.digest)


def test_top_level_leaves_out_children_and_accessories_and_puts_tagged_first():
    b = RegistryBuilder()
    a = b.image(R, arch="amd64")
    untagged_top = b.image(R, arch="arm64")
    top = b.index(R, [a], ["zeta"])
    b.accessory(R, top)
    alpha = b.image(R, ["alpha"], arch="s390x")
    repo = load(b).repositories[R]
    assert [x.digest for x in repo.top_level()] == [alpha.digest, top.digest, untagged_top.digest]


def test_cycle_is_rejected_with_its_path_and_a_missing_child_is_not_a_cycle():
    with pytest.raises(MalformedDataError, match=r"reference cycle sha256:00000000000a -> sha256:00000000000b -> sha256:00000000000a"):
        Repository(R, [index(10, [11]), index(11, [10])])
    with pytest.raises(MalformedDataError, match="an index cannot list itself"):
        Repository(R, [index(10, [1]), image(1), index(12, [12])])
    repo = Repository(R, [index(10, [99, 1]), image(1), index(11, [10, 99])])
    assert repo.parents_of(digest(99)) == [digest(10), digest(11)]
    Repository(R, [index(10, [11]), index(11, [10])], check_cycles=False)  # generated data skips the walk


def test_deep_nesting_does_not_hit_the_recursion_limit():
    chain = [image(0)] + [index(n, [n - 1]) for n in range(1, 5000)]
    repo = Repository(R, chain)
    assert repo.parents_of(digest(0)) == [digest(1)]


def test_blob_users_count_artifacts_not_mentions():
    layer = BlobRef(digest(500), 1000)
    repo = Repository(R, [image(1, blobs=[layer, layer]), image(2, blobs=[layer])])
    assert repo.blob_users[layer.digest] == 2


def test_kinds_sizes_and_labels():
    b = RegistryBuilder()
    m = b.image(R, ["v1"], layer_sizes=(100, 200))
    sig = b.accessory(R, m)
    i = b.index(R, [m])
    arts = load(b).repositories[R].artifacts
    assert (arts[m.digest].kind, arts[i.digest].kind, arts[sig.digest].kind) == ("image", "index", "artifact")
    config_size = len(b.blob_data(b.blobs_of(m)[0]))
    assert arts[m.digest].total_size == m.size + config_size + 300
    assert arts[m.digest].label() == f"{R}:v1"
    assert arts[i.digest].label() == f"{R}@{i.digest[:19]}"


def test_unknown_references_say_what_there_is():
    repos = [Repository(f"team/r{n}", [image(n, [f"t{n}"])]) for n in range(7)]
    registry = Registry("src.json", repos)
    with pytest.raises(UnknownReferenceError) as caught:
        registry.resolve(parse_reference("team/nope:v1"))
    assert str(caught.value) == "no repository 'team/nope' in src.json (repositories: team/r0, team/r1, team/r2, team/r3, team/r4, ...)"
    with pytest.raises(UnknownReferenceError, match=r"no tag 'v9' in repository team/r1 \(tags: t1\)"):
        registry.resolve(parse_reference("team/r1:v9"))
    empty = Registry("src.json", [Repository(R, [image(1)])])
    with pytest.raises(UnknownReferenceError, match=r"\(it has no tags\)"):
        empty.resolve(parse_reference(f"{R}:v1"))
    assert registry.resolve(parse_reference(f"team/r2@{digest(2)}")).tags == ["t2"]


def test_drop_artifacts_rebuilds_only_the_affected_graphs():
    untouched = Repository("team/other", [image(7)])
    registry = Registry("src.json", [Repository(R, [image(1), image(2), index(10, [1, 2])]), untouched])
    assert registry.drop_artifacts([(R, digest(10)), (R, digest(1))]) == {R}
    repo = registry.repositories[R]
    assert set(repo.artifacts) == {digest(2)}
    assert repo.parents_of(digest(2)) == []  # the deleted index no longer counts as a parent
    assert registry.repositories["team/other"] is untouched


def test_names_with_a_trailing_newline_are_invalid():
    from ocitree.core.names import is_digest, is_repository_name, is_tag

    assert not is_tag("v1\n") and is_tag("v1")
    assert not is_repository_name("team/app\n") and is_repository_name("team/app")
    assert not is_digest("sha256:" + "a" * 64 + "\n") and is_digest("sha256:" + "a" * 64)


def test_a_unique_digest_prefix_of_8_or_more_hex_resolves_within_its_repository():
    near = f"sha256:{1:012x}{'f' * 52}"  # shares its first 12 hex digits with digest(1)
    repo = Repository(R, [image(1, ["t1"]), Artifact(R, near, mt.OCI_MANIFEST, 500, tags=["near"]), image(0x22)])
    other = Repository("team/other", [Artifact("team/other", f"sha256:{0x22:012x}{'a' * 52}", mt.OCI_MANIFEST, 500)])
    registry = Registry("src.json", [repo, other])
    assert registry.resolve(parse_reference(f"{R}@sha256:{0x22:012x}")).digest == digest(0x22)
    assert registry.resolve(parse_reference(f"{R}@sha256:{1:012x}e")).tags == ["t1"]
    # The other repository's artifact with the same prefix does not make it ambiguous.
    assert registry.resolve(parse_reference(f"team/other@sha256:{0x22:012x}")).repository == "team/other"
    with pytest.raises(UnknownReferenceError) as caught:
        registry.resolve(parse_reference(f"{R}@sha256:{1:012x}"))
    message = str(caught.value)
    assert message.count("\n") == 0 and "ambiguous" in message
    assert digest(1) in message and near in message
    with pytest.raises(UnknownReferenceError, match=r"no manifest whose digest starts with sha256:0123456789ab in repository team/app"):
        registry.resolve(parse_reference(f"{R}@sha256:0123456789ab"))


@pytest.mark.parametrize("text", [f"{R}@sha256:abc1234", f"{R}@sha256:ABCDEF0123", f"{R}@sha256:xyz12345678", f"{R}@sha256:"])
def test_a_digest_prefix_needs_8_lowercase_hex(text):
    from ocitree.core.errors import BadInputError

    with pytest.raises(BadInputError, match="at least 8"):
        parse_reference(text)
