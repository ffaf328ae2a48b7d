"""Deleting from a live registry: order, stale plans, deletion disabled, permissions, a registry
that goes away half-way, and running again to finish the job."""

from __future__ import annotations

import httpx
import pytest

from ocitree.core import media_types as mt
from ocitree.core.errors import StalePlanError, StoreError
from ocitree.core.executor import execute_plan
from ocitree.core.planner import plan_deletion, resolve_targets
from ocitree.core.stores.options import SourceOptions
from ocitree.core.stores.registry.auth import RegistryAuth
from ocitree.core.stores.registry.credentials import Credentials
from ocitree.core.stores.registry.store import RegistryStore
from ocitree.core.stores.registry.transport import RetryPolicy
from ocitree.sample_data.builder import RegistryBuilder
from tests.helpers.binaries import require_binary
from tests.helpers.registry_fault_proxy import Fault, FaultProxy
from tests.helpers.registry_push import push_builder
from tests.helpers.token_server import TokenRegistry, TokenServer

pytestmark = pytest.mark.registry

FAST_RETRY = RetryPolicy(attempts=3, first_delay=0.01, max_delay=0.02)


def present(url: str, repository: str, digest: str) -> bool:
    status = httpx.head(f"{url}/v2/{repository}/manifests/{digest}", headers={"Accept": mt.ACCEPT_MANIFESTS}).status_code
    assert status in (200, 404)
    return status == 200


def signed_release(builder: RegistryBuilder, repo: str = "team/app", platforms: int = 4):
    """An index (tag latest) of `platforms` images, signed with a cosign .sig tag."""
    images = [builder.image(repo, arch=f"arch{i}") for i in range(platforms)]
    index = builder.index(repo, images, ["latest"])
    signature = builder.accessory(repo, index, "signature")
    return images, index, signature


def plan_for(store: RegistryStore, *refs: str):
    registry = store.load()
    return plan_deletion(registry, resolve_targets(registry, list(refs)))


@pytest.fixture
def store_factory():
    stores = []

    def make(url: str, **kwargs) -> RegistryStore:
        kwargs.setdefault("retry", FAST_RETRY)
        store = RegistryStore(url, **kwargs)
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.close()


def test_the_plan_runs_top_down_and_everything_goes(registry_proxy, store_factory):
    builder = RegistryBuilder()
    images, index, signature = signed_release(builder)
    push_builder(builder, registry_proxy.upstream)
    store = store_factory(registry_proxy.url)
    plan = plan_for(store, "team/app:latest")
    registry_proxy.clear()

    result = execute_plan(plan, store)

    assert result.completed and len(result.deleted) == 6
    deletes = [path.rsplit("/", 1)[1] for method, path in registry_proxy.requests if method == "DELETE"]
    assert deletes[0] == "sha256:" + "0" * 64  # the harmless check that deleting is allowed
    assert deletes[1:] == [d.digest for d in plan.delete]
    assert deletes[1] == index.digest  # the index before its children and its signature
    for m in [*images, index, signature]:
        assert not present(registry_proxy.upstream, "team/app", m.digest)


def test_deletion_disabled_says_so_and_deletes_nothing(registry_factory, store_factory):
    server = registry_factory(delete_enabled=False)
    proxy = FaultProxy(server.url).start()
    try:
        builder = RegistryBuilder()
        images, index, signature = signed_release(builder)
        push_builder(builder, server.url)
        store = store_factory(proxy.url)
        plan = plan_for(store, "team/app:latest")

        result = execute_plan(plan, store)

        assert not result.completed and result.deleted == []
        message = result.failed[0].error
        assert "does not allow deleting" in message and "HTTP 405" in message
        assert "storage.delete.enabled" in message and message.endswith("nothing was deleted")
        assert len(result.not_done) == len(plan.delete)
        # The only DELETE sent was the check, for a digest no content has.
        assert [p for m, p in proxy.requests if m == "DELETE"] == [f"/v2/team/app/manifests/sha256:{'0' * 64}"]
        for m in [*images, index, signature]:
            assert present(server.url, "team/app", m.digest)
    finally:
        proxy.stop()


def test_a_stale_plan_is_refused_before_anything_is_deleted(registry, store_factory):
    builder = RegistryBuilder()
    images = [builder.image("team/app", arch=a) for a in ("amd64", "arm64")]
    builder.index("team/app", images, ["latest"])
    push_builder(builder, registry.url)
    store = store_factory(registry.url)
    plan = plan_for(store, "team/app:latest")
    assert {d.digest for d in plan.delete} >= {m.digest for m in images}
    # Meanwhile someone pushes another index that also lists amd64: it must now be kept.
    builder.index("team/app", [images[0]], ["amd64-only"])
    push_builder(builder, registry.url)

    with pytest.raises(StalePlanError) as caught:
        execute_plan(plan, store)

    assert caught.value.new_plan is not None
    assert [k.digest for k in caught.value.new_plan.keep] == [images[0].digest]
    for m in builder.manifests("team/app"):
        assert present(registry.url, "team/app", m.digest)


