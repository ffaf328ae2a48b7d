"""Loading a live registry: what the Distribution API shows, pagination, the cache, progress, TLS."""

from __future__ import annotations

import json
import sqlite3

import httpx
import pytest

from ocitree.core import media_types as mt
from ocitree.core.errors import MalformedDataError, StoreError
from ocitree.core.planner import plan_deletion, resolve_targets
from ocitree.core.sources import open_store
from ocitree.core.stores.options import SourceOptions
from ocitree.core.stores.base import LoadProgress
from ocitree.core.stores.registry.store import RegistryStore
from ocitree.sample_data.builder import RegistryBuilder
from tests.helpers.registry_fault_proxy import Fault
from tests.helpers.registry_push import push_builder, push_manifest

pytestmark = pytest.mark.registry


def load(url: str, **kwargs):
    store = RegistryStore(url, **kwargs)
    try:
        return store.load()
    finally:
        store.close()


def multi_arch(builder: RegistryBuilder, repo: str, platforms: int = 3, tags=("latest",), docker: bool = False):
    images = [builder.image(repo, arch=f"arch{i}", docker=docker) for i in range(platforms)]
    return images, builder.index(repo, images, list(tags), docker=docker)


# -- what a load shows ---------------------------------------------------------------------


def test_load_shows_indexes_children_platforms_and_sizes(registry):
    builder = RegistryBuilder()
    images, index = multi_arch(builder, "team/app", tags=("latest", "v1"))
    docker_images, docker_list = multi_arch(builder, "team/legacy", platforms=2, tags=("old",), docker=True)
    push_builder(builder, registry.url)

    registry_state = load(registry.url)

    app = registry_state.repositories["team/app"]
    top = app.artifacts[index.digest]
    assert top.media_type == mt.OCI_INDEX and top.tags == ["latest", "v1"] and top.size == index.size
    assert [c.digest for c in top.children] == [m.digest for m in images]
    assert [str(c.platform) for c in top.children] == ["linux/arch0", "linux/arch1", "linux/arch2"]
    child = app.artifacts[images[0].digest]
    assert child.kind == "image" and child.tags == [] and app.parents_of(child.digest) == [index.digest]
    assert child.total_size == images[0].size + sum(
        len(builder.blob_data(b)) for b in builder.blobs_of(images[0]))
    legacy = registry_state.repositories["team/legacy"]
    assert legacy.artifacts[docker_list.digest].media_type == mt.DOCKER_MANIFEST_LIST
    assert legacy.artifacts[docker_images[1].digest].media_type == mt.DOCKER_MANIFEST


def test_accessories_are_found_through_cosign_tags_subject_fields_and_the_fallback_tag(registry):
    builder = RegistryBuilder()
    image = builder.image("team/app", ["v1"])
    signature = builder.accessory("team/app", image, "signature")  # cosign .sig tag and subject
    sbom = builder.accessory("team/app", image, "sbom", cosign_tag=False)  # subject field only
    # OCI 1.1 fallback: an index tagged sha256-<hex> listing the subject's referrers.
    fallback = builder.index("team/app", [sbom], [image.digest.replace(":", "-")])
    push_builder(builder, registry.url)

    repo = load(registry.url).repositories["team/app"]

    assert set(repo.accessories_of(image.digest)) == {signature.digest, sbom.digest, fallback.digest}
    assert repo.accessory_kinds[signature.digest] == "signature"
    assert repo.accessory_kinds[sbom.digest] == "sbom"


