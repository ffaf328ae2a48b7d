"""A loopback token server, and docker-registry configured to trust it (`auth.token`).

The server issues ES256 JWTs the CNCF distribution registry accepts: the signing certificate is
self-signed, sent in the token's `x5c` header, and is the registry's whole `rootcertbundle`.
It records every token request so tests can count them, and can be told to misbehave:
issue already-expired tokens, report a short `expires_in`, answer with `access_token`.

    GET  /token?service=&scope=&scope=   Basic auth optional (anonymous otherwise)
    POST /token                          OAuth2 form: grant_type=refresh_token, refresh_token=...
"""

from __future__ import annotations

import base64
import datetime
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.helpers.registry_server import RegistryServer

ISSUER = "ocitree-test-issuer"
SERVICE = "ocitree-test-registry"
# Distribution accepts a token up to 60 s after its `exp`: an expired one must be older than that.
REGISTRY_LEEWAY = 60


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class Signer:
    """An EC P-256 key and a self-signed certificate for it."""

    def __init__(self) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        self._key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ocitree test token issuer")])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        self.certificate_der = self.certificate.public_bytes(serialization.Encoding.DER)
        self.certificate_pem = self.certificate.public_bytes(serialization.Encoding.PEM)

    def jwt(self, claims: dict) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

        header = {"typ": "JWT", "alg": "ES256", "x5c": [base64.b64encode(self.certificate_der).decode("ascii")]}
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        r, s = decode_dss_signature(self._key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        return f"{signing_input}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


@dataclass
class TokenRequest:
    method: str
    user: str | None  # None: anonymous
    scopes: list[str]
    refused: bool


@dataclass
class TokenServer:
    """Users map to (password, actions they hold on every repository; "catalog" to list the catalog).

    The key None holds what anonymous requests get."""

    users: dict[str | None, tuple[str | None, set[str]]] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict, repr=False)  # token -> user
    expires_in: int | None = 300  # what the answer says; None leaves the field out
    token_field: str = "token"
    expired_tokens_to_issue: int = 0  # this many tokens come already expired (beyond the leeway)
    requests: list[TokenRequest] = field(default_factory=list)
    issued: list[str] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.signer = Signer()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/token"

    def count(self, scope: str | None = None) -> int:
        """Token requests granted so far (for `scope` only, when given)."""
        with self._lock:
            return sum(1 for r in self.requests if not r.refused and (scope is None or scope in r.scopes))

    def start(self) -> TokenServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):
                query = parse_qs(urlsplit(self.path).query)
                user = server._basic_user(self.headers.get("Authorization"))
                self._answer("GET", user, query.get("scope", []))

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                user = False
                if form.get("grant_type") == ["refresh_token"]:
                    user = server.refresh_tokens.get(form.get("refresh_token", [""])[0], False)
                scopes = " ".join(form.get("scope", [])).split()
                self._answer("POST", user, scopes)

            def _answer(self, method, user, scopes):
                # user: a name, None for anonymous, False for refused credentials.
                status, body = server._issue(method, user, scopes)
                data = json.dumps(body).encode()
                self.send_response(status)
                if status == 401:
                    self.send_header("WWW-Authenticate", 'Basic realm="token"')
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def _basic_user(self, header: str | None):
        if not header:
            return None
        if not header.startswith("Basic "):
            return False
        try:
            name, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        known = self.users.get(name)
        return name if known and name is not None and known[0] == password else False

    def _issue(self, method: str, user, scopes: list[str]) -> tuple[int, dict]:
        if user is False:
            with self._lock:
                self.requests.append(TokenRequest(method, None, scopes, refused=True))
            return 401, {"details": "incorrect username or password"}
        _, holds = self.users.get(user, (None, set()))
        access = []
        for scope in scopes:
            parts = scope.split(":")
            kind, name, wanted = parts[0], ":".join(parts[1:-1]), parts[-1].split(",")
            if kind == "registry" and name == "catalog":
                granted = ["*"] if "catalog" in holds else []
            else:
                granted = [a for a in wanted if a in holds]
            access.append({"type": kind, "name": name, "actions": granted})
        now = int(time.time())
        with self._lock:
            expired = self.expired_tokens_to_issue > 0
            if expired:
                self.expired_tokens_to_issue -= 1
            self.requests.append(TokenRequest(method, user, scopes, refused=False))
        exp = now - REGISTRY_LEEWAY - 60 if expired else now + 300
        token = self.signer.jwt({"iss": ISSUER, "sub": user or "", "aud": SERVICE, "exp": exp,
                                 "nbf": now - 10, "iat": now, "jti": secrets.token_hex(8), "access": access})
        with self._lock:
            self.issued.append(token)
        body = {self.token_field: token}
        if self.expires_in is not None:
            body["expires_in"] = self.expires_in
        return 200, body


class TokenRegistry(RegistryServer):
    """docker-registry on a free loopback port, trusting `tokens` for authorization.

    The same server as tests/helpers/registry_server.py's (log to a file, start and stop), with
    the config's `auth:` section naming the token server instead of an htpasswd file."""

    def __init__(self, tokens: TokenServer, root: Path, realm: str | None = None, tls: bool = False):
        super().__init__(binary="", root=root, tls=tls)
        self.tokens = tokens
        self.realm = realm  # the token server's URL as the registry names it (default: tokens.realm)

    def start(self, binary: str | None = None, timeout: float = 10.0) -> TokenRegistry:
        if binary:
            self.binary = binary
        return super().start(timeout)

    def _auth_lines(self) -> list[str]:
        bundle = self.root / "token-root.pem"
        bundle.write_bytes(self.tokens.signer.certificate_pem)
        return [
            "auth:",
            "  token:",
            f"    realm: {self.realm or self.tokens.realm}",
            f"    service: {SERVICE}",
            f"    issuer: {ISSUER}",
            f"    rootcertbundle: {bundle}",
        ]
