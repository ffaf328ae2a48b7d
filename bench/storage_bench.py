"""Reading a registry's filesystem storage directly, against a plain walk-and-read of the same files.

    .venv/bin/python -m bench.storage_bench                  (make bench-storage)
    .venv/bin/python -m bench.storage_bench --repositories 20 --releases 50 --rounds 3

Generates, in a temporary directory, the storage tree distribution 2.8 writes (no registry is
run: the files are written as it writes them) with `--repositories` x `--releases` x
(`--platforms` + 1) manifests; the defaults give 100,000: per repository, releases are OCI
indexes of 9 platform images (config unique per image, one layer per platform shared by the
repository's releases), the newest 10 tagged `vN`, older ones untagged leftovers as GC leaves them.

Then, `--rounds` times (medians reported), page cache warm for both (a first untimed pass of each):
  - plain walk-and-read: os.walk over docker/registry/v2 (without `_layers`, `_uploads` and the
    tags' `index` history, which ocitree does not read), read every `link` file, read the blob
    file of every manifest a revision link names, stat every other blob file: the files ocitree's
    reader touches, with no parsing;
  - direct reads: the same files with ocitree's own system calls (each blob's data file stat'ed
    without listing its directory), no parsing: shows ocitree's own Python cost;
  - ocitree: RegistryStorageStore.load() (the walk, reading, parsing, checking digests, the
    model, and garbage-collect's mark counts).
Target: ocitree <= 2 x the plain walk. Exit status 1 when missed. Figures also go to
bench/results/storage_bench-<time>.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from ocitree.core.media_types import OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST

RESULTS_DIR = Path(__file__).resolve().parent / "results"
TARGET = 2.0


def _canonical(doc: dict) -> bytes:
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


class StorageWriter:
    def __init__(self, v2: Path):
        self.v2 = v2
        self.blobs: set[str] = set()

    def blob(self, data: bytes) -> str:
        hexd = hashlib.sha256(data).hexdigest()
        if hexd not in self.blobs:
            self.blobs.add(hexd)
            directory = self.v2 / "blobs/sha256" / hexd[:2] / hexd
            directory.mkdir(parents=True, exist_ok=True)
            (directory / "data").write_bytes(data)
        return "sha256:" + hexd

    def link(self, path: Path, digest: str) -> None:
        path.mkdir(parents=True, exist_ok=True)
        (path / "link").write_text(digest)

    def manifest(self, repo: str, doc: dict) -> tuple[str, int]:
        data = _canonical(doc)
        digest = self.blob(data)
        self.link(self.v2 / "repositories" / repo / "_manifests/revisions/sha256" / digest[7:], digest)
        return digest, len(data)

    def tag(self, repo: str, tag: str, digest: str) -> None:
        base = self.v2 / "repositories" / repo / "_manifests/tags" / tag
        self.link(base / "current", digest)
        self.link(base / "index/sha256" / digest[7:], digest)

    def layer_link(self, repo: str, digest: str) -> None:
        self.link(self.v2 / "repositories" / repo / "_layers/sha256" / digest[7:], digest)


def generate(root: Path, repositories: int, releases: int, platforms: int, tagged: int) -> int:
    w = StorageWriter(root / "docker/registry/v2")
    count = 0
    for r in range(repositories):
        repo = f"bench/service-{r:03d}"
        layers = []
        for p in range(platforms):
            layer = f"{repo} platform {p} layer".encode() * 8
            digest = w.blob(layer)
            w.layer_link(repo, digest)
            layers.append((digest, len(layer)))
        for v in range(releases):
            children = []
            for p in range(platforms):
                config = _canonical({"architecture": f"arch{p}", "os": "linux", "release": v, "repo": repo})
                cdigest = w.blob(config)
                w.layer_link(repo, cdigest)
                doc = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                       "config": {"mediaType": OCI_CONFIG, "digest": cdigest, "size": len(config)},
                       "layers": [{"mediaType": OCI_LAYER, "digest": layers[p][0], "size": layers[p][1]}]}
                digest, size = w.manifest(repo, doc)
                children.append({"mediaType": OCI_MANIFEST, "digest": digest, "size": size,
                                  "platform": {"os": "linux", "architecture": f"arch{p}"}})
            index, _ = w.manifest(repo, {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children})
            count += platforms + 1
            if v >= releases - tagged:
                w.tag(repo, f"v{v}", index)
    return count


def plain_walk(v2: Path) -> int:
    """The files ocitree reads: revision and current-tag link files, every manifest blob; every other
    blob file stat'ed. (`_layers`, `_uploads` and the tags' `index` history are pruned from the walk:
    ocitree does not read them either, and garbage-collect 2.8 does not use them.)"""
    manifests: set[str] = set()
    data_files: list[str] = []
    for dirpath, dirnames, filenames in os.walk(v2):
        in_tag = "/_manifests/tags/" in dirpath  # dirpath is a tag's directory: keep current/, not index/
        dirnames[:] = [d for d in dirnames if d not in ("_layers", "_uploads") and not (in_tag and d == "index")]
        for name in filenames:
            path = os.path.join(dirpath, name)
            if name == "link":
                with open(path, "rb") as fh:
                    digest = fh.read().decode()
                if "/_manifests/revisions/" in path:
                    manifests.add(digest)
            elif name == "data":
                data_files.append(path)
    read = 0
    for path in data_files:
        hexd = os.path.basename(os.path.dirname(path))
        if "sha256:" + hexd in manifests:
            with open(path, "rb") as fh:
                fh.read()
            read += 1
        else:
            os.stat(path)
    return read


def direct_reads(v2: Path) -> int:
    """The tightest plain reader: ocitree's own system calls (no listing of each blob's directory,
    only a stat of its data file), with no parsing or model: what is left is ocitree's Python cost."""
    manifests: set[str] = set()
    stack = [str(v2 / "repositories")]
    while stack:
        path = stack.pop()
        with os.scandir(path) as it:
            entries = [e for e in it if e.is_dir(follow_symlinks=False)]
        names = {e.name for e in entries}
        if "_manifests" in names:
            revisions = os.path.join(path, "_manifests/revisions/sha256")
            for hexd in os.listdir(revisions):
                with open(os.path.join(revisions, hexd, "link"), "rb") as fh:
                    manifests.add(fh.read().decode())
            tags = os.path.join(path, "_manifests/tags")
            for tag in os.listdir(tags) if os.path.isdir(tags) else ():
                with open(os.path.join(tags, tag, "current/link"), "rb") as fh:
                    fh.read()
        stack.extend(e.path for e in entries if not e.name.startswith("_"))
    read = 0
    blobs = str(v2 / "blobs/sha256")
    for prefix in os.listdir(blobs):
        for hexd in os.listdir(os.path.join(blobs, prefix)):
            path = os.path.join(blobs, prefix, hexd, "data")
            if "sha256:" + hexd in manifests:
                with open(path, "rb") as fh:
                    fh.read()
                read += 1
            else:
                os.stat(path)
    return read


