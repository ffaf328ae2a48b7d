"""RegistryBuilder: builds real, content-addressed OCI content for demos and tests.

Every manifest is real JSON with its true sha256 digest, and every config and layer
is a real blob, so one description can become a sample file (`to_sample()`), a tree
of OCI image layouts (`write_layouts()`), or be pushed to a live registry
(`blobs()` and `manifests()` give what to upload, children before parents).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ocitree.core import media_types as mt
from ocitree.core import tag_schemes

SAMPLE_FORMAT = "ocitree-sample/1"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _canonical(doc: dict) -> bytes:
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


@dataclass
class BuiltManifest:
    repository: str
    digest: str
    media_type: str
    data: bytes
    tags: list[str] = field(default_factory=list)
    platform: dict | None = None  # used when an index lists it
    artifact_type: str | None = None
    declared_size: int | None = None  # for declared() manifests, whose content we do not have

    @property
    def size(self) -> int:
        return self.declared_size if self.declared_size is not None else len(self.data)

    def descriptor(self, platform: dict | None = None) -> dict:
        d = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        p = platform if platform is not None else self.platform
        if p:
            d["platform"] = p
        if self.artifact_type:
            d["artifactType"] = self.artifact_type
        return d


class RegistryBuilder:
    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}
        self._manifests: dict[str, dict[str, BuiltManifest]] = {}  # repo -> digest -> manifest
        self._order: dict[str, list[str]] = {}  # repo -> digests in creation order (children first)
        self._counter = 0
        self.protect: list[str] = []

    # -- building ------------------------------------------------------------------------

    def blob(self, data: bytes) -> str:
        digest = _digest(data)
        self._blobs[digest] = data
        return digest

    def _add(self, repo: str, m: BuiltManifest) -> BuiltManifest:
        repo_map = self._manifests.setdefault(repo, {})
        order = self._order.setdefault(repo, [])
        if m.digest in repo_map:
            existing = repo_map[m.digest]
            existing.tags.extend(t for t in m.tags if t not in existing.tags)
            return existing
        repo_map[m.digest] = m
        order.append(m.digest)
        return m

    def image(
        self,
        repo: str,
        tags: list[str] | tuple[str, ...] = (),
        os: str = "linux",
        arch: str = "amd64",
        variant: str | None = None,
        layer_sizes: tuple[int, ...] = (1024,),
        seed: str | None = None,
        annotations: dict[str, str] | None = None,
        docker: bool = False,
        created: str | None = None,
    ) -> BuiltManifest:
        """An image manifest with a config and layers; `seed` makes distinct images distinct;
        `created` (RFC 3339) goes into the config, as a build tool writes it."""
        self._counter += 1
        seed = seed if seed is not None else f"{repo}-{self._counter}"
        platform = {"os": os, "architecture": arch}
        if variant:
            platform["variant"] = variant
        config = _canonical({"architecture": arch, "os": os, **({"variant": variant} if variant else {}),
                             "rootfs": {"type": "layers", "diff_ids": []}, "config": {"Labels": {"seed": seed}},
                             **({"created": created} if created else {})})
        config_type = mt.DOCKER_CONFIG if docker else mt.OCI_CONFIG
        layer_type = mt.DOCKER_LAYER if docker else mt.OCI_LAYER
        layers = []
        for i, size in enumerate(layer_sizes):
            data = _pseudo_bytes(f"{seed}/layer{i}", size)
            layers.append({"mediaType": layer_type, "digest": self.blob(data), "size": len(data)})
        doc: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": mt.DOCKER_MANIFEST if docker else mt.OCI_MANIFEST,
            "config": {"mediaType": config_type, "digest": self.blob(config), "size": len(config)},
            "layers": layers,
        }
        if annotations:
            doc["annotations"] = dict(annotations)
        data = _canonical(doc)
        return self._add(repo, BuiltManifest(repo, _digest(data), doc["mediaType"], data, list(tags), platform))

    def index(
        self,
        repo: str,
        children: Sequence[BuiltManifest | tuple[BuiltManifest, dict]],
        tags: list[str] | tuple[str, ...] = (),
        annotations: dict[str, str] | None = None,
        child_annotations: dict[str, dict[str, str]] | None = None,
        docker: bool = False,
        missing: tuple[str, ...] = (),
    ) -> BuiltManifest:
        """An index listing `children` (in that order) and, by digest only, `missing` ones."""
        entries = []
        for child in children:
            m, platform = child if isinstance(child, tuple) else (child, None)
            d = m.descriptor(platform)
            if child_annotations and m.digest in child_annotations:
                d["annotations"] = child_annotations[m.digest]
            entries.append(d)
        for digest in missing:
            entries.append({"mediaType": mt.OCI_MANIFEST, "digest": digest, "size": 1000,
                            "platform": {"os": "linux", "architecture": "s390x"}})
        doc: dict[str, Any] = {"schemaVersion": 2, "mediaType": mt.DOCKER_MANIFEST_LIST if docker else mt.OCI_INDEX, "manifests": entries}
        if annotations:
            doc["annotations"] = dict(annotations)
        data = _canonical(doc)
        return self._add(repo, BuiltManifest(repo, _digest(data), doc["mediaType"], data, list(tags)))

    def accessory(
        self,
        repo: str,
        subject: BuiltManifest,
        kind: str = "signature",
        tags: list[str] | tuple[str, ...] = (),
        cosign_tag: bool = True,
        use_subject_field: bool = True,
    ) -> BuiltManifest:
        """A signature, SBOM or attestation for `subject`: an OCI artifact manifest with a
        `subject` field and, by default, also cosign's `sha256-<hex>.sig|.sbom|.att` tag."""
        self._counter += 1
        artifact_type = {mt.SIGNATURE: mt.COSIGN_SIGNATURE, mt.SBOM: mt.SPDX, mt.ATTESTATION: mt.IN_TOTO}[kind]
        payload = _canonical({"kind": kind, "subject": subject.digest, "n": self._counter})
        empty = b"{}"
        doc = {
            "schemaVersion": 2,
            "mediaType": mt.OCI_MANIFEST,
            "artifactType": artifact_type,
            "config": {"mediaType": mt.OCI_EMPTY, "digest": self.blob(empty), "size": 2},
            "layers": [{"mediaType": artifact_type, "digest": self.blob(payload), "size": len(payload)}],
        }
        if use_subject_field:
            doc["subject"] = {"mediaType": subject.media_type, "digest": subject.digest, "size": subject.size}
        all_tags = list(tags)
        if cosign_tag:
            all_tags.append(tag_schemes.cosign_tag(subject.digest, kind))
        data = _canonical(doc)
        return self._add(repo, BuiltManifest(repo, _digest(data), mt.OCI_MANIFEST, data, all_tags, None, artifact_type))

    def declared(self, repo: str, digest: str, size: int, os: str, arch: str, tags=()) -> BuiltManifest:
        """A manifest known only by digest and size (as in published examples): usable in a
        sample file, not in a layout or a registry, which need the content."""
        return self._add(repo, BuiltManifest(repo, digest, mt.OCI_MANIFEST, b"", list(tags),
                                             {"os": os, "architecture": arch}, None, size))

    def raw_index(self, repo: str, doc: dict, tags=()) -> BuiltManifest:
        """An index from a literal document (for reproducing a published example exactly)."""
        data = json.dumps(doc, indent=2).encode()
        return self._add(repo, BuiltManifest(repo, _digest(data), mt.OCI_INDEX, data, list(tags)))

    def tag(self, m: BuiltManifest, *tags: str) -> BuiltManifest:
        m.tags.extend(t for t in tags if t not in m.tags)
        return m

    # -- reading back --------------------------------------------------------------------

    def repositories(self) -> list[str]:
        return list(self._manifests)

    def manifests(self, repo: str) -> list[BuiltManifest]:
        """In creation order: children before the indexes that list them."""
        return [self._manifests[repo][d] for d in self._order[repo]]

    def blob_data(self, digest: str) -> bytes:
        return self._blobs[digest]

    def blobs_of(self, m: BuiltManifest) -> list[str]:
        doc = json.loads(m.data)
        out = [doc["config"]["digest"]] if "config" in doc else []
        return out + [layer["digest"] for layer in doc.get("layers", [])]

    # -- output --------------------------------------------------------------------------

    def to_sample(self) -> dict:
        repos = {}
        for repo in self._manifests:
            entries = []
            for m in self.manifests(repo):
                doc = json.loads(m.data) if m.data else {}
                entry: dict = {"digest": m.digest}
                if m.tags:
                    entry["tags"] = list(m.tags)
                entry["mediaType"] = m.media_type
                entry["size"] = m.size
                if doc.get("artifactType"):
                    entry["artifactType"] = doc["artifactType"]
                if doc.get("annotations"):
                    entry["annotations"] = doc["annotations"]
                if "config" in doc:
                    entry["config"] = {k: doc["config"][k] for k in ("mediaType", "digest", "size")}
                    entry["layers"] = [{k: layer[k] for k in ("mediaType", "digest", "size")} for layer in doc["layers"]]
                    created = json.loads(self._blobs[doc["config"]["digest"]]).get("created") \
                        if doc["config"]["mediaType"] in mt.IMAGE_CONFIG_TYPES else None
                    if created:  # what a layout or registry reads from the config
                        entry["created"] = created
                if "manifests" in doc:
                    entry["manifests"] = [
                        {k: c[k] for k in ("mediaType", "digest", "size", "platform", "annotations") if k in c}
                        for c in doc["manifests"]
                    ]
                if doc.get("subject"):
                    entry["subject"] = doc["subject"]["digest"]
                entries.append(entry)
            repos[repo] = entries
        out: dict = {"format": SAMPLE_FORMAT}
        if self.protect:
            out["protect"] = list(self.protect)
        out["repositories"] = repos
        return out

    def write_sample(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_sample(), indent=2) + "\n", encoding="utf-8")
        return path

    def write_layouts(self, root: str | Path) -> Path:
        """One OCI image layout per repository under `root` (`root/<repo>/oci-layout`).

        index.json lists every tagged manifest once per tag and every untagged manifest
        that no index lists, so that the layout holds exactly what the builder holds."""
        root = Path(root)
        for repo in self._manifests:
            layout = root / repo
            blobs = layout / "blobs" / "sha256"
            blobs.mkdir(parents=True, exist_ok=True)
            (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
            listed = {c["digest"] for m in self.manifests(repo) for c in json.loads(m.data).get("manifests", [])}
            entries = []
            for m in self.manifests(repo):
                (blobs / m.digest.split(":")[1]).write_bytes(m.data)
                for b in self.blobs_of(m):
                    (blobs / b.split(":")[1]).write_bytes(self._blobs[b])
                base = {"mediaType": m.media_type, "digest": m.digest, "size": m.size}
                if m.artifact_type:
                    base["artifactType"] = m.artifact_type
                for t in m.tags:
                    entries.append({**base, "annotations": {"org.opencontainers.image.ref.name": t}})
                if not m.tags and m.digest not in listed:
                    entries.append(base)
            index = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": entries}
            (layout / "index.json").write_text(json.dumps(index, indent=2))
        return root


def _pseudo_bytes(seed: str, size: int) -> bytes:
    """Deterministic filler bytes: same seed, same blob."""
    out = bytearray()
    block = hashlib.sha256(seed.encode()).digest()
    while len(out) < size:
        out += block
        block = hashlib.sha256(block).digest()
    return bytes(out[:size])
