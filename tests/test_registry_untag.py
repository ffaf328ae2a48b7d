"""Untagging on a live registry: Debian's docker-registry (CNCF distribution 2.8) answers DELETE by
tag with 400 DIGEST_INVALID, so ocitree says it cannot untag there, and changes nothing."""

from __future__ import annotations

import httpx
import pytest

from ocitree.core.errors import StoreError
from ocitree.core.stores.registry.store import RegistryStore
from ocitree.core.stores.registry.transport import RetryPolicy
from ocitree.core.untag import execute_untag, plan_untag
from ocitree.sample_data.builder import RegistryBuilder
from tests.registry_push import push_builder

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
