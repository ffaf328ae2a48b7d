"""Turning a registry SOURCE into where to connect.

    http://HOST[:PORT]     plain HTTP, only when the user writes it so
    https://HOST[:PORT]    HTTPS
    HOST[:PORT]            HTTPS
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...errors import BadInputError

_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
_IPV6 = re.compile(r"^\[([0-9A-Fa-f:.]+)\]$")


@dataclass(frozen=True)
class Endpoint:
    scheme: str  # "http" or "https"
    hostname: str  # without brackets for IPv6
    port: int | None  # None: the scheme's default

    @property
    def netloc(self) -> str:
        host = f"[{self.hostname}]" if ":" in self.hostname else self.hostname
        return f"{host}:{self.port}" if self.port else host

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.netloc}"

    @property
    def effective_port(self) -> int:
        return self.port or (443 if self.scheme == "https" else 80)


def parse_endpoint(source: str) -> Endpoint:
    """Raises BadInputError, never echoing anything that looks like a credential."""
    text = source.strip()
    scheme = "https"
    lowered = text.lower()
    for prefix in ("http://", "https://"):
        if lowered.startswith(prefix):
            scheme = prefix[:-3]
            text = text[len(prefix):]
            break
    else:
        if "://" in text:
            raise BadInputError(
                f"{text.split('://', 1)[0]}:// is not a registry scheme: write http://HOST[:PORT], https://HOST[:PORT] or HOST[:PORT]"
            )
    if "@" in text.split("/", 1)[0]:
        raise BadInputError(
            "credentials in a registry URL are not accepted (they would show in process lists and shell history): "
            "write the URL without them and use --username with --password-stdin, or docker login"
        )
    authority, slash, rest = text.partition("/")
    if rest.strip("/"):
        raise BadInputError(
            f"registry source {source!r} has a path: give only the registry, {scheme}://{authority}, "
            f"and name repositories in REFs"
        )
    hostname, port = _split_port(authority, source)
    return Endpoint(scheme, hostname, port)


def _split_port(authority: str, source: str) -> tuple[str, int | None]:
    port_text = None
    ipv6 = _IPV6.match(authority)
    if ipv6:
        return ipv6.group(1), None
    if authority.startswith("["):
        host, _, after = authority.partition("]")
        if not _IPV6.match(host + "]") or not after.startswith(":"):
            raise BadInputError(f"registry source {source!r}: an IPv6 address is written [ADDRESS]:PORT")
        hostname, port_text = host[1:], after[1:]
    else:
        if ":" in authority:
            hostname, _, port_text = authority.rpartition(":")
        else:
            hostname = authority
        if not _HOSTNAME.match(hostname):
            raise BadInputError(f"registry source {source!r}: {hostname!r} is not a host name; write HOST[:PORT]")
    if port_text is None:
        return hostname, None
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise BadInputError(f"registry source {source!r}: port {port_text!r} is not a number from 1 to 65535")
    return hostname, int(port_text)