def test_a_cached_child_deleted_behind_our_back_is_missing_in_the_plan_and_the_delete_works(registry, store_factory):
    """The cache knows content, not presence: the plan's own load asks the registry (HEAD), so
    the plan already shows the child missing and the re-check before deleting agrees with it."""
    builder = RegistryBuilder()
    images = [builder.image("team/app", arch=a) for a in ("amd64", "arm64")]
    index = builder.index("team/app", images, ["latest"])
    push_builder(builder, registry.url)
    store_factory(registry.url).load()  # fills the cache
    assert httpx.delete(f"{registry.url}/v2/team/app/manifests/{images[1].digest}").status_code == 202
    store = store_factory(registry.url)
    plan = plan_for(store, "team/app:latest")
    assert [m.digest for m in plan.missing] == [images[1].digest]

    result = execute_plan(plan, store)
    assert result.completed
    assert {d.digest for d in result.deleted} == {index.digest, images[0].digest}


def test_a_404_on_delete_is_success(registry, store_factory):
    builder = RegistryBuilder()
    images, index, signature = signed_release(builder, platforms=3)
    push_builder(builder, registry.url)
    store = store_factory(registry.url)
    plan = plan_for(store, "team/app:latest")
    steps = [d.digest for d in plan.delete]

    def someone_else_deletes_the_next(done, total, ref):
        if done == 1:  # right after the index went, another client deletes the next one
            assert httpx.delete(f"{registry.url}/v2/team/app/manifests/{steps[1]}").status_code == 202

    result = execute_plan(plan, store, on_step=someone_else_deletes_the_next)

    assert result.completed and [d.digest for d in result.deleted] == steps


def test_a_registry_stopped_half_way_then_running_again_finishes_the_job(registry, store_factory):
    builder = RegistryBuilder()
    images, index, signature = signed_release(builder, platforms=4)
    other = builder.image("team/app", ["keep-me"])
    push_builder(builder, registry.url)
    store = store_factory(registry.url)
    plan = plan_for(store, "team/app:latest")
    assert [d.digest for d in plan.delete][0] == index.digest

    def stop_after_two(done, total, ref):
        if done == 2:
            registry.stop()

    result = execute_plan(plan, store, on_step=stop_after_two)

    assert not result.completed
    assert [d.digest for d in result.deleted] == [d.digest for d in plan.delete[:2]]
    error = result.failed[0].error
    assert "connection refused" in error and error.endswith("2 artifacts had been deleted before this")
    left = [d.digest for d in result.not_done]
    assert left == [d.digest for d in plan.delete[2:]]

    registry.start()
    # The index is gone, so nothing the API lists points at the leftovers any more; the deletion
    # journal makes them visible as unreferenced artifacts, and deleting them is a new plan.
    again = store_factory(registry.url)
    state = again.load()
    repo = state.repositories["team/app"]
    assert set(left) <= set(repo.artifacts)
    assert not any(repo.parents_of(d) for d in left)
    assert [d for d in left if repo.artifacts[d].tags] == [signature.digest]  # its cosign tag stays
    assert set(repo.artifacts) - set(left) == {other.digest}
    plan2 = plan_deletion(state, resolve_targets(state, [f"team/app@{d}" for d in left]))
    assert plan2.allowed and {d.digest for d in plan2.delete} == set(left)
    assert execute_plan(plan2, again).completed

    for m in [*images, index, signature]:
        assert not present(registry.url, "team/app", m.digest)
    assert present(registry.url, "team/app", other.digest)
    final = store_factory(registry.url).load()
    assert set(final.repositories["team/app"].artifacts) == {other.digest}
    assert store_factory(registry.url).journal.entries() == {}


def test_a_failure_on_the_first_delete_leaves_the_same_plan_runnable(registry_proxy, store_factory):
    builder = RegistryBuilder()
    images, index, signature = signed_release(builder, platforms=2)
    push_builder(builder, registry_proxy.upstream)
    store = store_factory(registry_proxy.url)
    plan = plan_for(store, "team/app:latest")
    fault = registry_proxy.add(Fault(method="DELETE", path=f"/manifests/{index.digest}", status=503))

    result = execute_plan(plan, store)

    assert not result.completed and result.deleted == []
    assert "HTTP 503" in result.failed[0].error and result.failed[0].error.endswith("nothing was deleted")
    assert fault.applied == 3  # retried: the registry says to come back later
    registry_proxy.faults.clear()
    assert execute_plan(plan_for(store, "team/app:latest"), store).completed
    for m in [*images, index, signature]:
        assert not present(registry_proxy.upstream, "team/app", m.digest)


