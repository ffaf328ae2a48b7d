"""Deleting from registry storage through the running registry's API (--api URL).

The same session as for a live registry (a probe DELETE first, the journal, top-down DELETEs),
except that the fresh state comes from the storage, which shows untagged manifests the API cannot
list, and that after each DELETE the storage is read again: a registry that answered yet still
links the manifest is not the one serving this storage, and the run stops there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...errors import StoreError
from ...model import Registry
from ..base import Deletion
from ..registry.loader import list_repositories
from ..registry.store import RegistryDeletion, RegistrySession, RegistryStore
from .paths import revision_link_path
from .reader import read_link

if TYPE_CHECKING:
    from .store import RegistryStorageStore


class ApiStorageSession(RegistrySession):
    def __init__(self, storage: RegistryStorageStore, api: RegistryStore, repositories: set[str]):
        super().__init__(api, repositories)
        self.storage = storage

    def __enter__(self) -> ApiStorageSession:
        try:
            self.store.probe()
            served = set(list_repositories(self.store.client, self.store.catalog_page_size))
        except StoreError as exc:
            raise StoreError(f"{exc}; nothing was deleted") from None
        unserved = sorted(self.repositories - served)
        if unserved:
            raise StoreError(f"registry {self.store.host} does not serve repository {unserved[0]!r}, which "
                             f"{self.storage.source} holds: give as --api the URL of the registry that serves this "
                             f"storage; nothing was deleted")
        return self

    def read_fresh(self) -> Registry:
        return self.storage.read(self.repositories)

    def deletion_on(self, fresh: Registry) -> Deletion:
        self._deletion = ApiStorageDeletion(self.store, self.repositories, fresh, self.storage)
        return self._deletion


class ApiStorageDeletion(RegistryDeletion):
    """A DELETE is durable once the storage no longer links the manifest."""

    def __init__(self, api: RegistryStore, repositories: set[str], fresh: Registry, storage: RegistryStorageStore):
        super().__init__(api, repositories, fresh)
        self.storage = storage

    def _confirm_deleted(self, repository: str, digest: str) -> None:
        link = revision_link_path(self.storage.v2, repository, digest)
        if read_link(str(link)) == digest:
            raise StoreError(f"registry {self.store.host} answered the DELETE of {repository}@{digest}, yet "
                             f"{self.storage.source} still links it: --api is not the registry serving this storage "
                             f"(or it caches); stopped, {self.deleted} DELETE{'s' if self.deleted != 1 else ''} sent")
