"""RegistryStore: a live registry over the OCI Distribution API, and its deletion session.

A registry has no transactions and no locks. What keeps a deletion safe is that the
session reads the affected repositories again right before the first DELETE (as every load
does, asking the registry about each cached manifest), the executor refuses a plan the fresh
state would change, and the plan's top-down order leaves only unreferenced leftovers if
the run is cut off (which the deletion journal, journal.py, keeps visible to the next load
even where no tag or index shows them any more). Before the first real DELETE the session also sends one DELETE for a
digest that no content can have, per repository: a registry with deletion disabled (405)
or an account without the delete permission (401/403) is found out while nothing has
been deleted yet.
"""

from __future__ import annotations

import json
import os
import secrets
from concurrent.futures import ThreadPoolExecutor

import httpx

from ... import media_types as mt
from ...blob_scope import BlobScope
from ...errors import StoreError
from ...digests import digest_of
from ...model import Registry, Repository, is_fallback_tag
from ..base import Deletion, DeletionSession, ProgressCallback, Store
from ..options import SourceOptions, StoreSource
from .answers import status_text
from .cache import ManifestCache
from .credentials import lookup_credentials
from .endpoint import parse_endpoint
from .journal import DeletionJournal
from .loader import (CATALOG_PAGE, NO_SUCH_DIGEST, Loader, has_referrers_api, list_repositories,
                     manifest_present, shown)
from .transport import RegistryClient, RetryPolicy, repo_path

DELETE_DONE = (200, 202, 204)


def registry_blob_scope(repositories: int) -> BlobScope:
    """A registry keeps each blob once for all its repositories; its garbage collector frees a blob
    that no manifest of any repository uses. ocitree counts every repository the catalog lists,
    but cannot see a manifest with no tag that no index lists, and that one still keeps its blobs."""
    return BlobScope(
        reclaim="gc",
        exact=False,
        counted_across=f"all {repositories} repositor{'y' if repositories == 1 else 'ies'} the registry lists",
        caveat="manifests the registry API does not show (untagged and listed by no index) keep the blobs they use",
    )


