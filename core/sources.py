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
from pathlib import Path

from .errors import BadInputError
from .stores.base import Store
from .stores.options import SourceOptions

_HOST = re.compile(r"^(localhost|\[[0-9a-fA-F:]+\]|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+|[A-Za-z0-9-]+:\d+|[A-Za-z0-9.-]+:\d+)(:\d+)?/?$")


def is_registry_url(source: str) -> bool:
    if source.startswith(("http://", "https://")):
        return True
    # `registry.json` looks like a host name too; .json is no top-level domain, so it is a missing file.
    return bool(_HOST.match(source)) and not source.lower().endswith(".json")


def open_store(source: str, options: SourceOptions | None = None) -> Store:
    """The store for `source`: every kind takes (source, options) and finds its own paths."""
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

        return SampleStore(source, options)
    if storage is not None:
        from .stores.registry_storage.store import RegistryStorageStore

        return RegistryStorageStore(source, options)
    if path.is_dir():
        from .stores.layout import LayoutStore

        return LayoutStore(source, options)
    if is_registry_url(source):
        from .stores.registry.store import RegistryStore

        return RegistryStore(source, options)
    raise BadInputError(
        f"{source}: no such file or directory; give a sample JSON file, an OCI layout directory, or a registry URL"
    )
