"""Stores: where a registry's state comes from and where deletions go.

    options.py         SourceOptions; every store opens as XStore(source, options)
    base.py            Store; DeletionSession (lock, current()); Deletion (steps, commit, what became durable)
    sample.py          one JSON sample file, written once at commit
    layout.py          OCI image layouts, each index.json written at commit
    registry/          a live registry: each DELETE durable at once
    registry_storage/  distribution's filesystem storage, through a registry's API or offline
"""