def test_accessories_come_through_the_referrers_api_where_the_registry_has_one(registry_proxy):
    """distribution 2.8 has no referrers API (it answers 404), so the proxy answers that one
    endpoint as an OCI 1.1 registry would; the accessory itself lives in the real server."""
    builder = RegistryBuilder()
    image = builder.image("team/app", ["v1"])
    sbom = builder.accessory("team/app", image, "sbom", cosign_tag=False)  # untagged, subject only
    push_builder(builder, registry_proxy.upstream)
    listing = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": [sbom.descriptor()]}
    empty = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": []}
    registry_proxy.add(Fault(method="GET", path=f"/referrers/{image.digest}", status=200,
                             body=json.dumps(listing).encode(), content_type=mt.OCI_INDEX))
    registry_proxy.add(Fault(method="GET", path="/referrers/", status=200,
                             body=json.dumps(empty).encode(), content_type=mt.OCI_INDEX))

    repo = load(registry_proxy.url).repositories["team/app"]

    assert set(repo.artifacts) == {image.digest, sbom.digest}
    assert repo.accessories_of(image.digest) == [sbom.digest]
    assert registry_proxy.count("GET", f"/referrers/{sbom.digest}") == 1  # every manifest is asked


@pytest.mark.parametrize("listed", ["sha256:1\r\nX-Injected: yes", "../../../v2/_catalog?x=", "latest"])
def test_a_referrer_that_is_not_a_digest_is_malformed_data(registry_proxy, listed):
    builder = RegistryBuilder()
    builder.image("team/app", ["v1"])
    push_builder(builder, registry_proxy.upstream)
    listing = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX,
               "manifests": [{"mediaType": mt.OCI_MANIFEST, "digest": listed, "size": 10}]}
    registry_proxy.add(Fault(method="GET", path="/referrers/", status=200,
                             body=json.dumps(listing).encode(), content_type=mt.OCI_INDEX))

    with pytest.raises(MalformedDataError) as caught:
        load(registry_proxy.url)

    message = str(caught.value)
    assert "\n" not in message and "\r" not in message and "is not a digest" in message
    assert registry_proxy.count("GET", "/manifests/") == 1  # the tag; nothing by that "digest"


def test_without_a_referrers_api_it_is_asked_once_only(registry_proxy):
    builder = RegistryBuilder()
    multi_arch(builder, "team/app", platforms=3)
    push_builder(builder, registry_proxy.upstream)
    load(registry_proxy.url)
    assert registry_proxy.count("GET", "/referrers/") == 1


def test_an_untagged_manifest_no_index_lists_is_invisible_through_the_api(registry):
    """What a plain registry cannot show: it has no call that lists manifests without a tag."""
    builder = RegistryBuilder()
    tagged = builder.image("team/app", ["v1"])
    orphan = builder.image("team/app")  # pushed by digest only
    push_builder(builder, registry.url)
    assert httpx.head(f"{registry.url}/v2/team/app/manifests/{orphan.digest}",
                      headers={"Accept": mt.ACCEPT_MANIFESTS}).status_code == 200

    repo = load(registry.url).repositories["team/app"]

    assert set(repo.artifacts) == {tagged.digest}


def test_a_child_deleted_behind_the_index_shows_as_missing_in_the_plan(registry):
    builder = RegistryBuilder()
    images, index = multi_arch(builder, "team/app", platforms=2)
    push_builder(builder, registry.url)
    # distribution deletes the child of a live index when asked: the index now lists nothing there.
    assert httpx.delete(f"{registry.url}/v2/team/app/manifests/{images[1].digest}").status_code == 202

    registry_state = load(registry.url)
    plan = plan_deletion(registry_state, resolve_targets(registry_state, ["team/app:latest"]))

    assert plan.allowed
    assert [m.digest for m in plan.missing] == [images[1].digest]
    assert {d.digest for d in plan.delete} == {index.digest, images[0].digest}


def test_tags_null_after_the_last_tag_went_is_an_empty_repository(registry):
    builder = RegistryBuilder()
    image = builder.image("team/gone", ["only"])
    keep = builder.image("team/kept", ["v1"])
    push_builder(builder, registry.url)
    assert httpx.delete(f"{registry.url}/v2/team/gone/manifests/{image.digest}").status_code == 202
    assert httpx.get(f"{registry.url}/v2/team/gone/tags/list").json()["tags"] is None

    registry_state = load(registry.url)

    assert registry_state.repositories["team/gone"].artifacts == {}
    assert list(registry_state.repositories["team/kept"].artifacts) == [keep.digest]