def ocitree_load(root: Path) -> int:
    from ocitree.core.sources import open_store

    store = open_store(str(root))
    try:
        return store.load().artifact_count
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repositories", type=int, default=100)
    parser.add_argument("--releases", type=int, default=100)
    parser.add_argument("--platforms", type=int, default=9)
    parser.add_argument("--tagged", type=int, default=10, help="newest releases tagged per repository")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", help="where to generate the tree (default: the system's temporary directory; "
                                      "/dev/shm takes the disk out of both figures)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

    with tempfile.TemporaryDirectory(prefix="ocitree-storage-bench-", dir=args.dir) as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        n = generate(root, args.repositories, args.releases, args.platforms, args.tagged)
        print(f"generated {n:,} manifests in {args.repositories} repositories in {time.perf_counter() - t:.1f} s (not measured)")
        v2 = root / "docker/registry/v2"
        assert plain_walk(v2) == n == direct_reads(v2)
        assert ocitree_load(root) == n  # all warm the page cache before timing
        plain, direct, ours = [], [], []
        for _ in range(args.rounds):
            t = time.perf_counter()
            plain_walk(v2)
            plain.append(time.perf_counter() - t)
            t = time.perf_counter()
            direct_reads(v2)
            direct.append(time.perf_counter() - t)
            t = time.perf_counter()
            ocitree_load(root)
            ours.append(time.perf_counter() - t)

    ratio = statistics.median(ours) / statistics.median(plain)
    ok = ratio <= TARGET
    print(f"{'':24}{'median s':>10}{'manifests/s':>14}")
    print(f"{'plain walk-and-read':24}{statistics.median(plain):10.2f}{n / statistics.median(plain):14,.0f}")
    print(f"{'direct reads':24}{statistics.median(direct):10.2f}{n / statistics.median(direct):14,.0f}")
    print(f"{'ocitree load':24}{statistics.median(ours):10.2f}{n / statistics.median(ours):14,.0f}")
    direct_ratio = statistics.median(ours) / statistics.median(direct)
    print(f"ocitree / plain = {ratio:.2f} (target <= {TARGET}) {'ok' if ok else 'MISSED'}")
    print(f"ocitree / direct reads = {direct_ratio:.2f} (no target: ocitree's parsing, checking and model)")
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    record = {"bench": "storage_bench", "time": stamp,
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
              "args": vars(args), "manifests": n, "seconds": {"plain": plain, "direct": direct, "ocitree": ours},
              "ocitree_over_plain": ratio, "ocitree_over_direct": direct_ratio, "target_met": ok}
    out = RESULTS_DIR / f"storage_bench-{stamp}.json"
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"figures in {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
