"""Reading repositories from a registry: catalog, tags, manifests, children and referrers.

Fetches run on a pool of `concurrency` threads; this module's own loop runs on the caller's
thread, hands work out, and takes results back through one queue (waiting on thousands of
futures at once would cost time in proportion to their number at every step). Progress is
reported from the caller's thread.

What is fetched: every tag with GET manifests/<tag> (the answer carries the manifest and its
digest; with If-None-Match naming the digest the tag had last time, so that an unchanged tag
costs a body-less 304), then by digest every child an index lists, every referrer the
registry's referrers API names, and what the deletion journal lists. A digest already in the
cache is not fetched again (content by digest never changes), but the cache knows content, not
presence: a repository may have lost it (another client deleted it) or never had it (the same
digest read in another repository). So a cached manifest counts only once this repository has
answered for it in this load: a 304 to its tag, or a HEAD by digest. A warm load saves bytes and
parsing, never a question about what the repository holds now. (Not a conditional GET by digest:
distribution 2.8 answers If-None-Match naming the digest with 304 before looking, even for a
manifest deleted long ago. It spends about 1.3 ms of CPU on a HEAD, a GET or a 304 alike, so the
registry's CPU, not ours, bounds how much faster a warm load can be.)

Created times: the config blob of every image manifest whose config is an image config is read
once ever (GET blobs/<digest>, following the registry's redirect to its storage) for its `created`,
which the cache keeps by config digest; a cached one is never asked for again, since a config is
only content, and the date is no claim about what the repository holds. A config that cannot be
read leaves the date unknown and the load goes on; after a timeout no more configs are asked for.

What a plain registry cannot show: a manifest with no tag that no index lists is invisible
through the Distribution API (and so is an accessory found only by its `subject` field, when
the registry has no referrers API).
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urljoin

import httpx

from ... import media_types as mt
from ...errors import MalformedDataError, OcitreeError, StoreError
from ...digests import digest_matches, digest_of
from ...image_config import MAX_CONFIG_BYTES, config_to_read, created_from_config
from ...json_text import NestedTooDeeply, load_json
from ...model import Artifact, Repository
from ...names import is_digest, is_repository_name, is_tag
from ..base import LoadProgress, ProgressCallback
from .answers import printable
from .artifacts import artifact_from_manifest, artifact_from_record, artifact_record
from .cache import ManifestCache
from .deadline import within
from .transport import RegistryClient, SlowRegistryError, repo_path

MAX_MANIFEST_BYTES = 4 * 1024 * 1024  # distribution's own limit
CATALOG_PAGE = 1000  # distribution's largest page
NO_SUCH_DIGEST = "sha256:" + "0" * 64  # a digest no content has: probing with it touches nothing
_PROGRESS_INTERVAL = 0.05  # seconds between progress reports
_CONFIG_BATCH = 500  # config digests looked up in the cache at once
_REDIRECTS = (301, 302, 303, 307, 308)  # a blob GET answered from the registry's storage (S3, a CDN)


@dataclass
class _Repo:
    name: str
    tags: dict[str, str] = field(default_factory=dict)  # tag -> digest
    seen: set[str] = field(default_factory=set)  # digests asked for or found
    artifacts: dict[str, Artifact] = field(default_factory=dict)
    hints: dict[str, str] = field(default_factory=dict)  # tag -> digest at the last load


class _Stopped(Exception):
    """A task skipped because the load already failed."""


def list_repositories(client: RegistryClient, page_size: int = CATALOG_PAGE) -> list[str]:
    names: list[str] = []
    what = "listing repositories (/v2/_catalog)"
    for status, _, body in client.get_paginated(f"/v2/_catalog?n={page_size}", what, ok=(200, 404)):
        if status == 404:
            raise StoreError(f"registry {client.host} does not list its repositories (/v2/_catalog answered HTTP 404)")
        page = _json(body, client.host, what)
        repos = page.get("repositories") if isinstance(page, dict) else None
        if repos is None:
            repos = []
        if not isinstance(repos, list) or not all(isinstance(r, str) for r in repos):
            raise MalformedDataError(f"registry {client.host} answered {what} without a list of names: "
                                     f"is this a container registry?")
        _check_names(repos, is_repository_name, "repository name", client.host, what)
        names.extend(repos)
    return sorted(dict.fromkeys(names))


def has_referrers_api(client: RegistryClient, repository: str) -> bool:
    """A registry with the referrers API answers 200 for any digest (OCI distribution spec 1.1);
    one without it answers 404."""
    try:
        response = client.request("GET", f"/v2/{repo_path(repository)}/referrers/{NO_SUCH_DIGEST}",
                                  "checking for the referrers API", headers={"Accept": mt.OCI_INDEX},
                                  ok=(200, 400, 404, 405, 501))
    except SlowRegistryError:
        raise  # a registry this slow would time out again on the next request
    except StoreError:
        return False
    return response.status_code == 200 and isinstance(_json_or_none(response.content), dict)


def manifest_present(client: RegistryClient, repository: str, digest: str) -> bool:
    """HEAD: does the registry have this manifest now?"""
    status, _, _ = client.fetch("HEAD", f"/v2/{repo_path(repository)}/manifests/{digest}", mt.ACCEPT_MANIFESTS,
                                f"checking {shown(repository)}@{digest}", repository, ok=(200, 404))
    return status == 200


def shown(name: str) -> str:
    """A repository name or tag from the registry, safe to put in a message."""
    return printable(name, 160)


def _json(data: bytes, host: str, what: str) -> Any:
    try:
        doc = load_json(data)
    except NestedTooDeeply:
        raise MalformedDataError(f"registry {host} answered {what} with JSON nested too deeply: is this a container registry?") from None
    except (ValueError, UnicodeDecodeError):
        doc = None
    if doc is None:  # malformed data, as a manifest that is not JSON is (exit 2)
        raise MalformedDataError(f"registry {host} answered {what} with something that is not JSON: "
                                 f"is this a container registry?")
    return doc


def _check_names(names: list[str], valid: Callable[[str], bool], kind: str, host: str, what: str) -> None:
    """Names outside the distribution grammar are refused, in one line: no registry accepts one
    in a push, and it would go into request paths (`../`), the cache and every message."""
    for name in names:
        if not valid(name):
            raise MalformedDataError(f"registry {host} answered {what} with '{shown(name)}', which is not a valid "
                                     f"{kind}: check the registry, and any proxy in front of it")


def _json_or_none(data: bytes) -> Any:
    try:
        return load_json(data)
    except (ValueError, UnicodeDecodeError):  # NestedTooDeeply included
        return None


# What a manifest request by tag gives: (digest, artifact, body), or (digest, None, None) for "unchanged".
_ByTag = tuple[str, Artifact, bytes] | tuple[str, None, None]
# Called on the loading thread with a finished task's (repository, key, result).
_OnDone = Callable[[_Repo, str, Any], None]


class Loader:
    """One load of some repositories. Not reusable."""

    def __init__(self, client: RegistryClient, cache: ManifestCache, pool: Executor,
                 progress: ProgressCallback | None = None, referrers: bool = False):
        self.client = client
        self.cache = cache
        self.pool = pool
        self.progress = progress
        self.referrers = referrers
        self._checking: dict[tuple[str, str], tuple[bytes, str]] = {}  # cached entries awaiting their HEAD
        # (token, result, error) of each finished task
        self._results: queue.SimpleQueue[tuple[int, Any, BaseException | None]] = queue.SimpleQueue()
        self._pending: dict[int, tuple[_OnDone, _Repo, str]] = {}
        self._next_token = 0
        self._stop = False
        self._inline: list[tuple[_Repo, str, bytes, str]] = []  # from the cache: (repo, digest, data, record)
        self._done = 0
        self._total = 0
        self._last_report = 0.0
        self.requests = 0  # manifest and referrer requests answered (tags/list not counted)
        self._created: dict[str, float | None] = {}  # config digest -> its created time, once known
        self._configs_wanted: dict[str, _Repo] = {}  # config digest -> a repository to read it from
        self._configs_asked: set[str] = set()  # wanted once: looked up, being fetched, or done
        self._configs_off = False  # a config read timed out: the rest go without dates

    # -- public ------------------------------------------------------------------------------

    def load(self, names: list[str], journal: dict[str, list[str]] | None = None) -> list[Repository]:
        """Read `names`; `journal` adds digests to look for by digest (leftovers of a cut-off deletion)."""
        repos = [_Repo(name, hints=self.cache.tag_hints(self.client.host, name)) for name in names]
        self._report(force=True)
        try:
            for repo in repos:
                self._submit(self._on_tags, repo, "", self._list_tags, repo.name)
                self._want(repo, list((journal or {}).get(repo.name, ())))
            self._drain()
            while True:
                if self._configs_wanted and (not self._pending or self._results.empty()
                                             or len(self._configs_wanted) >= _CONFIG_BATCH):
                    self._ask_configs()  # in batches, while the pool is busy with manifests
                if not self._pending:
                    break
                token, result, error = self._results.get()
                on_done, repo, key = self._pending.pop(token)
                if error is not None:
                    raise error
                on_done(repo, key, result)
                self._drain()
                self._report()
        except BaseException:
            self._stop = True  # queued tasks return at once; running ones finish into the void
            raise
        finally:
            self.cache.flush()  # what was fetched before a failure is kept
        self._report(force=True)
        for repo in repos:
            self.cache.remember_tags(self.client.host, repo.name, repo.tags)
        self.cache.flush()
        out = []
        for repo in repos:
            tags_of: dict[str, list[str]] = {}
            for tag, digest in repo.tags.items():
                tags_of.setdefault(digest, []).append(tag)
            artifacts = []
            for digest in sorted(repo.artifacts):
                artifact = repo.artifacts[digest]
                artifact.tags = sorted(tags_of.get(digest, ()))
                config = config_to_read(artifact)
                if config is not None:
                    artifact.created = self._created.get(config.digest)
                artifacts.append(artifact)
            out.append(Repository(repo.name, artifacts))
        return out

    # -- scheduling --------------------------------------------------------------------------

    def _submit(self, on_done: _OnDone, repo: _Repo, key: str, fn: Callable[..., Any], *args: Any) -> None:
        token = self._next_token
        self._next_token += 1
        self._pending[token] = (on_done, repo, key)
        self._total += 1
        self.pool.submit(self._run, token, fn, args)

    def _run(self, token: int, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        if self._stop:
            self._results.put((token, None, _Stopped()))
            return
        try:
            self._results.put((token, fn(*args), None))
        except BaseException as exc:  # handed to the loop, which raises it on the caller's thread
            self._results.put((token, None, exc))

    def _report(self, force: bool = False) -> None:
        if self.progress is None:
            return
        now = time.monotonic()
        if force or now - self._last_report >= _PROGRESS_INTERVAL:
            self._last_report = now
            self.progress(LoadProgress(self._done, self._total or None, "reading manifests"))

    # -- what the threads do -----------------------------------------------------------------

    def _list_tags(self, repository: str) -> list[str]:
        what = f"listing the tags of {shown(repository)}"
        tags: list[str] = []
        for status, _, body in self.client.get_paginated(f"/v2/{repo_path(repository)}/tags/list", what,
                                                         repository=repository, ok=(200, 404)):
            if status == 404:
                return []  # NAME_UNKNOWN: a repository that never had a tag, or is gone
            page = _json(body, self.client.host, what)
            page_tags = page.get("tags") if isinstance(page, dict) else None
            if page_tags is None:
                continue  # distribution says "tags": null once the last tag is gone
            if not isinstance(page_tags, list) or not all(isinstance(t, str) for t in page_tags):
                raise MalformedDataError(f"registry {self.client.host} answered {what} without a list of tag names")
            _check_names(page_tags, is_tag, "tag", self.client.host, what)
            tags.extend(page_tags)
        return list(dict.fromkeys(tags))

    def _get_by_tag(self, repository: str, tag: str, hint: str | None) -> _ByTag | None:
        """(digest, artifact, body); (digest, None, None) when the registry says the tag still
        points at `hint` (304: distribution answers it without reading the manifest); None for 404."""
        what = f"reading {shown(repository)}:{shown(tag)}"
        conditional = {"If-None-Match": f'"{hint}"'} if hint else None
        status, headers, body = self.client.fetch("GET", f"/v2/{repo_path(repository)}/manifests/{_quote_tag(tag)}",
                                                  mt.ACCEPT_MANIFESTS, what, repository, ok=(200, 304, 404),
                                                  headers=conditional)
        if status == 404:
            return None  # deleted since the tag list was read
        if status == 304:
            if not hint:
                raise StoreError(f"registry {self.client.host} answered 304 Not Modified to an unconditional {what}")
            return hint, None, None
        self._check_size(repository, tag, body)
        digest = headers.get("docker-content-digest")
        if digest:
            if not digest_matches(digest, body):
                raise MalformedDataError(
                    f"registry {self.client.host}: {shown(repository)}:{shown(tag)} arrived with content that does not match "
                    f"its digest {digest}: the registry or a proxy altered it; try again")
        else:
            digest = digest_of(body)
        return digest, self._parse(repository, digest, body), body

    def _get_by_digest(self, repository: str, digest: str) -> tuple[Artifact, bytes] | None:
        what = f"reading {shown(repository)}@{digest}"
        status, _, body = self.client.fetch("GET", f"/v2/{repo_path(repository)}/manifests/{digest}",
                                            mt.ACCEPT_MANIFESTS, what, repository, ok=(200, 404))
        if status == 404:
            return None  # an index lists it, the repository does not have it
        self._check_size(repository, digest, body)
        if not digest_matches(digest, body):
            raise MalformedDataError(
                f"registry {self.client.host}: {shown(repository)}@{digest} arrived with content that does not match "
                f"that digest: the registry or a proxy altered it; try again")
        return self._parse(repository, digest, body), body

    def _still_there(self, repository: str, digest: str) -> bool:
        return manifest_present(self.client, repository, digest)

    def _get_referrers(self, repository: str, digest: str) -> list[str]:
        what = f"listing the referrers of {shown(repository)}@{digest}"
        path = f"/v2/{repo_path(repository)}/referrers/{digest}"
        found: list[str] = []
        for status, _, body in self.client.get_paginated(path, what, repository=repository, accept=mt.OCI_INDEX,
                                                         ok=(200, 404)):
            if status == 404:
                break
            doc = _json(body, self.client.host, what)
            entries = doc.get("manifests") if isinstance(doc, dict) else None
            for entry in entries or []:
                if isinstance(entry, dict) and isinstance(entry.get("digest"), str):
                    if not is_digest(entry["digest"]):
                        raise MalformedDataError(f"registry {self.client.host} answered {what} with "
                                                 f"'{shown(entry['digest'])}', which is not a digest: check the registry")
                    found.append(entry["digest"])
        return found

    def _check_size(self, repository: str, reference: str, body: bytes) -> None:
        if len(body) > MAX_MANIFEST_BYTES:
            raise MalformedDataError(f"registry {self.client.host}: {shown(repository)} {shown(reference)} is larger than 4 MiB, "
                                     f"so it is not a manifest")

    def _get_created(self, repository: str, digest: str) -> tuple[float | None, bool]:
        """(created, whether to cache it) of the config `digest`. Any failure is (None, False): the
        date stays unknown this time, and the load goes on; a timeout also stops further config reads."""
        if self._configs_off:
            return None, False
        what = f"reading the config {digest} of {shown(repository)}"
        try:
            status, headers, body = self.client.fetch("GET", f"/v2/{repo_path(repository)}/blobs/{digest}", "*/*", what,
                                                      repository, ok=(200, 404, *_REDIRECTS))
            if status in _REDIRECTS:
                status, body = self._follow(headers.get("location"))
        except SlowRegistryError:
            self._configs_off = True
            return None, False
        except OcitreeError:  # refused, failed, unreadable: no date this time, never a failed load
            return None, False
        if status != 200 or len(body) > MAX_CONFIG_BYTES or not digest_matches(digest, body):
            return None, False  # gone, or altered on the way: ask again next time
        return created_from_config(digest, body), True

    def _follow(self, location: str | None) -> tuple[int, bytes]:
        """GET where the registry redirected a blob: its storage, with a signed URL and no credentials
        of ours (the client's authentication answers only the registry host's challenges)."""
        if not location:
            return 0, b""
        try:
            with within(self.client.timeout):
                response = self.client.http.get(urljoin(self.client.endpoint.base_url + "/", location))
        except (httpx.HTTPError, OcitreeError):
            return 0, b""
        return response.status_code, response.content

    def _parse(self, repository: str, digest: str, body: bytes) -> Artifact:
        return artifact_from_manifest(repository, digest, body, [], f"{self.client.host}/{shown(repository)}@{digest}")

    # -- what the loop does with results ------------------------------------------------------

    def _on_tags(self, repo: _Repo, _key: str, tags: list[str]) -> None:
        self._done += 1
        for tag in tags:
            self._submit(self._on_tag, repo, tag, self._get_by_tag, repo.name, tag, repo.hints.get(tag))

    def _on_tag(self, repo: _Repo, tag: str, result: _ByTag | None) -> None:
        self._done += 1
        self.requests += 1
        if result is None:
            return
        digest = result[0]
        repo.tags[tag] = digest
        if result[1] is None:
            self._want(repo, [digest], answered=True)  # unchanged: the 304 says this repository has it
        elif digest not in repo.seen:
            repo.seen.add(digest)
            _, artifact, body = result
            self._fetched(repo, artifact, body)

    def _on_digest(self, repo: _Repo, digest: str, result: tuple[Artifact, bytes] | None) -> None:
        self._done += 1
        self.requests += 1
        if result is not None:
            artifact, body = result
            self._fetched(repo, artifact, body)

    def _on_checked(self, repo: _Repo, digest: str, present: bool) -> None:
        self._done += 1
        self.requests += 1
        entry = self._checking.pop((repo.name, digest))
        if present:
            self._inline.append((repo, digest, *entry))

    def _on_referrers(self, repo: _Repo, _subject: str, digests: list[str]) -> None:
        self._done += 1
        self.requests += 1
        self._want(repo, digests)

    def _on_created(self, _repo: _Repo, digest: str, result: tuple[float | None, bool]) -> None:
        self._done += 1
        created, keep = result
        self._created[digest] = created
        if keep:
            self.cache.put_created(digest, created)

    def _ask_configs(self) -> None:
        """Dates of the configs wanted so far: from the cache, else fetched on the pool."""
        wanted, self._configs_wanted = self._configs_wanted, {}
        known = self.cache.created_many(wanted)
        self._created.update(known)
        for digest, repo in wanted.items():
            if digest not in known:
                self._submit(self._on_created, repo, digest, self._get_created, repo.name, digest)

    def _fetched(self, repo: _Repo, artifact: Artifact, body: bytes) -> None:
        self.cache.put(artifact.digest, body, artifact_record(artifact))
        self._add(repo, artifact)

    def _want(self, repo: _Repo, digests: list[str], answered: bool = False) -> None:
        """Read `digests`, from the cache when they are there. A cached one is confirmed with HEAD
        (does this repository have it now?) unless `answered`: the repository just said so."""
        new = [d for d in dict.fromkeys(digests) if d not in repo.seen]
        if not new:
            return
        repo.seen.update(new)
        cached = self.cache.get_many(new)
        for digest in new:
            entry = cached.get(digest)
            if entry is None:
                self._submit(self._on_digest, repo, digest, self._get_by_digest, repo.name, digest)
            elif not answered:
                self._checking[(repo.name, digest)] = entry
                self._submit(self._on_checked, repo, digest, self._still_there, repo.name, digest)
            else:
                self._total += 1
                self._done += 1
                self._inline.append((repo, digest, *entry))

    def _drain(self) -> None:
        """Handle manifests that came from the cache (and the children they list, and so on)."""
        while self._inline:
            repo, digest, data, record = self._inline.pop()
            try:
                artifact = artifact_from_record(repo.name, digest, len(data), record)
            except (ValueError, TypeError):
                self.cache.forget(digest)  # a record this version cannot read: parse the bytes instead
                artifact = self._parse(repo.name, digest, data)
                self.cache.put(digest, data, artifact_record(artifact))
            self._add(repo, artifact)

    def _add(self, repo: _Repo, artifact: Artifact) -> None:
        repo.artifacts[artifact.digest] = artifact
        config = config_to_read(artifact)
        if config is not None and config.digest not in self._configs_asked:
            self._configs_asked.add(config.digest)
            self._configs_wanted[config.digest] = repo
        if artifact.children:
            self._want(repo, [c.digest for c in artifact.children])
        if self.referrers:
            self._submit(self._on_referrers, repo, artifact.digest, self._get_referrers, repo.name, artifact.digest)


def _quote_tag(tag: str) -> str:
    return quote(tag, safe="")