def test_catalog_pages_are_followed_through_link_headers(registry_proxy):
    builder = RegistryBuilder()
    names = [f"team/app{i}" for i in range(7)]
    for name in names:
        builder.image(name, ["v1"])
    push_builder(builder, registry_proxy.upstream)

    registry_state = load(registry_proxy.url, catalog_page_size=3)

    assert sorted(registry_state.repositories) == names
    assert registry_state.artifact_count == 7
    assert registry_proxy.count("GET", "/v2/_catalog") == 3  # 3 + 3 + 1


def test_tag_pages_are_followed_when_a_registry_paginates(registry_proxy):
    """distribution 2.8 ignores `n` on tags/list; other registries page it. The proxy pages the
    real server's answer with the Link format distribution uses for _catalog."""
    builder = RegistryBuilder()
    images = [builder.image("team/app", [f"t{i}"]) for i in range(5)]
    push_builder(builder, registry_proxy.upstream)
    first, rest = ["t0", "t1"], ["t2", "t3", "t4"]
    registry_proxy.add(Fault(method="GET", path="/v2/team/app/tags/list?last=t1",
                             body=json.dumps({"name": "team/app", "tags": rest}).encode(), fix_digest=False))
    registry_proxy.add(Fault(method="GET", path="/v2/team/app/tags/list",
                             body=json.dumps({"name": "team/app", "tags": first}).encode(), fix_digest=False,
                             headers={"Link": '</v2/team/app/tags/list?last=t1&n=2>; rel="next"'}))

    repo = load(registry_proxy.url).repositories["team/app"]

    assert repo.tags == {f"t{i}": m.digest for i, m in enumerate(images)}
    assert registry_proxy.count("GET", "/tags/list") == 2


def test_a_next_page_on_another_host_is_not_followed(registry_proxy):
    builder = RegistryBuilder()
    builder.image("team/app", ["v1"])
    push_builder(builder, registry_proxy.upstream)
    registry_proxy.add(Fault(method="GET", path="/v2/_catalog",
                             headers={"Link": '<http://elsewhere.example/v2/_catalog?last=x>; rel="next"'}))

    with pytest.raises(StoreError) as caught:
        load(registry_proxy.url)
    assert "another host" in str(caught.value)
    assert str(caught.value).endswith("set the registry's external URL to the one ocitree was given, "
                                      f"{registry_proxy.url}")


def test_a_second_load_fetches_only_tags_and_new_digests(registry_proxy):
    builder = RegistryBuilder()
    images, index = multi_arch(builder, "team/app", platforms=4)
    push_builder(builder, registry_proxy.upstream)

    store = RegistryStore(registry_proxy.url)
    try:
        first = store.load()
        by_digest_cold = registry_proxy.count("GET", "/manifests/sha256:")
        registry_proxy.clear()
        # A new image and a moved tag since the first load.
        newer = builder.image("team/app", ["extra"])
        push_builder(builder, registry_proxy.upstream)
        second = RegistryStore(registry_proxy.url)
        try:
            again = second.load()
        finally:
            second.close()
    finally:
        store.close()

    assert by_digest_cold == 4  # the four children; the index came by tag
    assert registry_proxy.count("GET", "/manifests/sha256:") == 0  # children's bytes from the cache
    assert registry_proxy.count("GET", "/manifests/") == 2  # latest and extra, by tag
    # latest was asked for with If-None-Match: the registry answered "unchanged" without a body.
    assert sorted((p.rsplit("/", 1)[1], status) for m, p, status in registry_proxy.answers
                  if "/manifests/" in p and m == "GET") == [("extra", 200), ("latest", 304)]
    # The cache knows content, not presence: each cached child was asked about (HEAD), once.
    assert sorted(p.rsplit("/", 1)[1] for m, p, status in registry_proxy.answers
                  if "/manifests/" in p and m == "HEAD") == sorted(i.digest for i in images)
    assert set(again.repositories["team/app"].artifacts) == set(first.repositories["team/app"].artifacts) | {newer.digest}


