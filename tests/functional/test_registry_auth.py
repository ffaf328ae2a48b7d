"""RegistryAuth against the real docker-registry: htpasswd Basic auth, and Bearer tokens from a
loopback token server the registry trusts (tests/helpers/token_server.py)."""

from __future__ import annotations

import asyncio
import logging
import threading

import httpx
import pytest

from ocitree.core.errors import StoreError
from ocitree.core.stores.registry.auth import RegistryAuth, parse_challenges, scope_for
from ocitree.core.stores.registry.credentials import Credentials
from ocitree.sample_data.builder import RegistryBuilder
from tests.helpers.binaries import require_binary
from tests.helpers.registry_push import push_builder
from tests.helpers.token_server import TokenRegistry, TokenServer

pytestmark = pytest.mark.registry

ALICE_PASSWORD = "alice-pa55word-xyz"
READER_PASSWORD = "reader-pa55word-xyz"
REPO = "team/app"
PULL = f"repository:{REPO}:pull"


@pytest.fixture
def tokens():
    server = TokenServer(users={
        "alice": (ALICE_PASSWORD, {"pull", "push", "delete", "catalog"}),
        "reader": (READER_PASSWORD, {"pull"}),
        None: (None, {"pull"}),
    }).start()
    yield server
    server.stop()


@pytest.fixture
def token_registry(tokens, tmp_path):
    binary = require_binary("docker-registry", "docker-registry")
    root = tmp_path / "token-registry"
    root.mkdir()
    registry = TokenRegistry(tokens, root).start(binary)
    yield registry
    registry.stop()


@pytest.fixture
def image(token_registry):
    """One tagged image in team/app, pushed as alice through RegistryAuth itself."""
    builder = RegistryBuilder()
    built = builder.image(REPO, tags=["v1"])
    with httpx.Client(auth=RegistryAuth(Credentials("alice", ALICE_PASSWORD)), timeout=30) as client:
        push_builder(builder, token_registry.url, client=client)
    return built


class Statuses:
    """Counts the status codes of every response a client sees, token requests and retries included."""

    def __init__(self):
        self.codes: list[int] = []
        self._lock = threading.Lock()

    def __call__(self, response: httpx.Response) -> None:
        with self._lock:
            self.codes.append(response.status_code)

    async def async_hook(self, response: httpx.Response) -> None:
        self(response)


def _client(credentials=None, statuses=None, **auth_options) -> httpx.Client:
    hooks = {"response": [statuses]} if statuses else {}
    return httpx.Client(auth=RegistryAuth(credentials, **auth_options), event_hooks=hooks, timeout=30)


def _get_manifest(client, registry, built):
    return client.get(f"{registry.url}/v2/{REPO}/manifests/{built.digest}", headers={"Accept": built.media_type})


# -- Basic auth (htpasswd, bcrypt) -------------------------------------------------------------


def test_basic_auth_without_credentials_says_how_to_give_them(registry_basic_auth):
    with _client() as client, pytest.raises(StoreError) as caught:
        client.get(f"{registry_basic_auth.url}/v2/_catalog")
    message = str(caught.value)
    assert f"registry {registry_basic_auth.host} needs credentials" in message
    assert "--username with --password-stdin" in message and "docker login" in message


def test_basic_auth_credentials_are_sent_after_the_first_challenge_only(registry_basic_auth):
    server, statuses = registry_basic_auth, Statuses()
    with _client(Credentials(server.username, server.password), statuses) as client:
        for _ in range(5):
            assert client.get(f"{server.url}/v2/_catalog").json() == {"repositories": []}
    # One anonymous try, then every request carries the credentials straight away.
    assert statuses.codes == [401] + [200] * 5


def test_basic_auth_wrong_password_names_the_user_not_the_password(registry_basic_auth):
    server = registry_basic_auth
    with _client(Credentials(server.username, "wrong-password-123")) as client, pytest.raises(StoreError) as caught:
        client.get(f"{server.url}/v2/_catalog")
    message = str(caught.value)
    assert f"refused the credentials for user {server.username}" in message
    assert "wrong-password-123" not in message and server.password not in message


# -- Bearer tokens from a token server ---------------------------------------------------------


def test_token_is_fetched_once_per_scope_and_reused(token_registry, tokens, image):
    before, statuses = len(tokens.requests), Statuses()
    with _client(Credentials("reader", READER_PASSWORD), statuses) as client:
        for _ in range(5):
            assert _get_manifest(client, token_registry, image).status_code == 200
        assert client.get(f"{token_registry.url}/v2/{REPO}/tags/list").json()["tags"] == ["v1"]
        # Another repository is another scope: one more token, fetched before the request.
        assert client.get(f"{token_registry.url}/v2/other/tags/list").status_code == 404
    mine = tokens.requests[before:]
    assert [(r.user, r.scopes) for r in mine] == [("reader", [PULL]), ("reader", ["repository:other:pull"])]
    # Only the very first request met a challenge; the second scope's token came ahead of its request.
    assert statuses.codes.count(401) == 1


