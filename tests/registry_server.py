"""Fixtures that start Debian's docker-registry (CNCF distribution 2.8) on a free loopback port.

Each server gets its own temporary storage root, so tests never see each other's content.
A server starts in about 0.05 s, so most fixtures give each test a fresh one.

    registry             a fresh server with deletion enabled (function scope)
    registry_no_delete   deletion disabled: every DELETE answers 405 UNSUPPORTED
    registry_basic_auth  htpasswd basic auth (bcrypt file made by `htpasswd -Bbc`);
                         .url, .username, .password
    registry_factory     start servers with any of the options above, stopped at teardown

A server can be stopped and started again on the same port and storage (`stop()`,
`start()`), which is how tests cut a registry off in the middle of a deletion.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

REGISTRY_BINARY = "docker-registry"
REGISTRY_PACKAGE = "docker-registry"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _require_registry_binary() -> str:
    from tests.binaries import require_binary

    return require_binary(REGISTRY_BINARY, REGISTRY_PACKAGE)


@dataclass
class RegistryServer:
    """One docker-registry process on 127.0.0.1:<port> with its storage under `root`."""

    binary: str
    root: Path
    delete_enabled: bool = True
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.root / "registry.log"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _write_config(self) -> Path:
        storage = self.root / "storage"
        storage.mkdir(parents=True, exist_ok=True)
        lines = [
            "version: 0.1",
            "log:",
            "  level: error",
            "  accesslog:",
            "    disabled: true",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {storage}",
            "  delete:",
            f"    enabled: {'true' if self.delete_enabled else 'false'}",
            "http:",
            f"  addr: 127.0.0.1:{self.port}",
        ]
        if self.username is not None:
            htpasswd = self.root / "htpasswd"
            if not htpasswd.exists():
                binary = shutil.which("htpasswd")
                if binary is None:
                    pytest.skip("htpasswd is not installed: apt-get install -y apache2-utils")
                subprocess.run([binary, "-Bbc", str(htpasswd), self.username, self.password or ""],
                               check=True, capture_output=True)
            lines += ["auth:", "  htpasswd:", "    realm: ocitree-test", f"    path: {htpasswd}"]
        config = self.root / "config.yml"
        config.write_text("\n".join(lines) + "\n")
        return config

    def start(self, timeout: float = 10.0) -> RegistryServer:
        assert self.process is None, "already running"
        config = self._write_config()
        # Even at level error the server logs every 404; a pipe nobody reads would fill and
        # block it, so the log goes to a file.
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([self.binary, "serve", str(config)], stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                self.process = None
                err = self.log_path.read_text(errors="replace").strip()[-500:]
                raise RuntimeError(f"docker-registry exited at start: {err}")
            try:
                # 200 without auth, 401 with it: either way the server answers.
                httpx.get(f"{self.url}/v2/", timeout=1.0)
                return self
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"docker-registry did not answer on {self.url} within {timeout} s")
                time.sleep(0.01)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    def restart(self) -> RegistryServer:
        self.stop()
        return self.start()


class RegistryFactory:
    """Starts servers on demand; stops every one at teardown."""

    def __init__(self, tmp_path_factory):
        self._tmp = tmp_path_factory
        self._binary: str | None = None
        self.servers: list[RegistryServer] = []

    def __call__(self, delete_enabled: bool = True, username: str | None = None,
                 password: str | None = None) -> RegistryServer:
        if self._binary is None:
            self._binary = _require_registry_binary()
        server = RegistryServer(self._binary, self._tmp.mktemp("registry"), delete_enabled, username, password)
        self.servers.append(server)
        return server.start()

    def stop_all(self) -> None:
        for server in self.servers:
            server.stop()


@pytest.fixture
def registry_factory(tmp_path_factory):
    factory = RegistryFactory(tmp_path_factory)
    yield factory
    factory.stop_all()


@pytest.fixture
def registry(registry_factory) -> RegistryServer:
    """A fresh, empty registry with deletion enabled."""
    return registry_factory()


@pytest.fixture
def registry_no_delete(registry_factory) -> RegistryServer:
    """A fresh registry with `storage.delete.enabled: false`."""
    return registry_factory(delete_enabled=False)


@pytest.fixture
def registry_basic_auth(registry_factory) -> RegistryServer:
    """A fresh registry behind htpasswd basic auth; .url, .username, .password."""
    return registry_factory(username="ocitree-tester", password="s3cret-pass-word")
