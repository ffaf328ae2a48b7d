"""What a command line or the TUI may pass when opening a source: every store takes these."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

#: what every store's constructor takes first: the SOURCE as the user typed it, or a path
StoreSource = str | os.PathLike[str]


@dataclass
class SourceOptions:
    """Everything a command line or the TUI may pass when opening a source."""

    read_only: bool = False
    keep_blobs: bool = False  # OCI layouts: leave config and layer blobs in place
    insecure: bool = False  # registries: accept a self-signed certificate
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    concurrency: int = 8
    timeout: float = 30.0  # registries: seconds each request may take in all (not only per read)
    api: str | None = None  # registry storage: delete through this registry URL (it serves the storage)
    offline: bool = False  # registry storage: delete on disk; the registry is stopped
