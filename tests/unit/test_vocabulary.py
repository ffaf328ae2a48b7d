"""One vocabulary: what a tag, a kind, a platform, a protection rule, a short digest and a size
are is said once in core, so the tree, the details, the plan screens and `ocitree ls` say the
same thing about the same artifact. Each test here fails if one view again decides on its own."""

from __future__ import annotations

import pytest

from ocitree.core import media_types as mt
from ocitree.core.model import ORPHANED, Registry
from ocitree.core.names import short_digest, short_hex
from ocitree.core.planner import plan_deletion, resolve_targets
from ocitree.core.sizes import human_bytes, size_label, total_size
from ocitree.core.stores.sample import registry_from_sample
from ocitree.core.stores.sample_format import SampleFile
from ocitree.core.tag_schemes import (cosign_subject, cosign_tag, fallback_subject, fallback_tag, names_subject,
                                      shortened_tag)
from ocitree.sample_data.builder import RegistryBuilder
from ocitree.tui.ls_output import display_tag, registry_json, size_text
from ocitree.tui.registry_view import RegistryView
from ocitree.tui.screens.plan_view import plan_text
from ocitree.tui.widgets.details import details_text
from ocitree.tui.widgets.entries import Entry
from ocitree.tui.widgets.filtering import SearchWords
from ocitree.tui.widgets.labels import RowStyles, SizeCache, row_text

R = "team/app"
H64 = "0123456789abcdef" * 4
H128 = H64 * 2


def load(builder: RegistryBuilder, protect: list[str] | None = None) -> Registry:
    sample = builder.to_sample()
    if protect:
        sample["protect"] = protect
    return registry_from_sample(SampleFile.model_validate(sample), "test.json")


def row(registry: Registry, digest: str, rules=()) -> str:
    return row_text(registry, Entry("artifact", R, digest), RowStyles(), rules, SizeCache()).plain


def signed_release() -> tuple[RegistryBuilder, dict[str, str]]:
    """An image with a cosign signature, an attestation found by its subject field, a fallback
    referrers index, and images whose tags only look like digest tags."""
    b = RegistryBuilder()
    image = b.image(R, ["v1"], arch="amd64")
    signature = b.accessory(R, image, "signature")  # subject field and cosign tag
    attestation = b.accessory(R, image, "attestation", cosign_tag=False)
    referrers = b.index(R, [attestation], [fallback_tag(image.digest)])
    digest_tagged = b.image(R, ["sha256-" + "f" * 64], arch="arm64")  # the fallback tag shape, on an image
    long_tagged = b.image(R, ["sha256-" + "x" * 70], arch="s390x")  # neither scheme: not hex
    odd_suffix = b.image(R, ["sha256-" + H64 + ".tar"], arch="ppc64le")  # not a cosign suffix
    names = {"image": image.digest, "signature": signature.digest, "attestation": attestation.digest,
             "referrers": referrers.digest, "digest_tagged": digest_tagged.digest, "long_tagged": long_tagged.digest,
             "odd_suffix": odd_suffix.digest}
    return b, names


def test_a_tag_is_left_out_of_a_row_exactly_when_the_model_reads_it_as_naming_a_subject():
    # The tree once hid every `sha256-…` tag longer than 70 characters, while the model reads
    # `sha256-<hex>` as a subject only on an index: an image tagged so showed as `untagged`
    # (and matched the `untagged` filter) though the planner counts its tag.
    registry = load(signed_release()[0])
    repo = registry.repositories[R]
    words = SearchWords().of(repo, ())
    untagged = words.containing("untagged")
    for digest, artifact in repo.artifacts.items():
        text = row(registry, digest)
        for tag in artifact.tags:
            read_as_subject = digest in repo.subjects and tag not in artifact.plain_tags
            assert (display_tag(tag) in text) is not read_as_subject, (tag, text)
        if artifact.plain_tags:
            assert "untagged" not in text and digest not in untagged
    names = signed_release()[1]
    assert repo.kind_of(names["referrers"]) == "referrers" and repo.kind_of(names["signature"]) == "signature"
    for name in ("digest_tagged", "long_tagged", "odd_suffix"):
        assert not repo.is_accessory(names[name])
        assert repo.artifacts[names[name]].plain_tags == repo.artifacts[names[name]].tags


def test_the_details_pane_titles_an_image_by_its_digest_shaped_tag():
    registry = load(signed_release()[0])
    digest = signed_release()[1]["digest_tagged"]
    title = details_text(RegistryView(registry), Entry("artifact", R, digest), None, []).plain.splitlines()[0]
    assert title == "image " + "sha256-" + "f" * 64


@pytest.mark.parametrize("tag, shown", [
    (f"sha256-{H64}.sig", f"sha256-{H64[:12]}….sig"),
    (f"sha256-{H64}", f"sha256-{H64[:12]}…"),  # a referrers fallback tag
    (f"sha512-{H128}.att", f"sha512-{H64[:12]}….att"),
    ("sha256-" + "x" * 70, "sha256-" + "x" * 70),  # shortening it could show two different tags alike
    (f"sha256-{H64}.tar", f"sha256-{H64}.tar"),
    ("v1.2", "v1.2"),
])
def test_only_digest_named_tags_are_shortened(tag, shown):
    assert shortened_tag(tag) == display_tag(tag) == shown