class RegistryStore(Store):
    sees_untagged = False  # the API lists manifests only through tags and indexes

    def __init__(self, source: StoreSource, options: SourceOptions | None = None, *,
                 retry: RetryPolicy | None = None, catalog_page_size: int = CATALOG_PAGE,
                 cache: ManifestCache | None = None, fast_path: bool = True):
        """The keyword-only arguments are for tests and benchmarks: no user sets them."""
        options = options or SourceOptions()
        source = os.fspath(source)
        self.endpoint = parse_endpoint(source)
        self.source = source.strip().rstrip("/")
        self.read_only = options.read_only
        self.concurrency = max(1, options.concurrency)
        self.catalog_page_size = catalog_page_size
        credentials = lookup_credentials(self.endpoint.netloc, options)
        self.client = RegistryClient(self.endpoint, credentials, insecure=options.insecure, timeout=options.timeout,
                                     connections=self.concurrency, retry=retry, fast_path=fast_path)
        self.cache = cache if cache is not None else ManifestCache()
        self.journal = DeletionJournal(self.host)
        self._pool: ThreadPoolExecutor | None = None
        self._referrers: bool | None = None  # does the registry have the referrers API?
        self._untag_refusal: str | None = None
        self._untag_known = False  # has untag_refusal asked the registry yet?
        self.last_requests = 0  # manifest requests of the last read (for tests and benchmarks)

    @property
    def host(self) -> str:
        return self.endpoint.netloc

    def probe(self) -> None:
        """GET /v2/: is this a registry, and does it let us in?"""
        response = self.client.request("GET", "/v2/", "the API version check (/v2/)", ok=(200, 404))
        if response.status_code == 404:
            raise StoreError(f"{self.host} does not serve the registry API (/v2/ answered HTTP 404): "
                             f"check the host and port")

    def load(self, progress: ProgressCallback | None = None) -> Registry:
        self.probe()
        names = list_repositories(self.client, self.catalog_page_size)
        return Registry(self.source, self.read_repositories(names, progress), blob_scope=registry_blob_scope(len(names)))

    def read_repositories(self, names: list[str], progress: ProgressCallback | None = None) -> list[Repository]:
        if self._referrers is None and names:
            self._referrers = has_referrers_api(self.client, names[0])
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="ocitree-registry")
        loader = Loader(self.client, self.cache, self._pool, progress, referrers=bool(self._referrers))
        wanted = set(names)
        leftovers = {repo: digests for repo, digests in self.journal.entries().items() if repo in wanted}
        repositories = loader.load(names, leftovers)
        self.last_requests = loader.requests
        self._prune_journal(repositories, leftovers)
        return repositories

    def _prune_journal(self, repositories: list[Repository], leftovers: dict[str, list[str]]) -> None:
        """Forget journal entries that are gone, or that a tag or an index shows anyway."""
        by_name = {r.name: r for r in repositories}
        settled = {}
        for name, digests in leftovers.items():
            repo = by_name[name]
            settled[name] = [d for d in digests
                             if d not in repo.artifacts or repo.artifacts[d].tags or repo.parents_of(d)]
        self.journal.discard(settled)

    def session(self, repositories: set[str]) -> DeletionSession:
        if self.read_only:
            raise StoreError(f"{self.source}: opened read-only; nothing was deleted")
        return RegistrySession(self, repositories)

    untag_check_writes = True  # the check below is a DELETE: sent only when the operator asks to untag

    def untag_refusal(self, repository: str) -> str | None:
        """The OCI distribution spec lets a registry support DELETE by tag; whether this one does is
        found out once, with a DELETE of a tag no repository has (random): 404 says it looks tags up
        to delete them, CNCF distribution 2.x answers 400 DIGEST_INVALID to any DELETE by tag."""
        if self.read_only:
            return super().untag_refusal(repository)
        if not self._untag_known:
            self._untag_refusal = self._ask_untag(repository)
            self._untag_known = True
        return self._untag_refusal

    def _ask_untag(self, repository: str) -> str | None:
        probe = f"ocitree-untag-probe-{secrets.token_hex(16)}"
        response = self.client.request("DELETE", f"/v2/{repo_path(repository)}/manifests/{probe}",
                                       f"checking whether {self.host} can remove a tag alone",
                                       ok=(*DELETE_DONE, 400, 404, 405), repository=repository)
        if response.status_code == 405:
            return deletion_disabled(self.host, response, "to untag; nothing was untagged")
        if response.status_code == 400:
            return untag_unsupported(self.host, status_text(400, response.content))
        return None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        self.client.close()
        self.cache.close()


def deletion_disabled(host: str, response: httpx.Response, then: str) -> str:
    """A 405 to a DELETE: deletion is off in the registry's configuration; `then` says what to do after."""
    return (f"registry {host} does not allow deleting ({status_text(405, response.content)}): enable deletion in the "
            f"registry's configuration (CNCF distribution: storage.delete.enabled: true, or "
            f"REGISTRY_STORAGE_DELETE_ENABLED=true) {then}")


def untag_unsupported(host: str, answer: str) -> str:
    return (f"registry {host} cannot remove a tag alone: it answers DELETE by tag with {answer}, as CNCF "
            f"distribution before v3 does; to drop the tag, push another manifest under it, or delete the manifest "
            f"(which removes all its tags); nothing was untagged")


class RegistrySession(DeletionSession):
    """A registry has no lock: the session reads afresh, and its Deletion sends DELETEs at once."""

    def __init__(self, store: RegistryStore, repositories: set[str]):
        self.store = store
        self.repositories = set(repositories)
        self._deletion: RegistryDeletion | None = None

    def read_fresh(self) -> Registry:
        names = sorted(self.repositories)
        # Only these repositories are read again: a plan made on them (shown when the first one went
        # stale) counts blob users in them alone, and says so.
        scope = BlobScope(reclaim="gc", exact=False,
                          counted_across=f"only the {len(names)} repositor{'y' if len(names) == 1 else 'ies'} read again "
                                         f"for this deletion",
                          caveat="other repositories were not read again and may use some of these blobs")
        return Registry(self.store.source, self.store.read_repositories(names), blob_scope=scope)

    def deletion_on(self, fresh: Registry) -> Deletion:
        self._deletion = RegistryDeletion(self.store, self.repositories, fresh)
        return self._deletion

    def close(self) -> None:
        if self._deletion is not None:
            self.store.journal.discard(self._deletion.gone)
            self._deletion.gone = {}


