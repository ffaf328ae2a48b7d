"""Finding the credentials for a registry host the way docker and podman do.

Order: `--username` with `--password-stdin`; the file REGISTRY_AUTH_FILE names; docker's
config.json (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`: `credHelpers`,
`credsStore`, then `auths`); containers' auth.json (`$XDG_RUNTIME_DIR/containers/auth.json`,
then `$XDG_CONFIG_HOME/containers/auth.json`, default `~/.config/containers/auth.json`).

Secrets are only ever held in memory: no message or repr here contains one.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import BadInputError, StoreError
from .answers import printable

if TYPE_CHECKING:
    from ..options import SourceOptions

# Docker Hub answers to several names; docker stores its login under the legacy index URL.
DOCKER_HUB_NAMES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
DOCKER_HUB_LOGIN_KEY = "https://index.docker.io/v1/"

# What a credential helper answers as Username when Secret is an identity (refresh) token.
IDENTITY_TOKEN_USERNAME = "<token>"

HELPER_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)
    # An OAuth2 refresh token from `docker login` against an identity provider (docker's `identitytoken`).
    identity_token: str | None = field(default=None, repr=False)
    # Where they were found, for error messages: "--username", a file path, or a helper name.
    source: str = ""

    def describe_user(self) -> str:
        if self.identity_token and self.username in ("", IDENTITY_TOKEN_USERNAME):
            return "the identity token"
        return f"user {self.username}"


def normalize_host(address: str) -> str:
    """`https://Registry.example.com:5000/v1/` -> `registry.example.com:5000`; Docker Hub names -> `docker.io`."""
    host = address.strip()
    for scheme in ("https://", "http://"):
        if host.lower().startswith(scheme):
            host = host[len(scheme):]
            break
    host = host.split("/", 1)[0].lower()
    return "docker.io" if host in DOCKER_HUB_NAMES else host


def lookup_credentials(host: str, options: SourceOptions | None = None) -> Credentials | None:
    """The credentials to use for registry `host` (`host[:port]`, a URL is tolerated), or None."""
    host = normalize_host(host)
    username = getattr(options, "username", None)
    if username is not None:
        password = getattr(options, "password", None)
        if password is None:
            raise BadInputError(f"--username {username} needs a password: pipe it to --password-stdin")
        return Credentials(username, password, source="--username")

    explicit = os.environ.get("REGISTRY_AUTH_FILE")
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise BadInputError(f"REGISTRY_AUTH_FILE names {path}, which is not a file: fix or unset it")
        found = _from_auth_file(path, host)
        if found:
            return found

    for path in _default_auth_files():
        if path.is_file():
            found = _from_auth_file(path, host)
            if found:
                return found
    return None


def _default_auth_files() -> list[Path]:
    docker_dir = os.environ.get("DOCKER_CONFIG")
    files = [Path(docker_dir).expanduser() / "config.json" if docker_dir else Path.home() / ".docker" / "config.json"]
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime):
        files.append(Path(runtime) / "containers" / "auth.json")
    config_home = os.environ.get("XDG_CONFIG_HOME")
    base = Path(config_home) if config_home and os.path.isabs(config_home) else Path.home() / ".config"
    files.append(base / "containers" / "auth.json")
    return files


def _load(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not readable as UTF-8 text"
        raise BadInputError(f"credentials file {path}: {reason}: fix its permissions or content") from None
    try:
        doc = json.loads(text) if text.strip() else {}
    except RecursionError:
        raise BadInputError(f"credentials file {path} is JSON nested too deeply: fix or move it") from None
    except json.JSONDecodeError as exc:
        # The message holds a position only, never the text around it (which may be a secret).
        raise BadInputError(
            f"credentials file {path} is not valid JSON ({exc.msg}, line {exc.lineno} column {exc.colno}): fix or move it"
        ) from None
    if not isinstance(doc, dict):
        raise BadInputError(f"credentials file {path} must hold a JSON object: fix or move it")
    return doc


def _section(doc: dict[str, Any], path: Path, name: str) -> dict[str, Any]:
    value = doc.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadInputError(f"credentials file {path}: '{name}' must be an object: fix or move the file")
    return value


def _matching(section: dict[str, Any], host: str) -> list[str]:
    """Keys naming `host`, the literal one first, then docker-style variants (scheme, /v1/ suffix, aliases)."""
    exact = [key for key in section if key == host]
    loose = [key for key in section if key != host and normalize_host(key) == host]
    if host == "docker.io":
        loose.sort(key=lambda key: key != DOCKER_HUB_LOGIN_KEY)
    return exact + loose


def _from_auth_file(path: Path, host: str) -> Credentials | None:
    doc = _load(path)
    helpers = _section(doc, path, "credHelpers")
    helper_keys = _matching(helpers, host)
    helper = helpers[helper_keys[0]] if helper_keys else doc.get("credsStore")
    if helper:
        if not isinstance(helper, str):
            raise BadInputError(f"credentials file {path}: the credential helper for {host} must be a name: fix the file")
        found = _from_helper(helper, host, path)
        if found:
            return found
    auths = _section(doc, path, "auths")
    for key in _matching(auths, host):
        found = _from_entry(auths[key], key, path)
        if found:
            return found
    return None


def _from_entry(entry: object, key: str, path: Path) -> Credentials | None:
    if not isinstance(entry, dict):
        raise BadInputError(f"credentials file {path}: the entry for {key} under 'auths' must be an object: fix the file")
    for name in ("auth", "username", "password", "identitytoken"):
        if entry.get(name) is not None and not isinstance(entry[name], str):
            raise BadInputError(f"credentials file {path}: '{name}' for {key} must be a string: fix the file")
    identity_token = entry.get("identitytoken") or None
    auth = entry.get("auth")
    if auth:
        try:
            decoded = base64.b64decode(auth.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = None
        if decoded is None or ":" not in decoded:
            raise BadInputError(
                f"credentials file {path}: 'auth' for {key} is not base64 of user:password: log in to {key} again"
            )
        user, _, secret = decoded.partition(":")
        return Credentials(user, secret, identity_token, source=str(path))
    username, password = entry.get("username"), entry.get("password")
    if username and password is not None:
        return Credentials(username, password, identity_token, source=str(path))
    if identity_token:
        return Credentials(username or IDENTITY_TOKEN_USERNAME, "", identity_token, source=str(path))
    return None


def _from_helper(name: str, host: str, path: Path) -> Credentials | None:
    """Ask `docker-credential-<name> get`: the server address on stdin, JSON {Username, Secret} on stdout."""
    program = f"docker-credential-{name}"
    binary = shutil.which(program)
    if binary is None:
        raise BadInputError(
            f"credentials file {path} names the credential helper {name!r}, but {program} is not on PATH: "
            f"install it or remove it from the file"
        )
    server = DOCKER_HUB_LOGIN_KEY if host == "docker.io" else host
    try:
        done = subprocess.run([binary, "get"], input=server, capture_output=True, text=True,
                              timeout=HELPER_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        raise StoreError(f"credential helper {program} gave no answer for {host} within {HELPER_TIMEOUT_SECONDS} s: "
                         f"check it with `{program} get`") from None
    except OSError as exc:
        raise StoreError(f"credential helper {binary} could not be run ({exc.strerror}): check that it is an "
                         f"executable program") from None
    if done.returncode != 0:
        said = (done.stdout.strip() or done.stderr.strip()).splitlines()
        first = said[0] if said else f"exit code {done.returncode}"
        if "credentials not found" in first.lower():
            return None
        raise StoreError(f"credential helper {program} failed for {host}: {printable(first)}: "
                         f"fix the helper, or log in again (docker login {host})")
    try:
        answer = json.loads(done.stdout)
    except (json.JSONDecodeError, RecursionError):
        answer = None
    if not isinstance(answer, dict) or not isinstance(answer.get("Username", ""), str) \
            or not isinstance(answer.get("Secret"), str):
        raise StoreError(f"credential helper {program} answered for {host} with something other than "
                         f"its JSON {{Username, Secret}}: check the helper")
    username, secret = answer.get("Username", ""), answer["Secret"]
    if not secret:
        return None
    if username == IDENTITY_TOKEN_USERNAME:
        return Credentials(username, "", identity_token=secret, source=program)
    return Credentials(username, secret, source=program)
