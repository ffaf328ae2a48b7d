"""Running the same delete again finishes a run that was cut off half-way (issue 4)."""

from __future__ import annotations

import json

import httpx
import pytest

from ocitree.core import media_types as mt
from ocitree.core.executor import execute_plan
from ocitree.core.interrupted import InterruptedRuns
from ocitree.core.planner import plan_deletion, resolve_targets
from ocitree.core.stores.registry.store import RegistryStore
from ocitree.core.stores.registry.transport import RetryPolicy
from ocitree.sample_data.builder import RegistryBuilder
from tests.helpers.registry_push import push_builder
from ocitree.tui.cli import main

pytestmark = pytest.mark.registry


def present(url: str, repository: str, digest: str) -> bool:
    return httpx.head(f"{url}/v2/{repository}/manifests/{digest}", headers={"Accept": mt.ACCEPT_MANIFESTS}).status_code == 200


def test_the_same_delete_command_finishes_an_interrupted_run(registry, capsys):
    b = RegistryBuilder()
    images = [b.image("team/app", arch=f"arch{i}") for i in range(4)]
    nested = b.index("team/app", images[2:])
    index = b.index("team/app", [*images[:2], nested], ["latest"])
    signature = b.accessory("team/app", index, "signature")
    keep = b.image("team/app", ["keep-me"])
    push_builder(b, registry.url)

    store = RegistryStore(registry.url, retry=RetryPolicy(attempts=2, first_delay=0.01, max_delay=0.02))
    registry_state = store.load()
    plan = plan_deletion(registry_state, resolve_targets(registry_state, ["team/app:latest"]))
    assert plan.delete[0].digest == index.digest and len(plan.delete) == 7

    def stop_after_two(done, total, ref):
        if done == 2:
            registry.stop()

    result = execute_plan(plan, store, on_step=stop_after_two)
    store.close()
    assert not result.completed and len(result.deleted) == 2
    registry.start()

    # `latest` is gone with its index; the same command plans what the cut-off run left.
    assert main(["delete", registry.url, "team/app:latest", "--yes", "--json"]) == 0
    captured = capsys.readouterr()
    assert "interrupted" in captured.err and "planning the 5 artifacts it left" in captured.err
    doc = json.loads(captured.out)
    assert doc["completed"] and len(doc["deleted"]) == 5

    for m in [*images, nested, index, signature]:
        assert not present(registry.url, "team/app", m.digest)
    assert present(registry.url, "team/app", keep.digest)
    # Finished: the record is gone, and the REF is unknown again.
    assert InterruptedRuns().lookup(registry.url, "team/app:latest") is None
    assert main(["plan", registry.url, "team/app:latest"]) == 2
    assert "no tag 'latest'" in capsys.readouterr().err
