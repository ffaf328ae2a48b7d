"""The HTTP client of one registry: httpx with authentication, retries with backoff, clear failures.

Reads are retried on 429, 502, 503 and 504 and on dropped connections, with exponential
backoff (and the registry's Retry-After when it gives one). DELETE is retried the same way:
the store counts a 404 on DELETE as done, so repeating one whose answer was lost is safe.
A refused connection, a TLS failure or a timeout is not retried: waiting would not fix it.
Each attempt has a total deadline (`timeout`), not only a per-read one (deadline.py).
"""

from __future__ import annotations

import email.utils
import random
import re
import ssl
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import httpx

from ...errors import StoreError
from .answers import failed_status, failed_transport
from .auth import RegistryAuth
from .credentials import Credentials
from .deadline import install as install_deadlines, within
from .endpoint import Endpoint
from .fast_path import FastAnswer, FastPath, proxy_applies

RETRY_STATUSES = frozenset({429, 502, 503, 504})
_FAST_STATUSES = frozenset({200, 304})  # what the fast path may serve; anything else goes through httpx


class _Unknown(Enum):  # a sentinel the type checker can tell apart from a header (`is not _UNKNOWN` narrows)
    UNKNOWN = "unknown"


_UNKNOWN = _Unknown.UNKNOWN  # no request has yet shown which Authorization header works
_LINK_NEXT = re.compile(r'<([^>]*)>((?:\s*;\s*[^;,]+)*)')
_REL_NEXT = re.compile(r'(?:^|;)\s*rel\s*=\s*"?([^";]*)"?', re.IGNORECASE)
_DROPPED = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


class SlowRegistryError(StoreError):
    """A request that did not finish within its deadline (not retried: waiting again would double the wait)."""


def _user_agent() -> str:
    try:
        return f"ocitree/{version('ocitree')}"
    except PackageNotFoundError:
        return "ocitree"


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # in all, the first included
    first_delay: float = 0.25  # seconds, doubled after each attempt
    max_delay: float = 8.0
    max_retry_after: float = 30.0  # a longer Retry-After is capped, not obeyed

    def delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            seconds = _retry_after_seconds(retry_after)
            if seconds is not None:
                return min(seconds, self.max_retry_after)
        base: float = min(self.max_delay, self.first_delay * 2 ** (attempt - 1))
        return base * random.uniform(0.5, 1.0)  # jitter, so parallel fetches do not retry in step


def _retry_after_seconds(value: str) -> float | None:
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def next_link(header: str | None) -> str | None:
    """The target of `rel="next"` in a Link header (RFC 8288), or None."""
    if not header:
        return None
    for match in _LINK_NEXT.finditer(header):
        rel = _REL_NEXT.search(match.group(2))
        if rel and "next" in rel.group(1).lower().split():
            return match.group(1)
    return None


def repo_path(repository: str) -> str:
    return quote(repository, safe="/")


def ssl_context(insecure: bool) -> ssl.SSLContext:
    """The system's trust store (honours SSL_CERT_FILE / SSL_CERT_DIR); --insecure accepts any certificate."""
    context = ssl.create_default_context()
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class _OnFirstUse(httpx.BaseTransport):
    """A transport made when first needed (thread-safe)."""

    def __init__(self, make: Callable[[], httpx.BaseTransport]):
        self._make = make
        self._transport: httpx.BaseTransport | None = None
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._transport is None:
            with self._lock:
                if self._transport is None:
                    self._transport = self._make()
        return self._transport.handle_request(request)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


def _plain_http_transports(endpoint: Endpoint, limits: httpx.Limits) -> dict[str, Any]:
    """For an http:// registry: the CA bundle is loaded only if an https:// request comes (a
    token server elsewhere); loading it up front was 50-90 ms of every run. Not when the
    environment names proxies: httpx's own transports honour them."""
    if endpoint.scheme != "http" or urllib.request.getproxies_environment():
        return {}
    return {
        "transport": httpx.HTTPTransport(verify=False, limits=limits),  # http:// only: https:// is mounted below
        "mounts": {"https://": _OnFirstUse(lambda: httpx.HTTPTransport(verify=True, limits=limits))},
    }