def test_anonymous_pull_uses_an_anonymous_token(token_registry, tokens, image):
    with _client() as client:
        assert _get_manifest(client, token_registry, image).status_code == 200
    assert tokens.requests[-1].user is None and tokens.requests[-1].scopes == [PULL]


def test_token_rejected_by_the_registry_is_renewed_once(token_registry, tokens, image):
    before = tokens.count(PULL)
    with _client(Credentials("reader", READER_PASSWORD)) as client:
        assert client.get(f"{token_registry.url}/v2/").status_code == 200  # learns the token realm
        tokens.expired_tokens_to_issue = 1  # the next token is past its exp: the registry says 401
        assert _get_manifest(client, token_registry, image).status_code == 200
    assert tokens.count(PULL) - before == 2


def test_token_that_keeps_being_rejected_fails_after_one_renewal(token_registry, tokens, image):
    before = tokens.count(PULL)
    with _client(Credentials("reader", READER_PASSWORD)) as client:
        client.get(f"{token_registry.url}/v2/")
        tokens.expired_tokens_to_issue = 100
        with pytest.raises(StoreError, match=f"registry {token_registry.host} rejected a fresh token"):
            _get_manifest(client, token_registry, image)
    assert tokens.count(PULL) - before == 2


@pytest.mark.parametrize("expires_in, still_fresh_at, stale_at", [(300, 250, 295), (None, 45, 55)])
def test_expires_in_is_respected(token_registry, tokens, image, expires_in, still_fresh_at, stale_at):
    """A token is used until shortly before expires_in (60 s when the server leaves it out), then renewed."""
    tokens.expires_in = expires_in
    before = tokens.count(PULL)
    now = [1000.0]
    statuses = Statuses()
    with _client(Credentials("reader", READER_PASSWORD), statuses, clock=lambda: now[0]) as client:
        _get_manifest(client, token_registry, image)
        now[0] += still_fresh_at
        _get_manifest(client, token_registry, image)
        assert tokens.count(PULL) - before == 1
        now[0] += stale_at - still_fresh_at
        assert _get_manifest(client, token_registry, image).status_code == 200
        assert tokens.count(PULL) - before == 2
    assert statuses.codes.count(401) == 1  # renewed ahead of time, not after a refusal


def test_access_token_field_is_accepted(token_registry, tokens, image):
    tokens.token_field = "access_token"
    with _client(Credentials("reader", READER_PASSWORD)) as client:
        assert _get_manifest(client, token_registry, image).status_code == 200


def test_identity_token_uses_the_oauth_refresh_grant(token_registry, tokens, image):
    tokens.refresh_tokens["refresh-abc-123"] = "alice"
    with _client(Credentials("<token>", "", identity_token="refresh-abc-123")) as client:
        assert client.get(f"{token_registry.url}/v2/_catalog").json() == {"repositories": [REPO]}
    assert (tokens.requests[-1].method, tokens.requests[-1].user) == ("POST", "alice")
    with _client(Credentials("<token>", "", identity_token="revoked-456", source="docker-credential-x")) as client:
        with pytest.raises(StoreError) as caught:
            client.get(f"{token_registry.url}/v2/_catalog")
    assert str(caught.value).startswith(f"registry {token_registry.host} refused the credentials for the identity "
                                        f"token (from docker-credential-x; its token server 127.0.0.1:")
    assert "revoked-456" not in str(caught.value)


def test_wrong_password_at_the_token_server_names_the_user(token_registry, tokens, image):
    with _client(Credentials("alice", "not-her-password")) as client, pytest.raises(StoreError) as caught:
        _get_manifest(client, token_registry, image)
    message = str(caught.value)
    assert message.startswith(f"registry {token_registry.host} refused the credentials for user alice "
                              f"(its token server 127.0.0.1:")
    assert "not-her-password" not in message


def test_missing_delete_permission_is_named_and_nothing_is_deleted(token_registry, tokens, image):
    url = f"{token_registry.url}/v2/{REPO}/manifests/{image.digest}"
    with _client(Credentials("reader", READER_PASSWORD)) as client, pytest.raises(StoreError) as caught:
        client.delete(url)
    assert str(caught.value) == (f"registry {token_registry.host} did not grant delete permission on repository "
                                 f"{REPO} to user reader: ask the registry's administrator for it")
    with _client(Credentials("alice", ALICE_PASSWORD)) as client:
        assert _get_manifest(client, token_registry, image).status_code == 200
        assert client.delete(url).status_code == 202
        assert _get_manifest(client, token_registry, image).status_code == 404
    assert tokens.count(f"repository:{REPO}:delete") == 2  # reader's (granted nothing) and alice's


