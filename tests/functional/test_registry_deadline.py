"""Every registry request has a total deadline, not only a per-read timeout.

A registry (or a proxy, or an attacker) that sends its answer one byte at a time never lets a
per-read timeout fire. The proxy's `drip` fault does that in front of the real docker-registry,
on the httpx path (probe, catalog, tag lists) and on the fast path (manifests) alike.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

import pytest

from ocitree.core.errors import StoreError
from ocitree.core.stores.registry.store import RegistryStore
from ocitree.core.stores.options import SourceOptions
from ocitree.core.stores.registry.transport import RetryPolicy, SlowRegistryError
from ocitree.sample_data.builder import RegistryBuilder
from tests.helpers.registry_fault_proxy import Fault
from tests.helpers.registry_push import push_builder

pytestmark = pytest.mark.registry

DRIP = 0.25  # seconds between bytes: far below any per-read timeout used here
FAST_RETRY = RetryPolicy(attempts=3, first_delay=0.01, max_delay=0.02)


@pytest.fixture
def app(registry_proxy):
    builder = RegistryBuilder()
    images = [builder.image("team/app", arch=a) for a in ("amd64", "arm64")]
    builder.index("team/app", images, ["latest"])
    push_builder(builder, registry_proxy.upstream)
    return registry_proxy


def _load_failing(url: str, timeout: float) -> tuple[StoreError, float]:
    store = RegistryStore(url, SourceOptions(timeout=timeout), retry=FAST_RETRY)
    started = time.monotonic()
    try:
        with pytest.raises(StoreError) as caught:
            store.load()
    finally:
        store.close()
    return caught.value, time.monotonic() - started


@pytest.mark.parametrize("path, endpoint", [
    ("/v2/team/app/tags/list", "GET /v2/team/app/tags/list"),  # httpx
    ("/v2/team/app/manifests/latest", "GET /v2/team/app/manifests/latest"),  # the fast path
], ids=["httpx", "fast-path"])
def test_an_answer_dripped_byte_by_byte_ends_at_the_deadline_naming_the_endpoint(app, path, endpoint):
    app.add(Fault(method="GET", path=path, drip=DRIP))
    error, elapsed = _load_failing(app.url, timeout=1.5)
    message = str(error)
    assert isinstance(error, SlowRegistryError)
    assert "\n" not in message
    assert f"did not answer within 1.5 s" in message and endpoint in message, message
    assert "--timeout" in message
    # Without a deadline this answer (hundreds of bytes) would take minutes.
    assert elapsed < 10


def test_a_dripping_registry_is_not_waited_for_twice(app):
    """The referrers check swallows most failures (a registry without the API); a timeout
    is not one of them, or the load would wait once there and once again on the tags."""
    app.add(Fault(method="GET", path="/referrers/", drip=DRIP))
    error, elapsed = _load_failing(app.url, timeout=1.5)
    assert "/referrers/" in str(error)
    assert app.count("GET", "/tags/list") == 0


def test_a_slow_answer_within_the_deadline_is_read(app):
    app.add(Fault(method="GET", path="/v2/team/app/tags/list", drip=0.01))
    store = RegistryStore(app.url, SourceOptions(timeout=20), retry=FAST_RETRY)
    try:
        assert store.load().artifact_count == 3
    finally:
        store.close()


# -- from the command line --------------------------------------------------------------------


def _ocitree(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ocitree.tui.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_ls_in_a_pipe_ends_with_one_line_naming_the_slow_endpoint(app):
    app.add(Fault(method="GET", path="/v2/team/app/manifests/latest", drip=DRIP))
    started = time.monotonic()
    done = _ocitree("ls", app.url, "--timeout", "1.5")
    elapsed = time.monotonic() - started
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "did not answer within 1.5 s" in done.stderr and "GET /v2/team/app/manifests/latest" in done.stderr
    print(f"ls against a dripping registry, --timeout 1.5: ended after {elapsed:.1f} s")
    assert elapsed < 15


def test_ls_on_a_terminal_shows_progress_then_the_error(app):
    app.add(Fault(method="GET", path="/v2/team/app/manifests/latest", drip=DRIP))
    pid, fd = pty.fork()
    if pid == 0:  # the child: ocitree with the pty as its terminal
        os.execv(sys.executable, [sys.executable, "-m", "ocitree.tui.cli", "ls", app.url, "--timeout", "2"])
    started = time.monotonic()
    screen = b""
    try:
        while time.monotonic() - started < 30:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                screen += chunk
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    text = screen.decode("utf-8", "replace")
    assert os.waitstatus_to_exitcode(status) == 1
    assert "loading" in text  # the progress line, while it waits
    assert "did not answer within 2 s" in text and "GET /v2/team/app/manifests/latest" in text
    assert "Traceback" not in text


def test_the_config_file_sets_the_deadline(app, tmp_path):
    app.add(Fault(method="GET", path="/v2/team/app/tags/list", drip=DRIP))
    config = tmp_path / "config.toml"
    config.write_text("timeout = 1.5\n")
    done = _ocitree("ls", app.url, env={**os.environ, "OCITREE_CONFIG": str(config)})
    assert done.returncode == 1 and "did not answer within 1.5 s" in done.stderr


@pytest.mark.parametrize("value", ["0", "-1", "nan", "1e9"])
def test_a_timeout_that_is_not_a_sensible_number_of_seconds_is_bad_input(value):
    done = _ocitree("ls", "http://127.0.0.1:9", "--timeout", value)
    assert done.returncode == 2 and done.stderr.startswith("ocitree: --timeout takes a number of seconds")


@pytest.mark.parametrize("value", ["0", "true", '"30"'])
def test_a_bad_timeout_in_the_config_file_is_bad_input(tmp_path, value):
    config = tmp_path / "config.toml"
    config.write_text(f"timeout = {value}\n")
    done = _ocitree("ls", "http://127.0.0.1:9", env={**os.environ, "OCITREE_CONFIG": str(config)})
    assert done.returncode == 2 and "'timeout' must be a number of seconds" in done.stderr


# -- over TLS: the same deadline on both paths ---------------------------------------------------


class DrippingTLSRegistry:
    """A tiny HTTPS registry (one repository, one tag) that drips the answers to paths containing `drip_on`."""

    def __init__(self, tmp_path, drip_on: str):
        import json
        import ssl
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from ocitree.core import media_types as mt
        from tests.helpers.registry_server import _write_self_signed

        cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
        _write_self_signed(cert, key)
        manifest = json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST,
                               "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                          "digest": "sha256:" + "a" * 64, "size": 2},
                               "layers": []}).encode()
        answers = {"/v2/": (b"{}", "application/json"),
                   "/v2/_catalog": (b'{"repositories": ["team/app"]}', "application/json"),
                   "/v2/team/app/tags/list": (b'{"name": "team/app", "tags": ["v1"]}', "application/json"),
                   "/v2/team/app/manifests/v1": (manifest, mt.OCI_MANIFEST)}

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                path = self.path.split("?")[0]
                body, content_type = answers.get(path, (b'{"errors": []}', "application/json"))
                status = 200 if path in answers else 404
                head = (f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\n"
                        f"Content-Length: {len(body)}\r\n\r\n").encode()
                data = head + body
                try:
                    if drip_on in path:
                        for i in range(len(data)):
                            self.wfile.write(data[i:i + 1])
                            time.sleep(DRIP)
                    else:
                        self.wfile.write(data)
                except (ConnectionError, OSError):
                    self.close_connection = True

            do_HEAD = do_GET

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize("drip_on, endpoint", [
    ("/v2/_catalog", "GET /v2/_catalog"),  # httpx over TLS
    ("/manifests/v1", "GET /v2/team/app/manifests/v1"),  # the fast path over TLS
], ids=["httpx", "fast-path"])
def test_over_tls_a_dripped_answer_ends_at_the_deadline(tmp_path, drip_on, endpoint):
    pytest.importorskip("cryptography")

    server = DrippingTLSRegistry(tmp_path, drip_on)
    try:
        store = RegistryStore(server.url, SourceOptions(insecure=True, timeout=1.5), retry=FAST_RETRY)
        started = time.monotonic()
        try:
            with pytest.raises(SlowRegistryError) as caught:
                store.load()
        finally:
            store.close()
        assert endpoint in str(caught.value) and "within 1.5 s" in str(caught.value)
        assert time.monotonic() - started < 10
    finally:
        server.stop()


def test_every_httpx_transport_of_the_client_has_the_deadline_backend(monkeypatch):
    """deadline.install reaches into httpx's pools (httpx has no option for a network backend):
    if an httpx release renames what it sets, this fails at once instead of the deadline vanishing."""
    from ocitree.core.stores.registry.deadline import DeadlineBackend
    from ocitree.core.stores.registry.endpoint import parse_endpoint
    from ocitree.core.stores.registry.transport import RegistryClient

    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # a proxy transport is mounted too
    client = RegistryClient(parse_endpoint("https://registry.example"), None)
    try:
        transports = [client.http._transport, *(t for t in client.http._mounts.values() if t is not None)]
        assert len(transports) >= 2
        for transport in transports:
            assert isinstance(transport._pool._network_backend, DeadlineBackend)
    finally:
        client.close()


def test_ls_ends_right_after_its_error_while_other_requests_still_wait(app):
    """One request fails while another still waits on a stalled endpoint (an httpx one): the
    error is printed and the process ends then, not when the waiting request's deadline comes."""
    builder = RegistryBuilder()
    builder.image("team/other", ["v1"])
    push_builder(builder, app.upstream)
    app.add(Fault(method="GET", path="/v2/team/other/tags/list", delay=60))
    app.add(Fault(method="GET", path="/v2/team/app/tags/list", delay=0.5))  # fail after the other went out
    app.add(Fault(method="GET", path="/manifests/latest", status=500))
    started = time.monotonic()
    done = _ocitree("ls", app.url, "--timeout", "60")
    elapsed = time.monotonic() - started
    assert done.returncode == 1 and "HTTP 500" in done.stderr
    assert app.count("GET", "/v2/team/other/tags/list") == 1  # it was waiting
    print(f"ls ended {elapsed:.1f} s after it started, with a request still waiting")
    assert elapsed < 15
