"""HTTP authentication for registries, as an httpx.Auth usable from sync and async clients.

A request goes out anonymously until the registry asks (401 + WWW-Authenticate):
- `Basic`: it is sent again with the credentials, and every later request to that host carries them.
- `Bearer realm=,service=,scope=`: a token is fetched from the realm (with the credentials when there
  are any; over https, or plain http only to a plain-http registry's own host) and the request sent again. Tokens are cached per (realm, service, scope) until shortly
  before `expires_in` runs out, and fetched ahead of later requests to a host known to want them, so
  one token serves every request with the same scope. A token the registry rejects is renewed once.

Only one token request per scope is in flight at a time, across threads and across asyncio tasks.
Passwords and tokens are never logged and appear in no message or repr.
"""

from __future__ import annotations

import asyncio
import base64
import re
import threading
import time
import weakref
from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import dataclass, field
from typing import cast

import httpx

from ...errors import StoreError
from .answers import printable, registry_error
from .credentials import Credentials

DEFAULT_EXPIRES_IN = 60  # seconds, when the token server does not say (distribution's token spec)
TOKEN_CLIENT_ID = "ocitree"

# --- WWW-Authenticate --------------------------------------------------------------------


@dataclass(frozen=True)
class Challenge:
    scheme: str  # lower case: "basic", "bearer", ...
    params: dict[str, str]

    @property
    def scopes(self) -> list[str]:
        return self.params.get("scope", "").split()


_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_PARAM = re.compile(rf'\s*({_TOKEN})\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]*)\s*,?')
_SCHEME = re.compile(rf"\s*,?\s*({_TOKEN})(?:\s+|$|(?=,))")


def parse_challenges(values: list[str]) -> list[Challenge]:
    """Every challenge in the given WWW-Authenticate header values (RFC 7235 auth-params only)."""
    challenges = []
    for value in values:
        pos = 0
        while pos < len(value):
            scheme = _SCHEME.match(value, pos)
            if not scheme:
                break
            pos = scheme.end()
            params: dict[str, str] = {}
            while True:
                param = _PARAM.match(value, pos)
                if not param:
                    break
                raw = param.group(2)
                if raw.startswith('"'):
                    raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
                params[param.group(1).lower()] = raw
                pos = param.end()
            challenges.append(Challenge(scheme.group(1).lower(), params))
            if pos == scheme.end() and not params:
                # A scheme with a token68 or nothing after it: skip to the next comma.
                comma = value.find(",", pos)
                pos = len(value) if comma < 0 else comma + 1
    return challenges


# --- scopes ------------------------------------------------------------------------------

_REPOSITORY_PATH = re.compile(r"^/v2/(.+)/(?:manifests/[^/]+|blobs/uploads/[^/]*|blobs/[^/]+|tags/list|referrers/[^/]+)$")


def scope_for(method: str, path: str) -> str | None:
    """The token scope a registry asks for this request; None for the `/v2/` version check."""
    if path.rstrip("/") == "/v2/_catalog":
        return "registry:catalog:*"
    match = _REPOSITORY_PATH.match(path)
    if not match:
        return None
    name = match.group(1)
    method = method.upper()
    if method in ("GET", "HEAD"):
        actions = "pull"
    elif method == "DELETE":
        actions = "delete"  # distribution 2.7+ and Harbor; a registry that wants "*" says so in its challenge
    else:
        actions = "pull,push"
    return f"repository:{name}:{actions}"


def describe_scope(scope: str) -> str:
    """`repository:team/app:delete` -> `delete permission on repository team/app`."""
    parts = scope.split(":")
    if len(parts) >= 3 and parts[0] == "repository":
        name, actions = ":".join(parts[1:-1]), parts[-1]
        return f"{actions.replace(',', ' and ')} permission on repository {name}"
    if scope.startswith("registry:catalog"):
        return "permission to list the catalog (registry:catalog:*)"
    return f"the permission {scope}"


# --- tokens ------------------------------------------------------------------------------


@dataclass
class _Token:
    value: str = field(repr=False)
    expires_at: float
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class _Bearer:
    realm: str
    service: str


_TokenKey = tuple[str, str, str]  # (realm, service, scope key)


# Steps the shared flow yields to the sync and async drivers besides plain requests.
@dataclass
class _TokenRequest:
    request: httpx.Request  # its response body is read before the flow sees it


