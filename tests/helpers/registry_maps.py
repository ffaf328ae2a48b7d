"""A registry's graphs as plain data, to compare one updated in place with one loaded afresh."""

from __future__ import annotations

from ocitree.core.model import Registry


def derived_maps(registry: Registry) -> dict[str, object]:
    """Everything the graphs hold; lists whose order only follows build order are compared as sets."""
    def listed(mapping: dict[str, list[str]]) -> dict[str, list[str]]:
        return {k: sorted(v) for k, v in mapping.items()}

    return {
        "shared": registry.shared_digests,
        "repositories": {name: {
            "artifacts": repo.artifacts, "tags": repo.tags, "parents": listed(repo.parents),
            "accessories": listed(repo.accessories), "subjects": listed(repo.subjects),
            "accessory_kinds": repo.accessory_kinds, "blob_users": repo.blob_users,
            "leftover_blobs": repo.leftover_blobs,
        } for name, repo in registry.repositories.items()},
    }
