"""The synthetic registry generator (sample_data/generate.py) that benchmarks and scale tests use:
its fast in-memory registry is the one its sample file loads as, it is deterministic, and
each option of its shape shows in what it makes."""

from __future__ import annotations

import pytest

from ocitree.core.model import Registry
from ocitree.core.names import is_digest
from ocitree.core.plan import TargetRef
from ocitree.core.planner import plan_deletion
from ocitree.core.stores.sample import SampleStore
from ocitree.sample_data.generate import Shape, generate_registry, main, write_sample

FULL = Shape(repositories=3, indexes=60, children=6, share=0.2, nesting=0.3, tagged=0.7, tagged_children=0.1,
             accessories=0.4, cosign_tags=0.5, missing=0.1, seed=7)


def _fields(registry: Registry) -> dict:
    return {
        (r.name, d): (a.media_type, a.size, a.children, a.blobs, a.subject, a.artifact_type, a.config_media_type, a.tags)
        for r in registry.repositories.values()
        for d, a in r.artifacts.items()
    }


def _graph(registry: Registry) -> dict:
    return {
        r.name: (r.tags, r.parents, r.accessories, r.subjects, r.accessory_kinds, r.blob_users)
        for r in registry.repositories.values()
    }


def test_in_memory_registry_is_what_its_sample_file_loads_as(tmp_path):
    path = tmp_path / "synthetic.json"
    count = write_sample(FULL, path)
    loaded = SampleStore(path).load()  # full validation: digests, tags, names, duplicates, cycles
    fast = generate_registry(FULL)
    assert loaded.artifact_count == fast.artifact_count == count
    assert _fields(loaded) == _fields(fast)
    assert _graph(loaded) == _graph(fast)


def test_same_seed_same_registry_other_seed_other_digests(tmp_path):
    a, b, c = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    write_sample(FULL, a)
    write_sample(FULL, b)
    write_sample(Shape(**{**vars(FULL), "seed": 8}), c)
    assert a.read_bytes() == b.read_bytes()
    digests = lambda r: {d for repo in r.repositories.values() for d in repo.artifacts}  # noqa: E731
    assert not digests(SampleStore(a).load()) & digests(SampleStore(c).load())


def test_each_option_shows_in_the_registry():
    registry = generate_registry(FULL)
    indexes = children = shared = bundles = missing = sbom_signatures = cosign = 0
    for repo in registry.repositories.values():
        for digest, artifact in repo.artifacts.items():
            assert is_digest(digest)
            if artifact.is_index and artifact.children and artifact.children[0].media_type.endswith("index.v1+json"):
                bundles += 1
                assert all(repo.artifacts[c.digest].is_index for c in artifact.children)
            elif artifact.is_index:
                indexes += 1
                missing += any(c.digest not in repo.artifacts for c in artifact.children)
            elif digest in repo.parents:
                children += 1
                shared += repo.is_shared(digest)
            if repo.accessory_kinds.get(digest) == "signature" and any(
                repo.accessory_kinds.get(s) == "sbom" for s in repo.subjects[digest]
            ):
                sbom_signatures += 1
            cosign += any(t.endswith(".sig") for t in artifact.tags)
    assert indexes == FULL.repositories * FULL.indexes
    assert children == indexes * FULL.children
    assert shared / children == pytest.approx(FULL.share, abs=0.05)
    assert bundles >= FULL.repositories * FULL.indexes * FULL.nesting / FULL.nest_width * 0.6
    assert missing / indexes == pytest.approx(FULL.missing, abs=0.06)
    assert sbom_signatures > 0 and cosign > 0
    assert registry.artifact_count == pytest.approx(FULL.expected_artifacts(), rel=0.05)


def test_for_total_sizes_the_registry():
    shape = Shape.for_total(20_000, repositories=4)
    assert generate_registry(shape).artifact_count == pytest.approx(20_000, rel=0.03)


def test_protected_release_tags_make_a_realistic_mix():
    registry = generate_registry(Shape(repositories=2, indexes=100, children=3, share=0.1, seed=3))
    outcomes = {"allowed": 0, "protected_tag": 0, "referenced": 0}
    for repo in registry.repositories.values():
        for artifact in repo.top_level():
            if artifact.is_index:
                plan = plan_deletion(registry, [TargetRef(repository=repo.name, digest=artifact.digest, reference="x")], ["release-*"])
                outcomes["allowed" if plan.allowed else plan.refusals[0].reason] += 1
    assert outcomes["allowed"] > 100 and outcomes["protected_tag"] > 5


def test_command_line_writes_a_loadable_file(tmp_path, capsys):
    path = tmp_path / "out.json"
    code = main(["--repositories", "2", "--indexes", "5", "--children", "3", "--share", "0.5", "--nesting", "0.5",
                 "--protect", "release-*", "--seed", "1", "-o", str(path)])
    assert code == 0
    registry = SampleStore(path).load()
    assert registry.protect == ["release-*"]
    assert f"wrote {registry.artifact_count} artifacts in 2 repositories" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--share", "1.5"], "not a fraction from 0 to 1"),
    (["--indexes", "0"], "must be at least 1"),
    (["--children", "many"], "not a whole number"),
    (["--protect", " v1"], "invalid protection pattern"),
    ([], "required: -o/--output"),
])
def test_command_line_rejects_bad_arguments(args, message, tmp_path, capsys):
    argv = [*args, "-o", str(tmp_path / "x.json")] if args else []
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()
