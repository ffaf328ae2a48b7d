"""Registry answers and network failures as one-line messages that say what to do.

Text from the registry (error codes and messages) is data: it is cut to one short line, its
control characters shown as escapes, before it goes into a message.
"""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import Iterator

import httpx

from ...printable import one_line

_LIMIT = 200


def printable(text: str, limit: int = _LIMIT) -> str:
    """One short line: controls and bidi overrides as visible escapes (core/printable.py)."""
    return one_line(text, limit)


def registry_error(body: bytes) -> str:
    """`CODE: message` from a distribution error body (`{"errors": [{"code", "message"}]}`), or ""."""
    try:
        doc = json.loads(body)
        first = doc["errors"][0]
        code, message = first.get("code") or "", first.get("message") or ""
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, RecursionError):
        return ""
    text = f"{code}: {message}" if code and message else str(code or message)
    return printable(text)


def status_text(status: int, body: bytes = b"", reason: str = "") -> str:
    """`HTTP 503 Service Unavailable (UNAVAILABLE: ...)` for messages."""
    try:
        from http import HTTPStatus

        phrase = reason or HTTPStatus(status).phrase
    except ValueError:
        phrase = reason
    said = registry_error(body) if body else ""
    return f"HTTP {status}{' ' + phrase if phrase else ''}{f' ({said})' if said else ''}"


def failed_status(host: str, what: str, status: int, body: bytes, attempts: int = 1) -> str:
    """The message for an answer that ends an operation."""
    answer = status_text(status, body)
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    if status == 401:
        return (f"registry {host} answered {answer} to {what}: give credentials with --username and "
                f"--password-stdin, or docker login {host}")
    if status == 403:
        return f"registry {host} refused {what} ({answer}): ask its administrator for the permission"
    if status == 404:
        return f"registry {host} has no such thing: {what} answered {answer}"
    if status == 429:
        return (f"registry {host} is limiting the request rate ({answer}{tries}) for {what}: "
                f"try again later, or lower `concurrency` in the ocitree config")
    if status == 400 and b"HTTP request to an HTTPS server" in body:
        return f"registry {host} speaks HTTPS: write https://{host}"
    if status >= 500:
        return f"registry {host} failed {what} with {answer}{tries}: check the registry's health and logs, then try again"
    return f"registry {host} answered {answer} to {what}"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        yield link
        link = link.__cause__ or link.__context__


def failed_transport(host: str, scheme: str, what: str, exc: BaseException, timeout: float, attempts: int = 1,
                     endpoint: str = "") -> str:
    """The message for a request that got no usable answer: refused, unresolvable, TLS, timeout, dropped."""
    causes = list(_causes(exc))
    for cause in causes:
        if isinstance(cause, ssl.SSLCertVerificationError):
            reason = printable(cause.verify_message or str(cause))
            return (f"the TLS certificate of registry {host} is not trusted ({reason}): pass --insecure to accept "
                    f"a self-signed certificate, or add its CA to the system's trust store")
    for cause in causes:
        if isinstance(cause, ssl.SSLError):
            reason = printable(getattr(cause, "reason", None) or str(cause))
            hint = f"if the registry speaks plain HTTP, write http://{host}" if scheme == "https" else "check the registry's TLS set-up"
            return f"TLS handshake with registry {host} failed ({reason}): {hint}"
    for cause in causes:
        if isinstance(cause, ConnectionRefusedError):
            return f"cannot connect to registry {host}: connection refused; is the registry running, and is the port right?"
        if isinstance(cause, socket.gaierror):
            return f"cannot find registry host {host} ({printable(cause.strerror or str(cause))}): check the name"
    if any(isinstance(c, (httpx.TimeoutException, TimeoutError, socket.timeout)) for c in causes):
        phase = "connect" if any(isinstance(c, httpx.ConnectTimeout) for c in causes) else "answer"
        where = f"{what}: {printable(endpoint)}" if endpoint else what
        return (f"registry {host} did not {phase} within {timeout:g} s ({where}): it may be overloaded or "
                f"unreachable; try again later, or give it longer with --timeout")
    tries = f" (after {attempts} attempts)" if attempts > 1 else ""
    if any(isinstance(c, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError, ConnectionError)) for c in causes):
        return (f"registry {host} dropped the connection during {what}{tries}: check the registry and any proxy "
                f"in front of it, then try again")
    if any(isinstance(c, httpx.ConnectError) for c in causes):
        return f"cannot connect to registry {host}: {printable(str(exc)) or type(exc).__name__}"
    return f"request to registry {host} failed during {what}{tries}: {printable(str(exc)) or type(exc).__name__}"
