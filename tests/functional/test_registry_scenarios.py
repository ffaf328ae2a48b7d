"""The twelve public scenarios against a live docker-registry, through the core.

After each deletion the registry itself is asked (HEAD by digest, tags/list), not ocitree:
a plain registry's API cannot list untagged manifests, so only a direct look shows that
children and signatures really went.
"""

from __future__ import annotations

import httpx
import pytest

from ocitree.core import media_types as mt
from ocitree.core.executor import execute_plan
from ocitree.core.planner import plan_deletion, resolve_targets
from ocitree.core.sources import open_store
from ocitree.core.stores.registry.store import RegistryStore
from ocitree.sample_data.builder import RegistryBuilder
from tests.helpers.registry_push import push_builder
from tests.helpers.scenarios import SCENARIOS, ref_for

pytestmark = pytest.mark.registry


def present(url: str, repository: str, digest: str) -> bool:
    response = httpx.head(f"{url}/v2/{repository}/manifests/{digest}", headers={"Accept": mt.ACCEPT_MANIFESTS})
    assert response.status_code in (200, 404), response.status_code
    return response.status_code == 200


def tags_on_registry(url: str, repository: str) -> dict[str, str]:
    """tag -> digest, read from the registry directly."""
    listed = httpx.get(f"{url}/v2/{repository}/tags/list")
    if listed.status_code == 404:
        return {}
    out = {}
    for tag in listed.json().get("tags") or []:
        response = httpx.head(f"{url}/v2/{repository}/manifests/{tag}", headers={"Accept": mt.ACCEPT_MANIFESTS})
        out[tag] = response.headers["Docker-Content-Digest"]
    return out


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: f"s{s.number}")
def test_scenario_on_a_live_registry(scenario, registry):
    builder = RegistryBuilder()
    built = scenario.build(builder, scenario.repo)
    push_builder(builder, registry.url)
    store = open_store(registry.url)
    assert isinstance(store, RegistryStore)
    try:
        loaded = store.load()
        # What the registry holds is what was pushed: every manifest reachable from a tag.
        for repo in builder.repositories():
            assert set(loaded.repositories[repo].artifacts) == {m.digest for m in builder.manifests(repo)}
            assert loaded.repositories[repo].tags == {t: m.digest for m in builder.manifests(repo) for t in m.tags}

        targets = resolve_targets(loaded, [ref_for(scenario, built, t) for t in scenario.targets])
        plan = plan_deletion(loaded, targets, scenario.protect)

        if scenario.refused:
            assert not plan.allowed
            assert {r.reason for r in plan.refusals} == {scenario.refused}
            for m in builder.manifests(scenario.repo):
                assert present(registry.url, scenario.repo, m.digest)
            return

        assert {d.digest for d in plan.delete} == {built[n].digest for n in scenario.deleted}
        result = execute_plan(plan, store)
        assert result.completed, result.summary()
    finally:
        store.close()

    deleted = {built[n].digest for n in scenario.deleted}
    for name, m in built.items():
        assert present(registry.url, m.repository, m.digest) == (m.digest not in deleted or m.repository != scenario.repo), name
    remaining = [m for m in builder.manifests(scenario.repo) if m.digest not in deleted]
    assert tags_on_registry(registry.url, scenario.repo) == {t: m.digest for m in remaining for t in m.tags}
    for tag in scenario.tags_removed:
        assert tag not in tags_on_registry(registry.url, scenario.repo)
    if scenario.number == 12:
        other = built["OTHER"]
        assert tags_on_registry(registry.url, "s12/other") == {"v1": other.digest}
