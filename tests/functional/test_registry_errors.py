"""Every way a registry can fail a load: one clear line with the right error type, never a traceback.

Faults the real server cannot be made to produce (5xx, slowness, dropped connections, altered
bodies) come from tests/helpers/registry_fault_proxy.py, which forwards everything else to the real
docker-registry behind it.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from ocitree.core.errors import BadInputError, MalformedDataError, StoreError
from ocitree.core.sources import open_store
from ocitree.core.stores.options import SourceOptions
from ocitree.core.stores.registry.store import RegistryStore
from ocitree.core.stores.registry.transport import RetryPolicy
from ocitree.sample_data.builder import RegistryBuilder
from tests.helpers.registry_fault_proxy import Fault
from tests.helpers.registry_push import push_builder

pytestmark = pytest.mark.registry

FAST_RETRY = RetryPolicy(attempts=3, first_delay=0.01, max_delay=0.02)


def load(url: str, options: SourceOptions | None = None, **kwargs):
    kwargs.setdefault("retry", FAST_RETRY)
    store = RegistryStore(url, options, **kwargs)
    try:
        return store.load()
    finally:
        store.close()


@pytest.fixture
def app(registry_proxy):
    """team/app: an index of two images (tag latest), pushed to the real server behind the proxy."""
    builder = RegistryBuilder()
    images = [builder.image("team/app", arch=a) for a in ("amd64", "arm64")]
    index = builder.index("team/app", images, ["latest"])
    push_builder(builder, registry_proxy.upstream)
    return images, index


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and text.strip() == text and len(text) < 500
    return text


# -- bad SOURCE ------------------------------------------------------------------------------


@pytest.mark.parametrize("source, says", [
    ("http://", "not a host name"),
    ("http://registry.example.com/team/app", "has a path"),
    ("http://127.0.0.1:99999", "port '99999'"),
    ("https://bad_host:5000", "not a host name"),
    ("http://[::1", "IPv6"),
])
def test_an_unknown_host_form_is_bad_input(source, says):
    with pytest.raises(BadInputError) as caught:
        RegistryStore(source)
    assert says in one_line(caught.value)
    assert caught.value.exit_code == 2


def test_credentials_in_the_url_are_refused_without_being_repeated():
    with pytest.raises(BadInputError) as caught:
        RegistryStore("https://alice:hunter2-secret@registry.example.com")
    message = one_line(caught.value)
    assert "--username" in message and "hunter2-secret" not in message and "alice" not in message


def test_ipv6_literals_are_hosts():
    store = RegistryStore("http://[::1]:5000")
    try:
        assert store.endpoint.hostname == "::1" and store.endpoint.base_url == "http://[::1]:5000"
    finally:
        store.close()


# -- connecting ------------------------------------------------------------------------------


def test_connection_refused():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again before the load: nothing listens there
    with pytest.raises(StoreError) as caught:
        load(f"http://127.0.0.1:{port}")
    assert "connection refused" in one_line(caught.value) and caught.value.exit_code == 1


def test_unknown_host_name():
    with pytest.raises(StoreError) as caught:
        load("http://no-such-host.invalid:5000")
    assert "cannot find registry host" in one_line(caught.value)


def test_a_server_that_is_not_a_registry(registry_proxy):
    registry_proxy.add(Fault(path="/v2/", status=404))
    with pytest.raises(StoreError) as caught:
        load(registry_proxy.url)
    assert "does not serve the registry API" in one_line(caught.value)


# -- answers ---------------------------------------------------------------------------------


def test_500_is_reported_at_once_not_retried(registry_proxy, app):
    images, _ = app
    registry_proxy.add(Fault(method="GET", path=f"/manifests/{images[0].digest}", status=500))
    with pytest.raises(StoreError) as caught:
        load(registry_proxy.url)
    message = one_line(caught.value)
    assert "HTTP 500" in message and "INJECTED" in message and caught.value.exit_code == 1
    # Once through the fast path, once through httpx (which reports): never a third time.
    assert registry_proxy.count("GET", f"/manifests/{images[0].digest}") == 2


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_passing_overload_is_retried_with_backoff(registry_proxy, app, status):
    images, index = app
    registry_proxy.add(Fault(method="GET", path=f"/manifests/{images[1].digest}", status=status, times=2,
                             retry_after="0" if status == 429 else None))
    state = load(registry_proxy.url)
    assert images[1].digest in state.repositories["team/app"].artifacts
    assert registry_proxy.count("GET", f"/manifests/{images[1].digest}") == 3


def test_lasting_overload_gives_up_after_the_attempts(registry_proxy, app):
    registry_proxy.add(Fault(method="GET", path="/tags/list", status=503))
    with pytest.raises(StoreError) as caught:
        load(registry_proxy.url)
    message = one_line(caught.value)
    assert "HTTP 503" in message and "after 3 attempts" in message and "listing the tags of team/app" in message


def test_a_dropped_connection_is_retried(registry_proxy, app):
    images, _ = app
    registry_proxy.add(Fault(method="GET", path=f"/manifests/{images[0].digest}", drop=True, times=2))
    state = load(registry_proxy.url)
    assert images[0].digest in state.repositories["team/app"].artifacts


def test_connections_dropped_every_time_end_in_a_clear_line(registry_proxy, app):
    registry_proxy.add(Fault(method="GET", path="/v2/_catalog", drop=True))
    with pytest.raises(StoreError) as caught:
        load(registry_proxy.url)
    assert "dropped the connection" in one_line(caught.value)


def test_a_slow_registry_is_waited_for(registry_proxy, app):
    registry_proxy.add(Fault(method="GET", path="/manifests/", delay=0.3))
    state = load(registry_proxy.url, SourceOptions(timeout=5.0))
    assert state.artifact_count == 3


def test_a_registry_slower_than_the_timeout(registry_proxy, app):
    images, _ = app
    registry_proxy.add(Fault(method="GET", path=f"/manifests/{images[0].digest}", delay=3.0))
    with pytest.raises(StoreError) as caught:
        load(registry_proxy.url, SourceOptions(timeout=0.5))
    assert "did not answer within 0.5 s" in one_line(caught.value)


def test_a_manifest_that_is_not_json(registry_proxy, app):
    registry_proxy.add(Fault(method="GET", path="/manifests/latest", body=b"<html>proxy error page</html>"))
    with pytest.raises(MalformedDataError) as caught:
        load(registry_proxy.url)
    message = one_line(caught.value)
    assert "team/app@sha256:" in message and "manifest is not JSON" in message
    assert caught.value.exit_code == 2


def test_a_manifest_that_is_json_but_not_a_manifest(registry_proxy, app):
    images, _ = app
    registry_proxy.add(Fault(method="GET", path="/manifests/latest", body=b'{"schemaVersion": 2, "manifests": 7}'))
    with pytest.raises(MalformedDataError) as caught:
        load(registry_proxy.url)
    assert "field manifests" in one_line(caught.value)


def test_content_that_does_not_match_its_digest_is_refused(registry_proxy, app):
    images, _ = app
    registry_proxy.add(Fault(method="GET", path=f"/manifests/{images[0].digest}", body=b'{"schemaVersion": 2}',
                             fix_digest=False))
    with pytest.raises(MalformedDataError) as caught:
        load(registry_proxy.url)
    assert "does not match that digest" in one_line(caught.value)


def test_a_catalog_that_is_not_json(registry_proxy, app):
    registry_proxy.add(Fault(method="GET", path="/v2/_catalog", body=b"<html></html>", fix_digest=False))
    with pytest.raises(MalformedDataError) as caught:  # malformed data: exit 2, as for a manifest
        load(registry_proxy.url)
    assert "not JSON" in one_line(caught.value)


def test_registry_text_in_messages_is_cut_to_one_printable_line(registry_proxy, app):
    images, _ = app
    registry_proxy.add(Fault(method="GET", path=f"/manifests/{images[0].digest}", status=500,
                             message="disk \x1b[31mon fire\x1b[0m\nsecond line " + "x" * 1000))
    with pytest.raises(StoreError) as caught:
        load(registry_proxy.url)
    message = one_line(caught.value)
    assert "\x1b" not in message and "disk \\x1b[31mon fire" in message  # shown as a visible escape


# -- from the command line: one line on stderr, exit code, no traceback -------------------------


def test_the_command_line_prints_one_line_and_no_traceback(registry_proxy, app):
    registry_proxy.add(Fault(method="GET", path="/manifests/latest", body=b"not json at all"))
    done = subprocess.run([sys.executable, "-m", "ocitree.tui.cli", "ls", registry_proxy.url],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert any("manifest is not JSON" in line for line in lines)


def test_open_store_passes_options_through(registry_proxy, app):
    store = open_store(registry_proxy.url, SourceOptions(read_only=True, concurrency=2))
    try:
        assert store.read_only and store.concurrency == 2
        with pytest.raises(StoreError) as caught:
            store.session({"team/app"})
        assert "read-only" in one_line(caught.value)
    finally:
        store.close()


def test_names_from_the_registry_cannot_drive_the_terminal(registry_proxy, app):
    evil = "v1\x1b]0;pwned\x07\x1b[2J"
    registry_proxy.add(Fault(method="GET", path="/v2/team/app/tags/list",
                             body=json.dumps({"name": "team/app", "tags": [evil]}).encode(), fix_digest=False))
    registry_proxy.add(Fault(method="GET", path="/manifests/v1", status=500))
    with pytest.raises(MalformedDataError) as caught:  # no registry takes such a tag: refused while loading
        load(registry_proxy.url)
    message = one_line(caught.value)
    assert "\x1b" not in message and "\x07" not in message
    assert "'v1\\x1b]0;pwned\\x07\\x1b[2J', which is not a valid tag" in message


def test_a_403_with_registry_text_is_one_printable_line_that_says_what_to_do(registry_proxy, app):
    registry_proxy.add(Fault(method="GET", path="/v2/_catalog", status=403,
                             message="denied \x1b[31mby policy\x1b[0m\nsecond line"))
    with pytest.raises(StoreError) as caught:
        load(registry_proxy.url)
    message = one_line(caught.value)
    assert "\x1b" not in message and "denied \\x1b[31mby policy" in message
    assert "permission to list the catalog" in message
    assert message.endswith(f"give credentials with --username and --password-stdin, or docker login {registry_proxy.host}")


def test_closing_after_a_failed_load_leaves_no_fetch_waiting_on_a_stalled_registry(registry_proxy, app):
    """The command line exits through close(): a fetch still waiting on a registry that has
    stopped answering must end there, not keep the process alive until the timeout."""
    import threading

    builder = RegistryBuilder()
    builder.image("team/other", ["v1"])
    push_builder(builder, registry_proxy.upstream)
    registry_proxy.add(Fault(method="GET", path="/v2/team/other/manifests/v1", delay=60))
    registry_proxy.add(Fault(method="GET", path="/v2/team/app/tags/list", delay=0.5))  # fail after v1 went out
    registry_proxy.add(Fault(method="GET", path="/manifests/latest", status=500))
    store = RegistryStore(registry_proxy.url, SourceOptions(timeout=60), retry=FAST_RETRY)
    try:
        with pytest.raises(StoreError):
            store.load()
    finally:
        fetching = [t for t in threading.enumerate() if t.name.startswith("ocitree-registry")]
        store.close()
    assert registry_proxy.count("GET", "/v2/team/other/manifests/v1") == 1  # it was waiting
    for thread in fetching:
        thread.join(timeout=10)
    assert not [t for t in fetching if t.is_alive()]
