"""Undo on a registry (a live one, or registry storage deleted through --api): the exact manifest
bytes GET before each DELETE, PUT back by digest afterwards, tags last.

A DELETE of a manifest removes only its link; its blobs stay until the registry's garbage
collector runs. So before restoring, every config and layer blob of what comes back (and every
listed manifest not restored with it) is checked with HEAD: one that is gone is named, and
nothing is written.
"""

from __future__ import annotations

from ... import media_types as mt
from ...errors import StoreError
from ...digests import digest_of
from ...model import Artifact, Registry
from ...undo.adapter import MissingContent, UndoAdapter
from ...undo.saved import Run, SavedArtifact
from ..base import Store
from .loader import manifest_present, shown
from .store import RegistryStore
from .transport import repo_path


class RegistryUndo(UndoAdapter):
    def __init__(self, store: Store, api: RegistryStore):
        super().__init__(store)
        self.api = api

    def capture(self, run: Run, artifact: Artifact, rewritten: bool) -> SavedArtifact | None:
        repository, digest = artifact.repository, artifact.digest
        saved = self.saved_from(artifact, rewritten)
        # The session has just read these manifests again (a cached one checked with the registry):
        # the cache holds their exact bytes, verified against the digest, so most steps cost no request.
        cached = self.api.cache.get(digest)
        if cached is not None:
            saved.manifest = cached[0]
            return saved
        what = f"reading {shown(repository)}@{digest} to save it for undo"
        status, _, body = self.api.client.fetch("GET", f"/v2/{repo_path(repository)}/manifests/{digest}",
                                                mt.ACCEPT_MANIFESTS, what, repository, ok=(200, 404))
        if status == 404:
            return None  # deleted meanwhile by another client: its DELETE answers 404, which counts as done
        if digest_of(body, digest.partition(":")[0]) != digest:
            raise StoreError(f"registry {self.api.host} answered {what} with other content")
        saved.manifest = body
        return saved

    def missing(self, run: Run, items: list[SavedArtifact], current: Registry) -> list[MissingContent]:
        client = self.api.client
        restoring = {(i.repository, i.digest) for i in items}
        found: list[MissingContent] = []
        checked: dict[tuple[str, str], bool] = {}
        for item in items:
            for digest in item.blobs:
                key = (item.repository, digest)
                if key not in checked:
                    status, _, _ = client.fetch("HEAD", f"/v2/{repo_path(item.repository)}/blobs/{digest}", "*/*",
                                                f"checking blob {shown(item.repository)}@{digest}", item.repository,
                                                ok=(200, 404))
                    checked[key] = status == 200
                if not checked[key]:
                    found.append(MissingContent(item.repository, digest, item.label))
            for child in item.children:
                key = (item.repository, child)
                if key in restoring or key in checked:
                    continue
                checked[key] = manifest_present(client, item.repository, child)
                if not checked[key]:
                    found.append(MissingContent(item.repository, child, item.label))
        return found

    def restore(self, run: Run, items: list[SavedArtifact], retag: set[tuple[str, str]]) -> None:
        client = self.api.client
        done = 0

        def so_far() -> str:
            return f"{done} PUT{'s' if done != 1 else ''} done before this" if done else "nothing was restored"

        def put(item: SavedArtifact, reference: str, what: str) -> None:
            nonlocal done
            try:
                client.request("PUT", f"/v2/{repo_path(item.repository)}/manifests/{reference}", what,
                               headers={"Content-Type": item.media_type}, ok=(200, 201),
                               repository=item.repository, content=item.manifest)
            except StoreError as exc:
                raise StoreError(f"{exc}; {so_far()}") from None
            done += 1

        # Manifests by digest, bottom-up: an index comes back only once its children are there.
        for item in items:
            if item.manifest is not None:
                put(item, item.digest, f"restoring {shown(item.repository)}@{item.digest}")
        # Tags last: each names complete content the moment it appears (a PUT by tag moves a tag
        # that names another artifact, which the plan allowed only with --retag).
        for item in items:
            for tag in item.tags if item.manifest is not None else ():
                put(item, tag, f"restoring the tag {shown(item.repository)}:{shown(tag)}")
