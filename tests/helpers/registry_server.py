"""Fixtures that start Debian's docker-registry (CNCF distribution 2.8) on a free loopback port.

Each server gets its own temporary storage root, so tests never see each other's content.
A server starts in about 0.05 s, so most fixtures give each test a fresh one.

    registry             a fresh server with deletion enabled (function scope)
    registry_no_delete   deletion disabled: every DELETE answers 405 UNSUPPORTED
    registry_basic_auth  htpasswd basic auth (bcrypt file made by `htpasswd -Bbc`);
                         .url, .username, .password
    registry_tls         HTTPS with a self-signed certificate for 127.0.0.1 (.url is https://)
    registry_factory     start servers with any of the options above, stopped at teardown
    registry_proxy       a FaultProxy (tests/helpers/registry_fault_proxy.py) in front of `registry`

A server can be stopped and started again on the same port and storage (`stop()`,
`start()`), which is how tests cut a registry off in the middle of a deletion.
"""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

REGISTRY_BINARY = "docker-registry"
REGISTRY_PACKAGE = "docker-registry"


def free_port(address: str = "127.0.0.1") -> int:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def _require_registry_binary() -> str:
    from tests.helpers.binaries import require_binary

    return require_binary(REGISTRY_BINARY, REGISTRY_PACKAGE)


@dataclass
class RegistryServer:
    """One docker-registry process on <address>:<port> (127.0.0.1, or ::1) with its storage under `root`."""

    binary: str
    root: Path
    delete_enabled: bool = True
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    address: str = "127.0.0.1"
    port: int = 0  # 0: a free one, picked at creation
    process: subprocess.Popen | None = None

    def __post_init__(self) -> None:
        if not self.port:
            self.port = free_port(self.address)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    @property
    def log_path(self) -> Path:
        return self.root / "registry.log"

    @property
    def host(self) -> str:
        address = f"[{self.address}]" if ":" in self.address else self.address
        return f"{address}:{self.port}"

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
            f'  addr: "{self.host}"',
        ]
        if self.tls:
            cert, key = self.root / "tls.crt", self.root / "tls.key"
            if not cert.exists():
                _write_self_signed(cert, key)
            lines += ["  tls:", f"    certificate: {cert}", f"    key: {key}"]
        lines += self._auth_lines()
        config = self.root / "config.yml"
        config.write_text("\n".join(lines) + "\n")
        return config

    def _auth_lines(self) -> list[str]:
        """The config's `auth:` section: htpasswd basic auth when a username is set."""
        if self.username is None:
            return []
        htpasswd = self.root / "htpasswd"
        if not htpasswd.exists():
            from tests.helpers.binaries import require_binary

            binary = require_binary("htpasswd", "apache2-utils")
            subprocess.run([binary, "-Bbc", str(htpasswd), self.username, self.password or ""],
                           check=True, capture_output=True)
        return ["auth:", "  htpasswd:", "    realm: ocitree-test", f"    path: {htpasswd}"]

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
                httpx.get(f"{self.url}/v2/", timeout=1.0, verify=False)
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


def _write_self_signed(cert_path: Path, key_path: Path) -> None:
    """A self-signed certificate for 127.0.0.1 and localhost (cryptography is a test dependency)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ocitree test registry")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))


class RegistryFactory:
    """Starts servers on demand; stops every one at teardown."""

    def __init__(self, tmp_path_factory):
        self._tmp = tmp_path_factory
        self._binary: str | None = None
        self.servers: list[RegistryServer] = []

    def __call__(self, delete_enabled: bool = True, username: str | None = None,
                 password: str | None = None, tls: bool = False, address: str = "127.0.0.1") -> RegistryServer:
        if self._binary is None:
            self._binary = _require_registry_binary()
        server = RegistryServer(self._binary, self._tmp.mktemp("registry"), delete_enabled, username, password, tls,
                                address)
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


@pytest.fixture
def registry_tls(registry_factory) -> RegistryServer:
    """A fresh registry over HTTPS with a self-signed certificate."""
    return registry_factory(tls=True)


@pytest.fixture
def registry_proxy(registry):
    """A fault-injecting proxy in front of the `registry` fixture's server."""
    from tests.helpers.registry_fault_proxy import FaultProxy

    proxy = FaultProxy(registry.url).start()
    yield proxy
    proxy.stop()
