"""Registry.restore_artifacts undoes Registry.drop_artifacts: what the TUI applies in place after
an undo must leave every derived map as a fresh load would."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from ocitree.core import media_types as mt
from ocitree.core.model import Artifact, BlobRef, Registry, Repository
from ocitree.core.reclaim import _count_shared
from ocitree.core.stores.sample import SampleStore
from ocitree.sample_data.generate import Shape, generate_registry
from tests.helpers.registry_maps import derived_maps

DEMO = Path(__file__).resolve().parents[2] / "sample_data" / "demo.json"


def drop_and_restore(registry: Registry, rng: random.Random, count: int) -> None:
    registry.shared_digests = _count_shared(registry)
    before = derived_maps(registry)
    everything = [a for repo in registry.repositories.values() for a in repo.artifacts.values()]
    gone = rng.sample(everything, min(count, len(everything)))
    registry.drop_artifacts((a.repository, a.digest) for a in gone)
    assert derived_maps(registry) != before  # the test would prove nothing if dropping changed nothing
    untouched = {name: repo for name, repo in registry.repositories.items() if name not in {a.repository for a in gone}}
    rebuilt = registry.restore_artifacts(gone)
    assert rebuilt == {a.repository for a in gone}
    assert all(registry.repositories[name] is repo for name, repo in untouched.items())  # only those are rebuilt
    assert derived_maps(registry) == before


@pytest.mark.parametrize("seed", range(8))
def test_drop_then_restore_gives_the_registry_back_on_generated_registries(seed):
    shape = Shape(repositories=3, indexes=12, children=4, share=0.3, nesting=0.3, accessories=0.5,
                  cosign_tags=0.5, tagged_children=0.2, missing=0.1, seed=seed)
    rng = random.Random(seed)
    for count in (1, 5, 40):
        drop_and_restore(generate_registry(shape), rng, count)


@pytest.mark.parametrize("seed", range(8))
def test_drop_then_restore_gives_the_demo_back(seed):
    registry = SampleStore(str(DEMO)).load()
    drop_and_restore(registry, random.Random(seed), 1 + seed * 3)


def blob_image(repository: str, n: int, blob: str, tags: list[str]) -> Artifact:
    return Artifact(repository, f"sha256:{n:064x}", mt.OCI_MANIFEST, 500, blobs=(BlobRef(blob, 10),),
                    config_media_type=mt.OCI_CONFIG, tags=tags)


def test_a_blob_two_repositories_use_again_counts_as_shared_again():
    blob = "sha256:" + "b" * 64
    a, b = blob_image("one", 1, blob, ["v1"]), blob_image("two", 2, blob, ["v1"])
    registry = Registry("test", [Repository("one", [a]), Repository("two", [b])])
    registry.shared_digests = _count_shared(registry)
    assert registry.shared_digests[""][blob] == 2
    registry.drop_artifacts([("one", a.digest)])
    assert blob not in registry.shared_digests[""]
    registry.restore_artifacts([a])
    assert registry.shared_digests == _count_shared(registry)
    assert registry.shared_digests[""][blob] == 2


def test_a_restored_tag_is_taken_from_the_artifact_holding_it_now():
    old, new = blob_image("one", 1, "sha256:" + "c" * 64, ["latest"]), blob_image("one", 2, "sha256:" + "d" * 64, ["latest", "v2"])
    registry = Registry("test", [Repository("one", [new])])
    registry.restore_artifacts([old])
    repo = registry.repositories["one"]
    assert repo.tags == {"latest": old.digest, "v2": new.digest}
    assert repo.artifacts[new.digest].tags == ["v2"]
    assert new.tags == ["latest", "v2"]  # the artifact given before is not changed under whoever holds it


def test_restoring_into_a_repository_not_loaded_adds_it():
    registry = Registry("test", [])
    image = blob_image("new", 1, "sha256:" + "e" * 64, ["v1"])
    assert registry.restore_artifacts([image]) == {"new"}
    assert registry.repositories["new"].tags == {"v1": image.digest}


def test_leftover_blobs_a_restored_artifact_uses_are_leftovers_no_more():
    blob = "sha256:" + "f" * 64
    registry = Registry("test", [Repository("one", [])])
    registry.repositories["one"].leftover_blobs = {blob: 10, "sha256:" + "1" * 64: 5}
    registry.restore_artifacts([blob_image("one", 1, blob, [])])
    assert registry.repositories["one"].leftover_blobs == {"sha256:" + "1" * 64: 5}
