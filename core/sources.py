"""Turning a SOURCE argument into a Store."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .errors import BadInputError
from .stores.base import Store


@dataclass
class SourceOptions:
    """Everything a command line or the TUI may pass when opening a source."""

    read_only: bool = False
    keep_blobs: bool = False  # OCI layouts: leave config and layer blobs in place
    insecure: bool = False  # registries: accept a self-signed certificate
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    concurrency: int = 8


def open_store(source: str, options: SourceOptions | None = None) -> Store:
    options = options or SourceOptions()
    from .stores.sample import SampleStore

    path = Path(source)
    if path.is_file():
        return SampleStore(path, read_only=options.read_only)
    if path.exists():
        raise BadInputError(f"{source}: not a sample file, and no OCI image layout was found under it")
    if source.endswith(".json") or "/" in source and not source.startswith(("http://", "https://")):
        raise BadInputError(f"{source}: no such file or directory")
    raise BadInputError(f"{source}: unknown source; give a sample JSON file, an OCI layout directory, or a registry URL")