@dataclass
class _Acquire:
    key: _TokenKey


@dataclass
class _Release:
    key: _TokenKey


_Step = httpx.Request | _TokenRequest | _Acquire | _Release
# The drivers send the flow the response to each request step, and None after _Acquire and _Release:
# so the flow casts what a request step's `yield` gives it to a response.


class RegistryAuth(httpx.Auth):
    """Anonymous, Basic or Bearer authentication against one or more registry hosts."""

    def __init__(self, credentials: Credentials | None = None, *, clock: Callable[[], float] = time.monotonic):
        self.credentials = credentials
        self._clock = clock
        self._state = threading.Lock()  # guards the dicts below; never held across a request
        self._hosts: dict[str, str | _Bearer] = {}  # host -> "basic" or where its tokens come from
        self._tokens: dict[_TokenKey, _Token] = {}
        self._thread_locks: dict[_TokenKey, threading.Lock] = {}
        self._task_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[_TokenKey, asyncio.Lock]] = \
            weakref.WeakKeyDictionary()

    def __repr__(self) -> str:
        who = self.credentials.describe_user() if self.credentials else "anonymous"
        return f"RegistryAuth({who})"

    # -- drivers ---------------------------------------------------------------------------

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        flow = self._flow(request)
        held: list[threading.Lock] = []
        try:
            step = next(flow)
            while True:
                reply = None
                if isinstance(step, _Acquire):
                    lock = self._thread_lock(step.key)
                    lock.acquire()
                    held.append(lock)
                elif isinstance(step, _Release):
                    held.pop().release()
                elif isinstance(step, _TokenRequest):
                    reply = yield step.request
                    reply.read()
                else:
                    reply = yield step
                    if reply.status_code == 403:
                        reply.read()
                step = flow.send(reply)
        except StopIteration:
            return
        finally:
            flow.close()
            for lock in reversed(held):
                lock.release()

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        flow = self._flow(request)
        held: list[asyncio.Lock] = []
        try:
            step = next(flow)
            while True:
                reply = None
                if isinstance(step, _Acquire):
                    lock = self._task_lock(step.key)
                    await lock.acquire()
                    held.append(lock)
                elif isinstance(step, _Release):
                    held.pop().release()
                elif isinstance(step, _TokenRequest):
                    reply = yield step.request
                    await reply.aread()
                else:
                    reply = yield step
                    if reply.status_code == 403:
                        await reply.aread()
                step = flow.send(reply)
        except StopIteration:
            return
        finally:
            flow.close()
            for lock in reversed(held):
                lock.release()

    def _thread_lock(self, key: _TokenKey) -> threading.Lock:
        with self._state:
            return self._thread_locks.setdefault(key, threading.Lock())

    def _task_lock(self, key: _TokenKey) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        with self._state:
            return self._task_locks.setdefault(loop, {}).setdefault(key, asyncio.Lock())

    # -- the flow shared by both drivers ---------------------------------------------------

    def _flow(self, request: httpx.Request) -> Generator[_Step, httpx.Response | None, None]:
        host = _host_of(request.url)
        scope = scope_for(request.method, request.url.path)
        with self._state:
            known = self._hosts.get(host)

        sent: str | _Token | None = None
        if known == "basic" and self.credentials:
            self._set_basic(request, self.credentials)
            sent = "basic"
        elif isinstance(known, _Bearer):
            sent = yield from self._token(known, scope, [scope] if scope else [], request)
            self._set_bearer(request, sent)

        response = cast(httpx.Response, (yield request))

        if response.status_code == 401:
            challenge = self._pick_challenge(response, host)
            if challenge.scheme == "basic":
                response = yield from self._answer_basic(request, host, sent == "basic")
            else:
                response = yield from self._answer_bearer(request, host, scope, challenge, sent, response)

        if response.status_code == 403:
            raise StoreError(self._forbidden_message(host, request, scope, response))

    def _pick_challenge(self, response: httpx.Response, host: str) -> Challenge:
        challenges = parse_challenges(response.headers.get_list("www-authenticate"))
        for wanted in ("bearer", "basic"):
            for challenge in challenges:
                if challenge.scheme == wanted:
                    return challenge
        if challenges:
            schemes = ", ".join(sorted({c.scheme.capitalize() for c in challenges}))
            raise StoreError(f"registry {host} asks for {schemes} authentication, which ocitree does not support")
        raise StoreError(f"registry {host} answered 401 Unauthorized without saying how to authenticate "
                         f"(no WWW-Authenticate header): check the URL, or a proxy in front of it")

    def _answer_basic(self, request: httpx.Request, host: str, already_sent: bool) -> Generator[_Step, httpx.Response | None, httpx.Response]:
        if self.credentials is None:
            raise StoreError(self._needs_credentials(host))
        if already_sent:
            raise StoreError(self._refused(host))
        if self.credentials.identity_token and not self.credentials.password:
            raise StoreError(f"registry {host} wants a username and password, but only an identity token was found "
                             f"({self.credentials.source}): use --username with --password-stdin")
        with self._state:
            self._hosts[host] = "basic"
        self._set_basic(request, self.credentials)
        response = cast(httpx.Response, (yield request))
        if response.status_code == 401:
            raise StoreError(self._refused(host))
        return response

    def _answer_bearer(self, request: httpx.Request, host: str, scope: str | None, challenge: Challenge,
                       sent: str | _Token | None, response: httpx.Response) -> Generator[_Step, httpx.Response | None, httpx.Response]:
        realm = challenge.params.get("realm", "")
        if not realm.startswith(("https://", "http://")):
            raise StoreError(f"registry {host} names {realm!r} as its token server, which is not an http(s) URL")
        bearer = _Bearer(realm, challenge.params.get("service", ""))
        with self._state:
            self._hosts[host] = bearer
        wanted = challenge.scopes or ([scope] if scope else [])
        if isinstance(sent, _Token) and challenge.params.get("error") == "insufficient_scope" \
                and set(wanted) <= set(sent.scopes):
            # The token server already answered this very request with fewer rights: asking again won't help.
            raise StoreError(self._missing_permission(host, wanted))
        # No token yet, or the registry rejected ours (expired, revoked): fetch one, once.
        token = yield from self._token(bearer, scope, wanted, request, stale=sent if isinstance(sent, _Token) else None)
        self._set_bearer(request, token)
        response = cast(httpx.Response, (yield request))
        if response.status_code == 401:
            again = parse_challenges(response.headers.get_list("www-authenticate"))
            error = next((c.params.get("error") for c in again if c.scheme == "bearer"), None)
            if error == "insufficient_scope":
                failed = next((c.scopes for c in again if c.scheme == "bearer" and c.scopes), wanted)
                raise StoreError(self._missing_permission(host, failed))
            raise StoreError(f"registry {host} rejected a fresh token from {_host_of(httpx.URL(realm))} "
                             f"({error or 'no reason given'}): check the registry's token configuration and clock")
        return response

    # -- tokens ----------------------------------------------------------------------------

    def _token(self, bearer: _Bearer, scope: str | None, scopes: list[str], request: httpx.Request,
               stale: _Token | None = None) -> Generator[_Step, httpx.Response | None, _Token]:
        """A cached token for `scope`, else one fetched for `scopes` (one fetch at a time per key)."""
        key = (bearer.realm, bearer.service, scope or "")
        token = self._cached(key, stale)
        if token:
            return token
        yield _Acquire(key)
        token = self._cached(key, stale)  # another thread or task may have fetched it meanwhile
        if token is None:
            token = yield from self._fetch_token(bearer, scopes, request, _host_of(request.url))
            with self._state:
                self._tokens[key] = token
        yield _Release(key)
        return token

    def _cached(self, key: _TokenKey, stale: _Token | None) -> _Token | None:
        with self._state:
            token = self._tokens.get(key)
            if token is None or token is stale or token.expires_at <= self._clock():
                return None
            return token

    def _fetch_token(self, bearer: _Bearer, scopes: list[str], original: httpx.Request,
                     registry: str) -> Generator[_Step, httpx.Response | None, _Token]:
        headers: dict[str, str] = {}
        if "user-agent" in original.headers:
            headers["User-Agent"] = original.headers["user-agent"]
        creds = self.credentials
        if creds and not _may_carry_credentials(httpx.URL(bearer.realm), original.url):
            raise StoreError(
                f"registry {registry} names {printable(bearer.realm, 160)} as its token server: plain http to "
                f"{'another host' if _host_of(httpx.URL(bearer.realm)) != registry else 'it while the registry uses https'}; "
                f"ocitree sends credentials to a token server only over https, so nothing was sent: "
                f"configure the registry's token realm with an https URL")
        if creds and creds.identity_token:
            # docker's OAuth2 refresh-token grant, for logins through an identity provider.
            form = {"grant_type": "refresh_token", "service": bearer.service, "client_id": TOKEN_CLIENT_ID,
                    "refresh_token": creds.identity_token}
            if scopes:
                form["scope"] = " ".join(scopes)
            token_request = httpx.Request("POST", bearer.realm, data=form, headers=headers)
        else:
            params: list[tuple[str, str | int | float | bool | None]] = \
                [("service", bearer.service)] if bearer.service else []
            params += [("scope", s) for s in scopes]
            if creds:
                params.append(("account", creds.username))
                headers["Authorization"] = _basic_value(creds)
            token_request = httpx.Request("GET", bearer.realm, params=params, headers=headers)
        started = self._clock()
        response = cast(httpx.Response, (yield _TokenRequest(token_request)))
        server = _host_of(token_request.url)
        if response.status_code in (401, 403):
            via = f"its token server {server} answered HTTP {response.status_code}"
            raise StoreError(self._refused(registry, via) if creds else self._needs_credentials(registry))
        if response.status_code != 200:
            raise StoreError(f"token server {server} answered HTTP {response.status_code} "
                             f"when asked for {' '.join(scopes) or 'a token'}: try again later or check the registry")
        try:
            doc = response.json()
        except (ValueError, RecursionError):
            doc = None
        value = (doc.get("token") or doc.get("access_token")) if isinstance(doc, dict) else None
        if not isinstance(value, str) or not value:
            raise StoreError(f"token server {server} answered without a token: check the registry's token service")
        expires_in = doc.get("expires_in")
        if not isinstance(expires_in, (int, float)) or isinstance(expires_in, bool) or expires_in <= 0:
            expires_in = DEFAULT_EXPIRES_IN
        # Renew a little early so a token never runs out between being picked and being checked.
        margin = min(10.0, expires_in * 0.1)
        return _Token(value, started + expires_in - margin, tuple(scopes))

    # -- headers and messages --------------------------------------------------------------

    @staticmethod
    def _set_basic(request: httpx.Request, credentials: Credentials) -> None:
        request.headers["Authorization"] = _basic_value(credentials)

    @staticmethod
    def _set_bearer(request: httpx.Request, token: _Token) -> None:
        request.headers["Authorization"] = f"Bearer {token.value}"

    def _who(self) -> str:
        return self.credentials.describe_user() if self.credentials else "anonymous access"

    def _needs_credentials(self, host: str) -> str:
        return (f"registry {host} needs credentials: use --username with --password-stdin, "
                f"or docker login {host}")

    def _refused(self, host: str, via: str = "") -> str:
        creds = self.credentials
        notes = [f"from {creds.source}"] if creds and creds.source and creds.source != "--username" else []
        notes += [via] if via else []
        said = f" ({'; '.join(notes)})" if notes else ""
        return (f"registry {host} refused the credentials for {self._who()}{said}: "
                f"check the username and password, or log in again")

    def _missing_permission(self, host: str, scopes: list[str]) -> str:
        what = " and ".join(describe_scope(s) for s in scopes) or "access"
        return f"registry {host} did not grant {what} to {self._who()}: {self._permission_hint(host)}"

    def _forbidden_message(self, host: str, request: httpx.Request, scope: str | None,
                           response: httpx.Response) -> str:
        what = describe_scope(scope) if scope else f"{request.method} {printable(request.url.path)}"
        said = registry_error(response.content)
        return (f"registry {host} refused {what} to {self._who()} (HTTP 403{': ' + said if said else ''}): "
                f"{self._permission_hint(host)}")

    def _permission_hint(self, host: str) -> str:
        if self.credentials:
            return "ask the registry's administrator for it"
        return f"give credentials with --username and --password-stdin, or docker login {host}"


def _may_carry_credentials(realm: httpx.URL, registry: httpx.URL) -> bool:
    """Credentials travel to a token realm over https, or in the clear only where they would
    travel anyway: a plain-http registry's own host."""
    if realm.scheme == "https":
        return True
    return registry.scheme == "http" and realm.host == registry.host


def _basic_value(credentials: Credentials) -> str:
    raw = f"{credentials.username}:{credentials.password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def _host_of(url: httpx.URL) -> str:
    """`host[:port]` as docker login takes it: an IPv6 address in brackets."""
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{host}:{url.port}" if url.port else host
