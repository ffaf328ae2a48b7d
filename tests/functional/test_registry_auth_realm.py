"""Credentials go to a token server in the clear only where the registry itself is reached in the
clear: a token realm must be https, unless the registry is plain http and the realm is on the same
host (issue 7 §6). Otherwise nothing is sent to the realm and the load stops with a one-line error.
Against the real docker-registry configured with a token realm, and the loopback token server."""

from __future__ import annotations

import pytest

from ocitree.core.errors import StoreError
from ocitree.core.stores.options import SourceOptions
from ocitree.core.stores.registry.store import RegistryStore
from tests.helpers.binaries import require_binary
from tests.helpers.token_server import TokenRegistry, TokenServer

pytestmark = pytest.mark.registry

PASSWORD = "alice-pa55word-xyz"


@pytest.fixture
def tokens():
    server = TokenServer(users={"alice": (PASSWORD, {"pull", "push", "delete", "catalog"}),
                                None: (None, {"pull", "catalog"})}).start()
    yield server
    server.stop()


@pytest.fixture
def start_registry(tokens, tmp_path):
    started = []

    def start(realm: str, tls: bool = False) -> TokenRegistry:
        root = tmp_path / f"registry-{len(started)}"
        root.mkdir()
        registry = TokenRegistry(tokens, root, realm=realm, tls=tls).start(require_binary("docker-registry", "docker-registry"))
        started.append(registry)
        return registry

    yield start
    for registry in started:
        registry.stop()


def load(url: str, username: str | None = None, password: str | None = None):
    store = RegistryStore(url, SourceOptions(username=username, password=password, insecure=True))
    try:
        return store.load()
    finally:
        store.close()


def other_host_realm(tokens: TokenServer) -> str:
    return tokens.realm.replace("127.0.0.1", "localhost")  # the same server, named as another host


def test_credentials_are_not_sent_to_an_http_realm_on_another_host(start_registry, tokens):
    registry = start_registry(other_host_realm(tokens))
    with pytest.raises(StoreError) as caught:
        load(registry.url, "alice", PASSWORD)
    message = str(caught.value)
    assert "localhost" in message and "https" in message
    assert PASSWORD not in message
    assert all(r.user is None for r in tokens.requests)  # the realm never saw the credentials


def test_credentials_are_not_sent_to_an_http_realm_when_the_registry_is_https(start_registry, tokens):
    registry = start_registry(tokens.realm, tls=True)  # same host, but the registry is reached over TLS
    with pytest.raises(StoreError) as caught:
        load(registry.url, "alice", PASSWORD)
    assert "https" in str(caught.value)
    assert all(r.user is None for r in tokens.requests)


def test_anonymous_tokens_may_come_from_an_http_realm_on_another_host(start_registry, tokens):
    registry = start_registry(other_host_realm(tokens))
    assert load(registry.url).repositories == {}
    assert tokens.requests and all(r.user is None for r in tokens.requests)


def test_credentials_go_to_an_http_realm_on_the_same_host_of_an_http_registry(start_registry, tokens):
    registry = start_registry(tokens.realm)
    assert load(registry.url, "alice", PASSWORD).repositories == {}
    assert [r.user for r in tokens.requests if not r.refused][-1] == "alice"