def test_a_passing_503_on_delete_is_retried(registry_proxy, store_factory):
    builder = RegistryBuilder()
    images, index, signature = signed_release(builder, platforms=2)
    push_builder(builder, registry_proxy.upstream)
    store = store_factory(registry_proxy.url)
    plan = plan_for(store, "team/app:latest")
    registry_proxy.add(Fault(method="DELETE", path=f"/manifests/{images[0].digest}", status=503, times=1))

    assert execute_plan(plan, store).completed
    assert not present(registry_proxy.upstream, "team/app", images[0].digest)


def test_a_404_on_delete_for_a_manifest_still_there_is_not_reported_deleted(registry_proxy, store_factory):
    """Some registries answer 404 where the account may not delete: the manifest is still there,
    so the run must neither count it deleted nor go on to its children."""
    builder = RegistryBuilder()
    images, index, signature = signed_release(builder, platforms=2)
    push_builder(builder, registry_proxy.upstream)
    store = store_factory(registry_proxy.url)
    plan = plan_for(store, "team/app:latest")
    registry_proxy.add(Fault(method="DELETE", path=f"/manifests/{index.digest}", status=404,
                             message="manifest unknown"))

    result = execute_plan(plan, store)

    assert not result.completed and result.deleted == []
    error = result.failed[0].error
    assert result.failed[0].digest == index.digest
    assert "still has" in error and error.endswith("nothing was deleted")
    for m in [*images, index, signature]:
        assert present(registry_proxy.upstream, "team/app", m.digest)


def test_403_names_the_missing_permission_and_deletes_nothing(registry_proxy, store_factory):
    builder = RegistryBuilder()
    images, index, signature = signed_release(builder, platforms=2)
    push_builder(builder, registry_proxy.upstream)
    store = store_factory(registry_proxy.url)
    plan = plan_for(store, "team/app:latest")
    registry_proxy.add(Fault(method="DELETE", status=403, message="requested access to the resource is denied"))

    result = execute_plan(plan, store)

    assert result.deleted == []
    error = result.failed[0].error
    assert "delete permission on repository team/app" in error and error.endswith("nothing was deleted")
    assert present(registry_proxy.upstream, "team/app", index.digest)


@pytest.fixture
def token_registry(tmp_path):
    tokens = TokenServer(users={
        "admin": ("admin-pass-123", {"pull", "push", "delete", "catalog"}),
        "reader": ("reader-pass-123", {"pull", "catalog"}),
    }).start()
    root = tmp_path / "token-registry"
    root.mkdir()
    server = TokenRegistry(tokens, root).start(require_binary("docker-registry", "docker-registry"))
    yield server
    server.stop()
    tokens.stop()


def test_an_account_without_delete_permission_is_told_which_and_nothing_goes(token_registry, store_factory):
    builder = RegistryBuilder()
    images, index, signature = signed_release(builder, platforms=2)
    with httpx.Client(auth=RegistryAuth(Credentials("admin", "admin-pass-123")), timeout=30) as client:
        push_builder(builder, token_registry.url, client=client)
    reader = store_factory(token_registry.url, options=SourceOptions(username="reader", password="reader-pass-123"))
    plan = plan_for(reader, "team/app:latest")

    result = execute_plan(plan, reader)

    assert result.deleted == []
    error = result.failed[0].error
    assert "delete permission on repository team/app" in error and "user reader" in error
    assert error.endswith("nothing was deleted") and "reader-pass-123" not in error

    admin = store_factory(token_registry.url, options=SourceOptions(username="admin", password="admin-pass-123"))
    assert execute_plan(plan_for(admin, "team/app:latest"), admin).completed


def test_read_only_refuses_before_any_request(registry, store_factory):
    builder = RegistryBuilder()
    signed_release(builder, platforms=2)
    push_builder(builder, registry.url)
    store = store_factory(registry.url, options=SourceOptions(read_only=True))
    plan = plan_for(store, "team/app:latest")
    with pytest.raises(StoreError) as caught:
        execute_plan(plan, store)
    assert "read-only" in str(caught.value) and "nothing was deleted" in str(caught.value)


def test_the_journal_is_private_and_a_damaged_one_does_not_stop_loads(registry, store_factory, isolated_home):
    builder = RegistryBuilder()
    images, index, signature = signed_release(builder, platforms=2)
    push_builder(builder, registry.url)
    store = store_factory(registry.url)
    plan = plan_for(store, "team/app:latest")

    def stop_after_one(done, total, ref):
        if done == 1:
            registry.stop()

    assert not execute_plan(plan, store, on_step=stop_after_one).completed
    journal = isolated_home / "state" / "ocitree" / "registry-journal.json"
    assert journal.stat().st_mode & 0o077 == 0
    registry.start()
    assert set(store_factory(registry.url).journal.entries()["team/app"]) >= {m.digest for m in images}

    journal.write_text("{ not json")
    state = store_factory(registry.url).load()  # the leftovers are invisible again, but the load works
    assert state.repositories["team/app"].artifacts.keys() == {signature.digest}
