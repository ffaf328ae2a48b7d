"""Turning a SOURCE argument into a Store.

    FILE.json                 a sample file
    DIR (with oci-layout)     one OCI image layout, one repository named after DIR
    DIR (docker/registry/v2 in it, or that v2 itself)   distribution's filesystem storage, read directly
    DIR (layouts below it)    a tree of OCI image layouts, one repository per layout (zot's disk format)
    http://HOST[:PORT]        a registry over plain HTTP (only when written so)
    https://HOST[:PORT], HOST[:PORT]   a registry over HTTPS
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import BadInputError
from .stores.base import Store

_HOST = re.compile(r"^(localhost|\[[0-9a-fA-F:]+\]|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+|[A-Za-z0-9-]+:\d+|[A-Za-z0-9.-]+:\d+)(:\d+)?/?$")


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


def is_registry_url(source: str) -> bool:
    if source.startswith(("http://", "https://")):
        return True
    # `registry.json` looks like a host name too; .json is no top-level domain, so it is a missing file.
    return bool(_HOST.match(source)) and not source.lower().endswith(".json")


def open_store(source: str, options: SourceOptions | None = None) -> Store:
    options = options or SourceOptions()
    path = Path(source)
    storage = None
    if path.is_dir():
        from .stores.registry_storage.paths import find_storage_root

        storage = find_storage_root(path)
    if (options.api or options.offline) and storage is None:
        raise BadInputError(f"--api and --offline apply to a registry's storage directory; {source} is not one")
    if path.is_file():
        from .stores.sample import SampleStore

        return SampleStore(path, read_only=options.read_only)
    if storage is not None:
        from .stores.registry_storage.store import RegistryStorageStore

        return RegistryStorageStore(source, storage, options)
    if path.is_dir():
        from .stores.layout import open_layout_store

        return open_layout_store(path, options)
    if is_registry_url(source):
        from .stores.registry.store import RegistryStore

        return RegistryStore(source, options)
    raise BadInputError(
        f"{source}: no such file or directory; give a sample JSON file, an OCI layout directory, or a registry URL"
    )