def test_a_tag_moved_since_the_last_load_shows_where_it_points_now(registry):
    builder = RegistryBuilder()
    old = builder.image("team/app", ["latest"])
    push_builder(builder, registry.url)
    assert load(registry.url).repositories["team/app"].tags == {"latest": old.digest}

    new = builder.image("team/app")
    push_builder(builder, registry.url)
    push_manifest(httpx.Client(), registry.url, new, "latest")

    assert load(registry.url).repositories["team/app"].tags == {"latest": new.digest}


def test_a_damaged_cache_entry_is_fetched_again(registry, isolated_home):
    builder = RegistryBuilder()
    images, index = multi_arch(builder, "team/app", platforms=2)
    push_builder(builder, registry.url)
    load(registry.url)
    db = sqlite3.connect(isolated_home / "cache" / "ocitree" / "manifests.sqlite3")
    with db:
        db.execute("UPDATE manifests SET data = ? WHERE digest = ?", (b'{"not": "it"}', images[0].digest))
    db.close()

    repo = load(registry.url).repositories["team/app"]

    assert repo.artifacts[images[0].digest].kind == "image"


@pytest.mark.parametrize("hint", ["sha256:1\r\nX-Injected: yes", "not a digest", "sha256:" + "0" * 64])
def test_a_damaged_tag_hint_is_ignored(registry, isolated_home, hint):
    builder = RegistryBuilder()
    images, index = multi_arch(builder, "team/app", platforms=2)
    push_builder(builder, registry.url)
    load(registry.url)
    db = sqlite3.connect(isolated_home / "cache" / "ocitree" / "manifests.sqlite3")
    with db:
        assert db.execute("UPDATE tags SET digest = ? WHERE tag = 'latest'", (hint,)).rowcount == 1
    db.close()

    repo = load(registry.url).repositories["team/app"]

    assert repo.artifacts[index.digest].tags == ["latest"] and len(repo.artifacts) == 3


def test_a_damaged_cache_record_is_rebuilt_from_the_manifest(registry, isolated_home):
    builder = RegistryBuilder()
    images, index = multi_arch(builder, "team/app", platforms=2)
    push_builder(builder, registry.url)
    first = load(registry.url).repositories["team/app"].artifacts
    db = sqlite3.connect(isolated_home / "cache" / "ocitree" / "manifests.sqlite3")
    with db:
        db.execute("UPDATE manifests SET record = '[1, 2]'")
    db.close()

    again = load(registry.url).repositories["team/app"].artifacts

    assert again == first


def test_a_cache_of_another_version_starts_over(registry, isolated_home):
    builder = RegistryBuilder()
    images, index = multi_arch(builder, "team/app", platforms=2)
    push_builder(builder, registry.url)
    load(registry.url)
    path = isolated_home / "cache" / "ocitree" / "manifests.sqlite3"
    db = sqlite3.connect(path)
    with db:
        db.execute("PRAGMA user_version = 1")
    db.close()

    assert load(registry.url).artifact_count == 3
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] != 1
    db.close()


def test_an_unusable_cache_file_does_not_stop_a_load(registry, isolated_home):
    builder = RegistryBuilder()
    multi_arch(builder, "team/app")
    push_builder(builder, registry.url)
    path = isolated_home / "cache" / "ocitree" / "manifests.sqlite3"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database" * 100)

    assert load(registry.url).artifact_count == 4
    assert load(registry.url).artifact_count == 4  # the damaged file was replaced


def test_the_cache_file_is_private(registry, isolated_home):
    builder = RegistryBuilder()
    builder.image("team/app", ["v1"])
    push_builder(builder, registry.url)
    load(registry.url)
    path = isolated_home / "cache" / "ocitree" / "manifests.sqlite3"
    assert path.stat().st_mode & 0o077 == 0


def test_progress_is_reported_up_to_everything_read(registry):
    builder = RegistryBuilder()
    multi_arch(builder, "team/app", platforms=5)
    multi_arch(builder, "team/other", platforms=2)
    push_builder(builder, registry.url)
    seen: list[LoadProgress] = []

    store = RegistryStore(registry.url)
    try:
        store.load(seen.append)
    finally:
        store.close()

    assert seen[0].done == 0
    last = seen[-1]
    assert last.done == last.total and last.total >= 10  # 2 tag lists and 10 manifests
    assert all(a.done <= b.done for a, b in zip(seen, seen[1:]))


