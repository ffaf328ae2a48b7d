"""Push a RegistryBuilder's content to a live registry over the Distribution API.

Blobs go up with POST to /blobs/uploads/ then PUT to the Location (which already carries
a `?_state=` query) adding `&digest=`; manifests go up by digest, children before the
indexes that list them (the registry refuses an index whose child is missing); tags
last, by PUT manifests/<tag> with the same bytes.

The registry logs every 404 (a HEAD for a blob it does not have yet is one), which is harmless.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urljoin

import httpx

from ocitree.sample_data.builder import BuiltManifest, RegistryBuilder


class PushError(RuntimeError):
    pass


def _check(response: httpx.Response, what: str) -> None:
    if response.status_code >= 300:
        raise PushError(f"{what}: {response.status_code} {response.text[:300]}")


def push_blob(client: httpx.Client, base: str, repository: str, digest: str, data: bytes) -> None:
    head = client.head(f"{base}/v2/{repository}/blobs/{digest}")
    if head.status_code == 200:
        return
    start = client.post(f"{base}/v2/{repository}/blobs/uploads/")
    _check(start, f"start upload of {digest} to {repository}")
    location = urljoin(f"{base}/v2/{repository}/blobs/uploads/", start.headers["Location"])
    separator = "&" if "?" in location else "?"
    done = client.put(f"{location}{separator}digest={digest}", content=data,
                      headers={"Content-Type": "application/octet-stream"})
    _check(done, f"upload of {digest} to {repository}")


def push_manifest(client: httpx.Client, base: str, m: BuiltManifest, reference: str | None = None) -> None:
    response = client.put(f"{base}/v2/{m.repository}/manifests/{reference or m.digest}", content=m.data,
                          headers={"Content-Type": m.media_type})
    _check(response, f"manifest {m.repository}@{reference or m.digest}")


def _levels(manifests: list[BuiltManifest]) -> list[list[BuiltManifest]]:
    """Manifests grouped so that every index comes in a later group than everything it lists."""
    depth: dict[str, int] = {}
    by_digest = {m.digest: m for m in manifests}

    def depth_of(m: BuiltManifest) -> int:
        if m.digest not in depth:
            children = [c["digest"] for c in json.loads(m.data).get("manifests", [])]
            depth[m.digest] = 1 + max((depth_of(by_digest[c]) for c in children if c in by_digest), default=-1)
        return depth[m.digest]

    groups: dict[int, list[BuiltManifest]] = {}
    for m in manifests:
        groups.setdefault(depth_of(m), []).append(m)
    return [groups[d] for d in sorted(groups)]


def push_builder(builder: RegistryBuilder, base: str, client: httpx.Client | None = None,
                 auth: tuple[str, str] | None = None, parallel: int = 8) -> None:
    """Push everything `builder` holds to the registry at `base` (e.g. http://127.0.0.1:5000).

    Requests run on `parallel` threads, each level of the index hierarchy after the one below it.
    Manifests known only by digest (`builder.declared`) have no content to push and are skipped."""
    own = client is None
    client = client or httpx.Client(auth=auth, timeout=30.0, limits=httpx.Limits(max_connections=parallel))

    def run(calls) -> None:
        for future in [pool.submit(fn, *args) for fn, *args in calls]:
            future.result()

    try:
        with ThreadPoolExecutor(parallel) as pool:
            for repository in builder.repositories():
                manifests = [m for m in builder.manifests(repository) if m.data]
                blobs = dict.fromkeys(d for m in manifests for d in builder.blobs_of(m))
                run((push_blob, client, base, repository, d, builder.blob_data(d)) for d in blobs)
                levels = _levels(manifests)
                for level in levels:
                    run((push_manifest, client, base, m) for m in level)
                # Level by level again: distribution rewrites a manifest's link when it is tagged,
                # and an index pushed meanwhile can then find its child missing.
                for level in levels:
                    run((push_manifest, client, base, m, tag) for m in level for tag in m.tags)
    finally:
        if own:
            client.close()
