"""A total deadline for each registry request, on top of the per-read timeout.

A per-read timeout alone never fires against a registry (or a proxy, or an attacker) that
sends one byte every few seconds: each read succeeds. So every request runs under a deadline
held per thread (`within(seconds)`), and every socket wait of that thread is cut to the time
that is left. Both HTTP paths honour it: httpx through a network backend that wraps httpcore's
streams, the fast path through sockets whose reads do the same (`deadline_socket`).
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import httpcore

if TYPE_CHECKING:
    import httpx

_local = threading.local()


class DeadlineExceeded(TimeoutError):
    """The request's total time ran out."""


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """Run the block under a deadline `seconds` from now (an outer, earlier deadline still holds)."""
    outer = getattr(_local, "at", None)
    at = time.monotonic() + seconds
    _local.at = at if outer is None else min(outer, at)
    try:
        yield
    finally:
        _local.at = outer


def clamp(timeout: float | None) -> float | None:
    """`timeout` cut to what is left of this thread's deadline; raises DeadlineExceeded when none is."""
    at: float | None = getattr(_local, "at", None)
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise DeadlineExceeded("the request's total time ran out")
    return left if timeout is None else min(timeout, left)


# -- httpx (httpcore) --------------------------------------------------------------------------


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream):
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            timeout = clamp(timeout)
        except DeadlineExceeded as exc:
            raise httpcore.ReadTimeout(str(exc)) from None
        return self._inner.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        try:
            timeout = clamp(timeout)
        except DeadlineExceeded as exc:
            raise httpcore.WriteTimeout(str(exc)) from None
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        try:
            timeout = clamp(timeout)
        except DeadlineExceeded as exc:
            raise httpcore.ConnectTimeout(str(exc)) from None
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's network backend with every wait cut to the calling thread's deadline."""

    def __init__(self, inner: httpcore.NetworkBackend | None = None):
        self._inner = inner or httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        try:
            timeout = clamp(timeout)
        except DeadlineExceeded as exc:
            raise httpcore.ConnectTimeout(str(exc)) from None
        return _DeadlineStream(self._inner.connect_tcp(host, port, timeout, local_address, socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        try:
            timeout = clamp(timeout)
        except DeadlineExceeded as exc:
            raise httpcore.ConnectTimeout(str(exc)) from None
        return _DeadlineStream(self._inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def install(transports: Iterable[httpx.BaseTransport | None]) -> None:
    """Give each httpx transport's connection pool the deadline backend.

    httpx builds its pools itself and has no option for a network backend, so this sets
    the pool's backend attribute; a test (test_registry_deadline) fails if httpx renames it."""
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        if pool is not None and hasattr(pool, "_network_backend"):
            pool._network_backend = DeadlineBackend(pool._network_backend)


# -- the fast path (http.client) ---------------------------------------------------------------


_UNSET = object()


if TYPE_CHECKING:  # what the mixin is mixed into, for the checker; at run time a plain class
    _Socket = socket.socket
else:
    _Socket = object


class _DeadlineWaits(_Socket):
    """Socket reads and writes that wait at most what is left of the thread's deadline."""

    base_timeout: float | None  # the socket's per-read timeout, set on first use

    def _cut(self) -> None:
        base = self.__dict__.get("base_timeout", _UNSET)
        if base is _UNSET:  # first use: the timeout the socket was made with is the per-read one
            base = self.base_timeout = self.gettimeout()
        self.settimeout(clamp(base))

    def recv(self, *args: Any) -> bytes:
        self._cut()
        return super().recv(*args)

    def recv_into(self, *args: Any) -> int:
        self._cut()
        return super().recv_into(*args)

    def sendall(self, *args: Any) -> None:
        self._cut()
        return super().sendall(*args)


class _DeadlineSocket(_DeadlineWaits, socket.socket):
    pass


class DeadlineSSLSocket(_DeadlineWaits, ssl.SSLSocket):
    """Set as the `sslsocket_class` of the fast path's SSL context."""


def deadline_socket(sock: socket.socket, timeout: float | None) -> socket.socket:
    """`sock` (just connected) as a socket that honours the deadline."""
    wrapped = _DeadlineSocket(sock.family, sock.type, sock.proto, fileno=sock.detach())
    wrapped.settimeout(timeout)
    return wrapped