@pytest.mark.parametrize("concurrency", [1, 3])
def test_any_concurrency_reads_the_same_registry(registry, concurrency):
    builder = RegistryBuilder()
    for r in range(3):
        multi_arch(builder, f"team/app{r}", platforms=4, tags=("latest", "v1"))
    push_builder(builder, registry.url)

    state = load(registry.url, options=SourceOptions(concurrency=concurrency))

    assert state.artifact_count == 15


def test_the_fast_path_off_reads_the_same(registry):
    builder = RegistryBuilder()
    multi_arch(builder, "team/app", platforms=3)
    push_builder(builder, registry.url)
    fast = load(registry.url)
    slow = load(registry.url, fast_path=False)
    assert {d: a.children for d, a in fast.repositories["team/app"].artifacts.items()} == \
        {d: a.children for d, a in slow.repositories["team/app"].artifacts.items()}


# -- routing, TLS and basic auth -------------------------------------------------------------


def test_sources_route_registry_urls_to_the_registry_store(registry):
    store = open_store(registry.url)
    try:
        assert isinstance(store, RegistryStore)
        assert store.source == registry.url
        assert store.endpoint.scheme == "http"
    finally:
        store.close()
    bare = open_store(f"127.0.0.1:{registry.port}")
    try:
        assert bare.endpoint.scheme == "https"  # a bare HOST:PORT means HTTPS
    finally:
        bare.close()


def _push_tls(builder, server):
    with httpx.Client(verify=False, timeout=30) as client:
        push_builder(builder, server.url, client=client)


def test_a_self_signed_certificate_is_refused_unless_insecure(registry_tls):
    builder = RegistryBuilder()
    builder.image("team/app", ["v1"])
    _push_tls(builder, registry_tls)

    with pytest.raises(StoreError) as caught:
        load(registry_tls.url)
    assert "not trusted" in str(caught.value) and "--insecure" in str(caught.value)

    state = load(registry_tls.url, options=SourceOptions(insecure=True))
    assert state.artifact_count == 1
    # A bare HOST:PORT is HTTPS too.
    assert load(registry_tls.host, options=SourceOptions(insecure=True)).artifact_count == 1


def test_plain_http_to_a_tls_registry_says_to_write_https(registry_tls):
    with pytest.raises(StoreError) as caught:
        load(f"http://{registry_tls.host}")
    assert f"write https://{registry_tls.host}" in str(caught.value)


def test_https_to_a_plain_registry_says_to_write_http(registry):
    with pytest.raises(StoreError) as caught:
        load(f"https://{registry.host}")
    assert f"write http://{registry.host}" in str(caught.value)


def test_basic_auth_loads_with_credentials_and_says_how_without(registry_basic_auth):
    server = registry_basic_auth
    builder = RegistryBuilder()
    multi_arch(builder, "team/app", platforms=3)
    push_builder(builder, server.url, auth=(server.username, server.password))

    options = SourceOptions(username=server.username, password=server.password)
    assert load(server.url, options=options).artifact_count == 4

    with pytest.raises(StoreError) as caught:
        load(server.url)
    assert "needs credentials" in str(caught.value)
    assert server.password not in str(caught.value)


def test_an_ipv6_registry_loads_and_is_named_as_docker_login_names_it(registry_factory):
    server = registry_factory(username="ocitree-tester", password="s3cret-pass-word", address="::1")
    assert server.host.startswith("[::1]:")
    builder = RegistryBuilder()
    multi_arch(builder, "team/app", platforms=2)
    push_builder(builder, server.url, auth=(server.username, server.password))

    options = SourceOptions(username=server.username, password=server.password)
    assert load(server.url, options=options).artifact_count == 3

    with pytest.raises(StoreError) as caught:
        load(server.url)
    assert f"registry {server.host} needs credentials" in str(caught.value)
    assert str(caught.value).endswith(f"docker login {server.host}")