@pytest.mark.parametrize("kind, suffix", [("signature", "sig"), ("attestation", "att"), ("sbom", "sbom")])
def test_a_cosign_tag_reads_back_as_the_subject_and_kind_it_was_written_for(kind, suffix):
    subject = f"sha256:{H64}"
    tag = cosign_tag(subject, kind)
    assert tag == f"sha256-{H64}.{suffix}"
    assert cosign_subject(tag) == (subject, suffix)
    assert mt.accessory_kind(None, None, suffix) == kind
    assert names_subject(tag, on_index=False) and names_subject(tag, on_index=True)
    assert fallback_subject(tag) is None


def test_a_fallback_tag_names_a_subject_only_on_an_index():
    tag = fallback_tag(f"sha256:{H64}")
    assert fallback_subject(tag) == f"sha256:{H64}" and cosign_subject(tag) is None
    assert names_subject(tag, on_index=True) and not names_subject(tag, on_index=False)
    assert not names_subject(f"sha256-{H64[:-1]}", on_index=True)  # 63 hex digits name nothing


def test_every_view_calls_an_artifact_by_the_same_kind():
    builder = signed_release()[0]
    builder.accessory(R, builder.image(R, ["v2"], arch="riscv64"), "sbom")
    builder.index(R, [builder.image(R, arch="mips64le")], ["v3"])
    registry = load(builder)
    repo = registry.repositories[R]
    listed: dict[str, str] = {}

    def walk(nodes):
        for node in nodes:
            listed[node["digest"]] = node["kind"]
            walk(node["children"] + node["accessories"])

    walk(next(r for r in registry_json(registry)["repositories"] if r["name"] == R)["artifacts"])
    assert set(listed) == set(repo.artifacts)
    for digest in repo.artifacts:
        kind = repo.kind_of(digest)
        assert listed[digest] == kind
        assert f"{kind} " in row(registry, digest)
    assert {repo.kind_of(d) for d in repo.artifacts} >= {"image", "index", "signature", "attestation", "sbom",
                                                          "referrers"}
    plan = plan_deletion(registry, resolve_targets(registry, [f"{R}:v1", f"{R}:v2"]))
    assert plan.allowed and plan.delete
    assert all(d.kind == repo.kind_of(d.digest) for d in plan.delete)


def test_a_kept_accessory_is_worded_by_its_kind_on_the_confirmation_screen():
    # The confirmation screen called an accessory that stays `artifact untagged`, where its
    # tree row and the plan's deleted entries call it a signature.
    b = RegistryBuilder()
    image = b.image(R, ["v1"], arch="amd64")
    signature = b.accessory(R, image, "signature", cosign_tag=False)
    b.index(R, [signature], ["bundle"])  # an index lists the signature: it stays
    registry = load(b)
    plan = plan_deletion(registry, resolve_targets(registry, [f"{R}:v1"]))
    assert [k.digest for k in plan.keep] == [signature.digest]
    text = plan_text(plan, registry).plain
    assert f"= signature {short_hex(signature.digest)}" in text
    assert "artifact untagged" not in text


def test_platforms_come_from_the_index_that_lists_the_child():
    b = RegistryBuilder()
    arm = b.image(R, arch="arm64", variant="v8")
    amd = b.image(R, arch="amd64")
    index = b.index(R, [amd, arm], ["v1"])
    repo = load(b).repositories[R]
    assert repo.platform_under(index.digest, arm.digest) == "linux/arm64/v8"
    assert repo.platform_under(None, arm.digest) is None
    assert repo.listed_platform(amd.digest) == "linux/amd64"
    assert repo.listed_platform(index.digest) is None


def test_protection_in_force_is_what_is_given_then_what_the_source_carries_each_once():
    b = RegistryBuilder()
    image = b.image(R, ["release-1"], arch="amd64")
    registry = load(b, protect=["release-*", "v*"])
    assert registry.protection_patterns(["v*", "x*"]) == ["v*", "x*", "release-*"]
    assert [r.pattern for r in registry.protection_rules()] == ["release-*", "v*"]
    # The tree marks what the planner refuses, from the source's own rules alone.
    assert "protected" in row(registry, image.digest, registry.protection_rules())
    plan = plan_deletion(registry, resolve_targets(registry, [f"{R}:release-1"]))
    assert not plan.allowed and plan.refusals[0].rule == "release-*"


def test_short_digests_and_sizes_are_written_one_way():
    b = RegistryBuilder()
    image = b.image(R, ["v1"], arch="amd64", layer_sizes=(3000,))
    repo = load(b).repositories[R]
    d = image.digest
    assert short_digest(d) == "sha256:" + short_hex(d) and len(short_hex(d)) == 12
    manifest = repo.artifacts[d].size
    assert size_text(repo, d) == SizeCache().label(repo, d) == size_label(manifest, total_size(repo, d))
    assert size_label(682, 15462) == "manifest 682 B, total 15.1 KiB"
    assert human_bytes(3 * 1024**4) == "3.0 TiB"


def test_an_orphaned_accessory_is_one_test_for_ls_the_tree_and_the_filter():
    b = RegistryBuilder()
    image = b.image(R, ["v1"], arch="amd64")
    signature = b.accessory(R, image, "signature")
    kept = b.accessory(R, b.image(R, ["v2"], arch="arm64"), "sbom")
    registry = load(b)
    registry.drop_artifacts([(R, image.digest)])  # another tool deleted the image, not its signature
    repo = registry.repositories[R]
    assert repo.is_orphaned(signature.digest) and not repo.is_orphaned(kept.digest)
    assert [(a.digest, marker) for a, marker in repo.detached()] == [(signature.digest, ORPHANED)]
    assert f"{ORPHANED}: missing subject" in row(registry, signature.digest)
    assert SearchWords().of(repo, ()).containing("orphaned") == {signature.digest}
