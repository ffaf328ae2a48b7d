"""Distribution's filesystem storage, read directly on the registry host.

    paths.py      where things live under docker/registry/v2, and recognising a storage root
    reader.py     the directory walk: repositories, revision and tag links, blob sizes, manifests
    collector.py  what `docker-registry garbage-collect` (2.8) would remove, exactly
    store.py      RegistryStorageStore, and its two ways of deleting (--api URL, --offline)
"""