class RegistryDeletion(Deletion):
    """Each DELETE (and each referrers index PUT) is durable as soon as the registry answers it."""

    def __init__(self, store: RegistryStore, repositories: set[str], fresh: Registry):
        super().__init__()
        self.store = store
        self.repositories = repositories
        self.deleted = 0
        self._checked: set[str] = set()
        self._fresh = fresh
        #: deleted here, so the journal need no longer show them (RegistrySession.close)
        self.gone: dict[str, list[str]] = {}

    def delete(self, repository: str, digest: str) -> None:
        if repository not in self._checked:
            for name in sorted(self.repositories | {repository}):
                if name not in self._checked:
                    self._check_deletable(name)
                    self._checked.add(name)
        self._journal_dependents(repository, digest)
        self._delete(repository, digest)
        self.deleted += 1
        self.gone.setdefault(repository, []).append(digest)
        self._confirm_deleted(repository, digest)
        self.durable.deleted.add((repository, digest))

    def _confirm_deleted(self, repository: str, digest: str) -> None:
        """Raise if the DELETE the registry answered did not reach what is being deleted from."""

    def rewrite_referrers(self, repository: str, digest: str, remove: set[str]) -> None:
        """PUT the index without `remove` under its fallback tag, then DELETE the old one (now
        untagged, it would go on listing deleted manifests and keep their blobs from the GC)."""
        if repository not in self._checked:
            self._check_deletable(repository)
            self._checked.add(repository)
        repo = self._fresh.repositories.get(repository)
        artifact = repo.artifacts.get(digest) if repo else None
        if artifact is None:
            raise StoreError(f"{shown(repository)}@{digest} is no longer in the registry; {self._nothing_or_count()}")
        tags = [t for t in artifact.tags if is_fallback_tag(t)]
        client = self.store.client
        what = f"reading the referrers index {shown(repository)}@{digest}"
        try:
            _, _, body = client.fetch("GET", f"/v2/{repo_path(repository)}/manifests/{digest}", mt.ACCEPT_MANIFESTS,
                                      what, repository)
        except StoreError as exc:
            raise StoreError(f"{exc}; {self._nothing_or_count()}") from None
        if digest_of(body, digest.partition(":")[0]) != digest:
            raise StoreError(f"registry {self.store.host} answered {what} with other content; {self._nothing_or_count()}")
        doc = json.loads(body)
        doc["manifests"] = [e for e in doc.get("manifests", []) if e.get("digest") not in remove]
        data = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
        try:
            self.store.journal.add(repository, sorted(remove))  # still findable if the run stops after the PUT
        except StoreError as exc:
            raise StoreError(f"{exc}; {self._nothing_or_count()}") from None
        for tag in tags:
            what = f"writing the referrers index {shown(repository)}:{shown(tag)} without {len(remove)} entries"
            try:
                client.request("PUT", f"/v2/{repo_path(repository)}/manifests/{tag}", what,
                               headers={"Content-Type": doc.get("mediaType") or mt.OCI_INDEX}, ok=(200, 201),
                               repository=repository, content=data)
            except StoreError as exc:
                raise StoreError(f"{exc}; {self._nothing_or_count()}") from None
        if tags and len(tags) == len(artifact.tags):  # tagged otherwise, it stays as those tags name it
            self._delete(repository, digest)
            self.gone.setdefault(repository, []).append(digest)
        self.durable.rewritten.add((repository, digest))

    def untag(self, repository: str, tag: str) -> None:
        """DELETE /v2/<name>/manifests/<tag>, where the registry supports it (Store.untag_refusal)."""
        repo = self._fresh.repositories.get(repository)
        digest = repo.tags.get(tag) if repo is not None else None
        if repo is None or digest is None:
            raise StoreError(f"{shown(repository)}:{shown(tag)} is no longer in the registry; nothing was untagged")
        if repo.is_top_level(digest) and repo.artifacts[digest].tags == [tag]:
            try:  # nothing else will list it: the journal keeps it in ocitree's view (a prune --untagged candidate)
                self.store.journal.add(repository, [digest])
            except StoreError as exc:
                raise StoreError(f"{exc}; nothing was untagged") from None
        client = self.store.client
        what = f"removing the tag {shown(repository)}:{shown(tag)}"
        try:
            response = client.request("DELETE", f"/v2/{repo_path(repository)}/manifests/{tag}", what,
                                      ok=(*DELETE_DONE, 400, 404, 405), repository=repository)
            still = manifest_present(client, repository, tag) if response.status_code in (*DELETE_DONE, 404) else True
        except StoreError as exc:
            raise StoreError(f"{exc}; nothing was untagged") from None
        if response.status_code == 400:
            raise StoreError(untag_unsupported(self.store.host, status_text(400, response.content)))
        if response.status_code == 405:
            raise StoreError(deletion_disabled(self.store.host, response, "to untag; nothing was untagged"))
        if still:
            raise StoreError(f"registry {self.store.host} answered {status_text(response.status_code, response.content)} "
                             f"to {what}, yet the tag still names a manifest: check that this account may delete in "
                             f"{shown(repository)}; nothing was untagged")
        self.durable.untagged.add((repository, tag))

    def _journal_dependents(self, repository: str, digest: str) -> None:
        """Write down what this DELETE could leave unreachable, before sending it."""
        repo = self._fresh.repositories.get(repository)
        artifact = repo.artifacts.get(digest) if repo else None
        if repo is None or artifact is None:
            return
        dependents = [c.digest for c in artifact.children] + repo.accessories_of(digest)
        try:
            self.store.journal.add(repository, dependents)
        except StoreError as exc:
            raise StoreError(f"{exc}; {self._nothing_or_count()}") from None

    def _nothing_or_count(self) -> str:
        if self.deleted == 0:
            return "nothing was deleted"
        return f"{self.deleted} artifact{'s' if self.deleted != 1 else ''} had been deleted before this"

    def _check_deletable(self, repository: str) -> None:
        client = self.store.client
        path = f"/v2/{repo_path(repository)}/manifests/{NO_SUCH_DIGEST}"
        try:
            response = client.request("DELETE", path, f"checking that {shown(repository)} allows deleting",
                                      ok=(*DELETE_DONE, 400, 404, 405))
        except StoreError as exc:
            raise StoreError(f"{exc}; {self._nothing_or_count()}") from None
        if response.status_code == 405:
            raise StoreError(self._disabled_message(response))

    def _delete(self, repository: str, digest: str) -> None:
        client = self.store.client
        what = f"deleting {shown(repository)}@{digest}"
        try:
            response = client.request("DELETE", f"/v2/{repo_path(repository)}/manifests/{digest}", what,
                                      ok=(*DELETE_DONE, 404, 405))
            # 404 is success when the manifest is gone (a run cut off after the registry acted, or
            # another client). Some registries also answer 404 for what the account may not delete:
            # counting that deleted would send the DELETEs of its children next, leaving it pointing at nothing.
            refused = response.status_code == 404 and manifest_present(client, repository, digest)
        except StoreError as exc:
            raise StoreError(f"{exc}; {self._nothing_or_count()}") from None
        if response.status_code == 405:
            raise StoreError(self._disabled_message(response))
        if refused:
            raise StoreError(f"registry {self.store.host} answered {status_text(404, response.content)} to {what}, "
                             f"yet still has it: check that this account may delete in {shown(repository)}; "
                             f"{self._nothing_or_count()}")

    def _disabled_message(self, response: httpx.Response) -> str:
        return deletion_disabled(self.store.host, response, f"and run again; {self._nothing_or_count()}")
