"""Untagging on a live registry: Debian's docker-registry (CNCF distribution 2.8) answers DELETE by
tag with 400 DIGEST_INVALID, so ocitree says it cannot untag there, and changes nothing."""

from __future__ import annotations

import json

import httpx
import pytest

from ocitree.core.errors import StoreError
from ocitree.core.stores.registry.store import RegistryStore
from ocitree.core.stores.registry.transport import RetryPolicy
from ocitree.core.untag import execute_untag, plan_untag
from ocitree.sample_data.builder import RegistryBuilder
from tests.helpers.registry_fault_proxy import Fault
from tests.helpers.registry_push import push_builder

pytestmark = pytest.mark.registry

FAST_RETRY = RetryPolicy(attempts=3, first_delay=0.01, max_delay=0.02)


def tags_of(url: str, repository: str) -> list[str]:
    return sorted(httpx.get(f"{url}/v2/{repository}/tags/list").json()["tags"] or [])


def test_distribution_cannot_untag_and_the_message_says_what_to_do(registry):
    builder = RegistryBuilder()
    builder.image("team/app", ["v1", "latest"])
    push_builder(builder, registry.url)
    store = RegistryStore(registry.url, retry=FAST_RETRY)
    try:
        plan = plan_untag(store.load(), "team/app", "v1")
        refusal = store.untag_refusal("team/app")
        assert refusal is not None
        assert "cannot remove a tag alone" in refusal and "DIGEST_INVALID" in refusal
        assert "push another manifest under it" in refusal and "delete the manifest" in refusal
        assert "\n" not in refusal

        with pytest.raises(StoreError, match="cannot remove a tag alone"):
            execute_untag(plan, store)
    finally:
        store.close()
    assert tags_of(registry.url, "team/app") == ["latest", "v1"]


def test_deletion_disabled_says_to_enable_it(registry_no_delete):
    builder = RegistryBuilder()
    builder.image("team/app", ["v1"])
    push_builder(builder, registry_no_delete.url)
    store = RegistryStore(registry_no_delete.url, retry=FAST_RETRY)
    try:
        store.load()
        refusal = store.untag_refusal("team/app") or ""
    finally:
        store.close()
    assert "does not allow deleting" in refusal and "storage.delete.enabled" in refusal
    assert tags_of(registry_no_delete.url, "team/app") == ["v1"]


def test_cli_untag_on_distribution_exits_1_with_the_one_line_refusal(registry, capsys):
    from ocitree.tui.cli import main

    builder = RegistryBuilder()
    builder.image("team/app", ["v1", "latest"])
    push_builder(builder, registry.url)
    assert main(["untag", registry.url, "team/app:v1", "--yes"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ocitree: registry ") and "cannot remove a tag alone" in err and err.count("\n") == 1
    assert tags_of(registry.url, "team/app") == ["latest", "v1"]


def _pushed(registry, tags=("v1", "latest")):
    builder = RegistryBuilder()
    image = builder.image("team/app", list(tags))
    push_builder(builder, registry.url)
    return image


def test_a_registry_that_looks_tags_up_for_delete_is_offered_untag(registry, registry_proxy):
    """The probe's answer decides: 404 for the random tag (as a registry that deletes by tag gives)."""
    _pushed(registry)
    registry_proxy.add(Fault(method="DELETE", path="/manifests/ocitree-untag-probe-", status=404,
                             message="manifest unknown"))
    store = RegistryStore(registry_proxy.url, retry=FAST_RETRY)
    try:
        store.load()
        assert store.untag_refusal("team/app") is None
        assert store.untag_refusal("team/app") is None  # asked once
        assert sum(1 for method, path in registry_proxy.requests if method == "DELETE") == 1
    finally:
        store.close()


def test_a_delete_by_tag_answered_but_not_done_is_an_error_and_nothing_is_claimed(registry, registry_proxy, tmp_path):
    """202 to the DELETE, yet the tag still names the manifest: ocitree checks, and says so."""
    _pushed(registry)
    registry_proxy.add(Fault(method="DELETE", path="/manifests/ocitree-untag-probe-", status=404))
    registry_proxy.add(Fault(method="DELETE", path="/manifests/v1", status=202))
    store = RegistryStore(registry_proxy.url, retry=FAST_RETRY)
    audit = tmp_path / "audit.jsonl"
    try:
        plan = plan_untag(store.load(), "team/app", "v1")
        with pytest.raises(StoreError, match="yet the tag still names a manifest: .*nothing was untagged"):
            execute_untag(plan, store, audit_log=audit)
    finally:
        store.close()
    assert tags_of(registry.url, "team/app") == ["latest", "v1"]
    record = json.loads(audit.read_text().splitlines()[-1])
    assert record["action"] == "untag" and record["result"] == "incomplete" and record["untagged"] == []


def test_a_probe_passed_but_the_delete_by_tag_refused_says_it_cannot_untag(registry, registry_proxy):
    _pushed(registry)
    registry_proxy.add(Fault(method="DELETE", path="/manifests/ocitree-untag-probe-", status=404))
    store = RegistryStore(registry_proxy.url, retry=FAST_RETRY)
    try:
        plan = plan_untag(store.load(), "team/app", "v1")
        with pytest.raises(StoreError, match="cannot remove a tag alone.*DIGEST_INVALID"):
            execute_untag(plan, store)  # the real registry answers the real DELETE by tag
    finally:
        store.close()
    assert tags_of(registry.url, "team/app") == ["latest", "v1"]