def test_anonymous_catalog_refusal_suggests_credentials(token_registry, tokens, image):
    with _client() as client, pytest.raises(StoreError) as caught:
        client.get(f"{token_registry.url}/v2/_catalog")
    assert "permission to list the catalog" in str(caught.value)
    assert "to anonymous access: give credentials with --username and --password-stdin" in str(caught.value)


def test_threads_sharing_a_client_fetch_one_token(token_registry, tokens, image):
    before = tokens.count(PULL)
    codes = []
    with _client(Credentials("reader", READER_PASSWORD)) as client:
        def pull():
            for _ in range(3):
                codes.append(_get_manifest(client, token_registry, image).status_code)

        threads = [threading.Thread(target=pull) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert codes == [200] * 24
    assert tokens.count(PULL) - before == 1


async def test_async_tasks_sharing_a_client_fetch_one_token(token_registry, tokens, image):
    before = tokens.count(PULL)
    auth = RegistryAuth(Credentials("reader", READER_PASSWORD))
    async with httpx.AsyncClient(auth=auth, timeout=30) as client:
        url = f"{token_registry.url}/v2/{REPO}/manifests/{image.digest}"
        responses = await asyncio.gather(*[client.get(url, headers={"Accept": image.media_type}) for _ in range(8)])
        assert [r.status_code for r in responses] == [200] * 8
        with pytest.raises(StoreError, match="did not grant delete permission"):
            await client.delete(url)
    assert tokens.count(PULL) - before == 1


def test_secrets_never_reach_messages_reprs_or_logs(token_registry, tokens, image, registry_basic_auth, caplog):
    caplog.set_level(logging.DEBUG)
    errors: list[str] = []
    auths = [RegistryAuth(Credentials("alice", ALICE_PASSWORD)), RegistryAuth(Credentials("reader", READER_PASSWORD)),
             RegistryAuth(Credentials("alice", "typo-" + ALICE_PASSWORD)),
             RegistryAuth(Credentials(registry_basic_auth.username, "typo-" + registry_basic_auth.password))]
    for auth in auths:
        with httpx.Client(auth=auth, timeout=30) as client:
            for call in (lambda: _get_manifest(client, token_registry, image),
                         lambda: client.delete(f"{token_registry.url}/v2/{REPO}/manifests/{image.digest}"),
                         lambda: client.get(f"{registry_basic_auth.url}/v2/_catalog")):
                try:
                    call()
                except StoreError as exc:
                    errors.append(f"{exc} {exc!r}")
    assert len(errors) >= 4
    said = "\n".join(errors + [repr(a) for a in auths] + [str(a.credentials) for a in auths] + [caplog.text])
    assert tokens.issued, "the token server issued no token: nothing was checked"
    for secret in [ALICE_PASSWORD, READER_PASSWORD, registry_basic_auth.password, *tokens.issued]:
        assert secret not in said
    assert "RegistryAuth(user alice)" in said


# -- pure parsing ------------------------------------------------------------------------------


def test_challenge_parsing_handles_several_schemes_and_quoted_commas():
    challenges = parse_challenges([
        'Basic realm="a, b", Bearer realm="https://auth.example.com/token",service="reg",'
        'scope="repository:x/y:pull repository:z:pull,push",error="insufficient_scope"',
        "Negotiate",
    ])
    assert [c.scheme for c in challenges] == ["basic", "bearer", "negotiate"]
    assert challenges[0].params == {"realm": "a, b"}
    assert challenges[1].params["realm"] == "https://auth.example.com/token"
    assert challenges[1].scopes == ["repository:x/y:pull", "repository:z:pull,push"]
    assert challenges[1].params["error"] == "insufficient_scope"


@pytest.mark.parametrize("method, path, scope", [
    ("GET", "/v2/", None),
    ("GET", "/v2/_catalog", "registry:catalog:*"),
    ("HEAD", "/v2/a/manifests/sha256:00", "repository:a:pull"),
    ("GET", "/v2/team/manifests/app/manifests/v1", "repository:team/manifests/app:pull"),
    ("GET", "/v2/a/b/tags/list", "repository:a/b:pull"),
    ("DELETE", "/v2/a/b/manifests/sha256:00", "repository:a/b:delete"),
    ("POST", "/v2/a/blobs/uploads/", "repository:a:pull,push"),
    ("PUT", "/v2/a/blobs/uploads/123-abc", "repository:a:pull,push"),
])
def test_scope_follows_method_and_path(method, path, scope):
    assert scope_for(method, path) == scope