class RegistryClient:
    """Requests to one registry. Thread-safe: the loader calls it from a pool of threads."""

    def __init__(self, endpoint: Endpoint, credentials: Credentials | None, insecure: bool = False,
                 timeout: float = 30.0, connections: int = 8, retry: RetryPolicy | None = None,
                 fast_path: bool = True):
        self.endpoint = endpoint
        self.host = endpoint.netloc
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        context = ssl_context(insecure) if endpoint.scheme == "https" else None
        agent = _user_agent()
        limits = httpx.Limits(max_connections=connections + 2, max_keepalive_connections=connections + 2)
        self.http = httpx.Client(
            base_url=endpoint.base_url,
            auth=RegistryAuth(credentials),
            verify=context if context is not None else True,
            timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
            limits=limits,
            headers={"User-Agent": agent},
            follow_redirects=False,
            **_plain_http_transports(endpoint, limits),
        )
        install_deadlines([self.http._transport, *self.http._mounts.values()])
        fast_context = ssl_context(insecure) if endpoint.scheme == "https" else None
        self.fast = FastPath(endpoint, fast_context, timeout, agent) if fast_path and not proxy_applies(endpoint) else None
        # The Authorization header that last worked for each repository (None: anonymous worked),
        # so the fast path can send it without an authentication round trip of its own.
        self._proven_auth: dict[str | None, str | None] = {}
        # What worked for requests outside any repository (/v2/, the catalog), when it can work
        # for every repository too: nothing, or Basic. A Bearer token is scoped to what it was issued for.
        self._host_auth: str | None | _Unknown = _UNKNOWN

    # -- the general path --------------------------------------------------------------------

    def request(self, method: str, path: str, what: str, headers: dict[str, str] | None = None,
                ok: tuple[int, ...] = (200,), repository: str | None = None,
                content: bytes | None = None) -> httpx.Response:
        """Send with retries; return a response whose status is in `ok`, else raise StoreError.

        The body is read. `what` names the operation in messages ("listing tags of team/app")."""
        attempt = 0
        while True:
            attempt += 1
            try:
                with within(self.timeout):
                    response = self.http.request(method, path, headers=headers, content=content)
            except StoreError:
                raise  # authentication's own messages
            except _DROPPED as exc:
                if attempt < self.retry.attempts:
                    time.sleep(self.retry.delay(attempt, None))
                    continue
                raise StoreError(self._transport_message(what, exc, attempt)) from None
            except httpx.TimeoutException as exc:
                raise SlowRegistryError(self._transport_message(what, exc, attempt, f"{method} {path}")) from None
            except httpx.HTTPError as exc:
                raise StoreError(self._transport_message(what, exc, attempt)) from None
            if response.status_code in RETRY_STATUSES and attempt < self.retry.attempts:
                time.sleep(self.retry.delay(attempt, response.headers.get("retry-after")))
                continue
            if response.status_code in ok:
                if response.status_code < 400:
                    self._learn_auth(repository, response.request.headers.get("authorization"))
                return response
            raise StoreError(failed_status(self.host, what, response.status_code, response.content, attempt))

    def _learn_auth(self, repository: str | None, header: str | None) -> None:
        if repository is not None:
            self._proven_auth[repository] = header
        if header is None or header.startswith("Basic "):
            self._host_auth = header

    def _transport_message(self, what: str, exc: BaseException, attempts: int, endpoint: str = "") -> str:
        return failed_transport(self.host, self.endpoint.scheme, what, exc, self.timeout, attempts, endpoint)

    def get_paginated(self, path: str, what: str, repository: str | None = None, accept: str = "application/json",
                      ok: tuple[int, ...] = (200,)) -> Iterator[tuple[int, dict[str, str], bytes]]:
        """Yield (status, headers, body) of each page, following `Link: <...>; rel="next"` on this registry."""
        seen: set[str] = set()
        url: str | None = path
        while url is not None:
            seen.add(url)
            status, headers, body = self.fetch("GET", url, accept, what, repository, ok=ok)
            yield status, headers, body
            url = self._next_page(url, headers.get("link"), what)
            if url is not None and url in seen:
                raise StoreError(f"registry {self.host} paginates {what} in a loop (Link to a page already read): "
                                 f"check the registry")

    def _next_page(self, current: str, link: str | None, what: str) -> str | None:
        target = next_link(link)
        if target is None:
            return None
        absolute = urljoin(self.endpoint.base_url + current, target)
        parts = urlsplit(absolute)
        base = urlsplit(self.endpoint.base_url)
        if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
            # Following it would send this registry's credentials to another host.
            raise StoreError(f"registry {self.host} points the next page of {what} at another host, which would get "
                             f"its credentials, so ocitree stops: set the registry's external URL to the one ocitree "
                             f"was given, {self.endpoint.base_url}")
        return parts.path + (f"?{parts.query}" if parts.query else "")

    # -- the hot path: manifests and referrers -----------------------------------------------

    def fetch(self, method: str, path: str, accept: str, what: str, repository: str | None,
              ok: tuple[int, ...] = (200,), headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        """GET or HEAD through the fast path when it can serve it, else through httpx.

        Returns (status, lower-case headers, body) for a status in `ok`; raises StoreError otherwise."""
        headers = {"Accept": accept, **(headers or {})}
        auth = self._proven_auth.get(repository, self._host_auth) if repository else self._host_auth
        if self.fast is not None and auth is not _UNKNOWN:
            fast_headers = {**headers, "Authorization": auth} if auth else headers
            try:
                answer: FastAnswer | None = self.fast.request(method, path, fast_headers, _FAST_STATUSES & set(ok))
            except TimeoutError as exc:
                raise SlowRegistryError(self._transport_message(what, exc, 1, f"{method} {path}")) from None
            if answer is not None:
                return answer.status, answer.headers, answer.body
        response = self.request(method, path, what, headers=headers, ok=ok, repository=repository)
        return response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.content

    def close(self) -> None:
        self.http.close()  # first, so a fetch the fast path wakes cannot start again through httpx
        if self.fast is not None:
            self.fast.close()
