"""Synthetic registries at scale, for benchmarks and scale tests.

Shape: REPOSITORIES x INDEXES x CHILDREN. Each index owns CHILDREN image manifests; a SHARE
fraction of those images is also listed by a second index of the same repository. Options add
nesting (groups of indexes listed by an outer "bundle" index), tags (some protected-looking
`release-*` ones), accessories (a signature on an index; an SBOM with its own signature), and
children missing from the repository.

Digests are sha256 of a seeded counter: valid and unique, but not the hash of any content
(sample_data/builder.py makes real content-addressed data, at small scale). The same shape
and seed always give the same registry.

    generate_registry(shape)   a core.model.Registry, built directly (no pydantic): fast
    write_sample(shape, path)  a sample file (core/stores/sample_format.py)
    python -m ocitree.sample_data.generate --repositories 10 --indexes 1000 --children 10 --share 0.1 -o big.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path

from ocitree.core import media_types as mt
from ocitree.core.errors import BadInputError
from ocitree.core.gc_pause import gc_paused
from ocitree.core.model import Artifact, BlobRef, ChildRef, PlatformInfo, Registry, Repository
from ocitree.core.protection import parse_rules
from ocitree.core.stores.sample_entries import FORMAT
from ocitree.core.tag_schemes import cosign_tag

SIGNATURE_TYPE = mt.COSIGN_SIGNATURE
SBOM_TYPE = mt.SPDX
LAYER_TYPE = mt.OCI_LAYER

# Children take platforms in this order; an index wider than the list repeats them.
PLATFORMS = (
    PlatformInfo("linux", "amd64"),
    PlatformInfo("linux", "arm64", "v8"),
    PlatformInfo("linux", "arm", "v7"),
    PlatformInfo("linux", "ppc64le"),
    PlatformInfo("linux", "s390x"),
    PlatformInfo("linux", "386"),
    PlatformInfo("linux", "riscv64"),
    PlatformInfo("linux", "arm", "v6"),
    PlatformInfo("windows", "amd64"),
    PlatformInfo("linux", "mips64le"),
)
# The OCI empty descriptor's blob ("{}"), the config of every signature and SBOM.
EMPTY_CONFIG = BlobRef("sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", 2, mt.OCI_EMPTY)
BASE_LAYERS_PER_REPOSITORY = 3  # every image shares one of these, as images share a base image


@dataclass(frozen=True)
class Shape:
    """What to generate. Fractions are probabilities drawn per item from the seeded RNG."""

    repositories: int = 10
    indexes: int = 100  # top-level indexes per repository (nested ones included)
    children: int = 10  # images each index owns
    share: float = 0.1  # fraction of children also listed by a second index
    nesting: float = 0.0  # fraction of indexes listed by an outer bundle index instead of being top level
    nest_width: int = 3  # indexes per bundle
    tagged: float = 0.8  # fraction of top-level indexes and bundles with a tag
    tagged_children: float = 0.02  # fraction of children with a tag of their own
    accessories: float = 0.1  # fraction of top-level indexes with a signature (half of them also a signed SBOM)
    cosign_tags: float = 0.5  # fraction of signatures that also carry cosign's sha256-<hex>.sig tag
    missing: float = 0.0  # fraction of indexes listing one child absent from the repository
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("repositories", "indexes", "children", "nest_width"):
            if getattr(self, name) < (1 if name != "nest_width" else 2):
                raise ValueError(f"{name} must be at least {1 if name != 'nest_width' else 2}")
        for name in ("share", "nesting", "tagged", "tagged_children", "accessories", "cosign_tags", "missing"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be a fraction from 0 to 1")

    def expected_artifacts(self) -> float:
        """The mean artifact count this shape generates (the RNG decides the exact one)."""
        per_index = 1 + self.children + self.nesting / self.nest_width + self.accessories * 2
        return self.repositories * self.indexes * per_index

    @classmethod
    def for_total(cls, total: int, repositories: int, **options) -> Shape:
        """A shape of about `total` artifacts in `repositories` repositories."""
        probe = cls(repositories=repositories, indexes=1, **options)
        indexes = max(1, round(total / probe.expected_artifacts()))
        return cls(repositories=repositories, indexes=indexes, **options)


class _Digests:
    """sha256 of a seeded counter: valid, unique, deterministic."""

    def __init__(self, seed: int):
        self._prefix = f"ocitree-synthetic/{seed}/".encode()
        self._n = 0

    def next(self) -> str:
        self._n += 1
        return "sha256:" + hashlib.sha256(self._prefix + str(self._n).encode()).hexdigest()


def repository_name(number: int) -> str:
    return f"synthetic/app{number}"


def generate_registry(shape: Shape, source: str = "synthetic", check_cycles: bool = False) -> Registry:
    """The whole registry in memory. `check_cycles=True` builds it exactly as a store would
    (generated data is acyclic by construction, so the check finds nothing)."""
    with gc_paused():
        repos = [Repository(name, artifacts, check_cycles=check_cycles) for name, artifacts in _generate(shape)]
    return Registry(source, repos)


def generate_artifacts(shape: Shape) -> list[tuple[str, list[Artifact]]]:
    """(repository name, artifacts children first) for each repository, before any graph is built."""
    with gc_paused():
        return list(_generate(shape))


def _generate(shape: Shape) -> Iterator[tuple[str, list[Artifact]]]:
    rng = random.Random(shape.seed)
    digests = _Digests(shape.seed)
    for r in range(shape.repositories):
        name = repository_name(r)
        yield name, _repository(shape, name, rng, digests)


def _repository(shape: Shape, repo: str, rng: random.Random, digests: _Digests) -> list[Artifact]:
    rand = rng.random
    new_digest = digests.next
    out: list[Artifact] = []
    base_layers = [
        BlobRef(new_digest(), 20_000_000 + rng.randrange(20_000_000), LAYER_TYPE) for _ in range(BASE_LAYERS_PER_REPOSITORY)
    ]
    n_platforms = len(PLATFORMS)
    owned: list[list[ChildRef]] = []
    for i in range(shape.indexes):
        entries = []
        for j in range(shape.children):
            platform = PLATFORMS[j % n_platforms]
            digest = new_digest()
            size = 400 + rng.randrange(600)
            blobs = (
                BlobRef(new_digest(), 1000 + rng.randrange(2000), mt.OCI_CONFIG),
                base_layers[j % BASE_LAYERS_PER_REPOSITORY],
                BlobRef(new_digest(), 1_000 + rng.randrange(50_000_000), LAYER_TYPE),
            )
            tags = [f"{i}-{platform.architecture}{platform.variant or ''}-{j}"] if rand() < shape.tagged_children else []
            out.append(
                Artifact(
                    repository=repo,
                    digest=digest,
                    media_type=mt.OCI_MANIFEST,
                    size=size,
                    blobs=blobs,
                    config_media_type=mt.OCI_CONFIG,
                    tags=tags,
                )
            )
            entries.append(ChildRef(digest, mt.OCI_MANIFEST, size, platform))
        owned.append(entries)

    # Sharing: a child its owner lists is also listed by another index of the repository.
    listed = [list(e) for e in owned]
    if shape.indexes > 1 and shape.share > 0:
        for i, entries in enumerate(owned):
            for child in entries:
                if rand() < shape.share:
                    k = rng.randrange(shape.indexes - 1)
                    listed[k if k < i else k + 1].append(child)
    if shape.missing > 0:
        for entries in listed:
            if rand() < shape.missing:
                entries.append(ChildRef(new_digest(), mt.OCI_MANIFEST, 500, PlatformInfo("linux", "s390x")))

    nested = [shape.nesting > 0 and rand() < shape.nesting for _ in range(shape.indexes)]
    top_level: list[Artifact] = []
    group: list[Artifact] = []
    bundles = 0
    for i, entries in enumerate(listed):
        tags = [] if nested[i] else _index_tags(shape, rand, f"build-{i}", f"release-{i}", i)
        index = Artifact(
            repository=repo,
            digest=new_digest(),
            media_type=mt.OCI_INDEX,
            size=90 + 180 * len(entries),
            children=tuple(entries),
            tags=tags,
        )
        out.append(index)
        if not nested[i]:
            top_level.append(index)
            continue
        group.append(index)
        if len(group) == shape.nest_width or i == shape.indexes - 1:
            bundle = Artifact(
                repository=repo,
                digest=new_digest(),
                media_type=mt.OCI_INDEX,
                size=90 + 180 * len(group),
                children=tuple(ChildRef(g.digest, mt.OCI_INDEX, g.size) for g in group),
                tags=_index_tags(shape, rand, f"bundle-{bundles}", f"release-bundle-{bundles}", bundles),
            )
            bundles += 1
            out.append(bundle)
            group = []
    if top_level and shape.tagged > 0:
        top_level[-1].tags.append("latest")

    for index in top_level:
        if rand() < shape.accessories:
            signature = _accessory(shape, repo, index, SIGNATURE_TYPE, rand, new_digest)
            out.append(signature)
            if rand() < 0.5:
                sbom = _accessory(shape, repo, index, SBOM_TYPE, rand, new_digest)
                out.append(sbom)
                out.append(_accessory(shape, repo, sbom, SIGNATURE_TYPE, rand, new_digest))
    return out


def _index_tags(shape: Shape, rand, tag: str, release_tag: str, n: int) -> list[str]:
    if rand() >= shape.tagged:
        return []
    # Every tenth one is also a release: `--protect 'release-*'` then protects a realistic share.
    return [tag, release_tag] if n % 10 == 0 else [tag]


def _accessory(shape: Shape, repo: str, subject: Artifact, artifact_type: str, rand, new_digest) -> Artifact:
    tags = []
    if artifact_type == SIGNATURE_TYPE and rand() < shape.cosign_tags:
        tags.append(cosign_tag(subject.digest, mt.SIGNATURE))
    return Artifact(
        repository=repo,
        digest=new_digest(),
        media_type=mt.OCI_MANIFEST,
        size=700,
        blobs=(EMPTY_CONFIG, BlobRef(new_digest(), 300 + int(rand() * 4000), artifact_type)),
        subject=subject.digest,
        artifact_type=artifact_type,
        config_media_type=mt.OCI_EMPTY,
        tags=tags,
    )


# Sample file output ----------------------------------------------------------------------------


def _blob_entry(blob: BlobRef) -> dict:
    return {"mediaType": blob.media_type, "digest": blob.digest, "size": blob.size}


def _child_entry(child: ChildRef) -> dict:
    entry: dict = {"mediaType": child.media_type, "digest": child.digest, "size": child.size}
    if child.platform is not None:
        p = child.platform
        entry["platform"] = {"os": p.os, "architecture": p.architecture, **({"variant": p.variant} if p.variant else {})}
    return entry


def sample_entry(artifact: Artifact) -> dict:
    """One artifact as a sample-file entry."""
    entry: dict = {"digest": artifact.digest}
    if artifact.tags:
        entry["tags"] = list(artifact.tags)
    entry["mediaType"] = artifact.media_type
    entry["size"] = artifact.size
    if artifact.artifact_type:
        entry["artifactType"] = artifact.artifact_type
    if artifact.is_index:
        entry["manifests"] = [_child_entry(c) for c in artifact.children]
    elif artifact.blobs:
        config, *layers = artifact.blobs
        entry["config"] = _blob_entry(config)
        entry["layers"] = [_blob_entry(b) for b in layers]
    if artifact.subject:
        entry["subject"] = artifact.subject
    return entry


def sample_document(shape: Shape, protect: list[str] | tuple[str, ...] = ()) -> dict:
    doc: dict = {"format": FORMAT}
    if protect:
        doc["protect"] = list(protect)
    with gc_paused():
        doc["repositories"] = {name: [sample_entry(a) for a in artifacts] for name, artifacts in _generate(shape)}
    return doc


def write_sample(shape: Shape, path: str | Path, protect: list[str] | tuple[str, ...] = (), indent: int | None = None) -> int:
    """Write a sample file; returns the number of artifacts written."""
    doc = sample_document(shape, protect)
    count = sum(len(entries) for entries in doc["repositories"].values())
    text = json.dumps(doc, indent=indent, separators=None if indent else (",", ":"))
    Path(path).write_text(text + "\n", encoding="utf-8")
    return count


# Command line ----------------------------------------------------------------------------------


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a fraction from 0 to 1")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def main(argv: list[str] | None = None) -> int:
    defaults = Shape()
    parser = argparse.ArgumentParser(
        prog="python -m ocitree.sample_data.generate",
        description="Write a large synthetic registry as an ocitree sample file.",
    )
    parser.add_argument("--repositories", type=_count, default=defaults.repositories)
    parser.add_argument("--indexes", type=_count, default=defaults.indexes, help="indexes per repository")
    parser.add_argument("--children", type=_count, default=defaults.children, help="images each index owns")
    parser.add_argument("--share", type=_fraction, default=defaults.share, help="fraction of children a second index also lists")
    parser.add_argument("--nesting", type=_fraction, default=defaults.nesting, help="fraction of indexes listed by a bundle index")
    parser.add_argument("--tagged", type=_fraction, default=defaults.tagged, help="fraction of top-level indexes with a tag")
    parser.add_argument("--tagged-children", type=_fraction, default=defaults.tagged_children)
    parser.add_argument("--accessories", type=_fraction, default=defaults.accessories, help="fraction of indexes with a signature")
    parser.add_argument("--missing", type=_fraction, default=defaults.missing, help="fraction of indexes listing an absent child")
    parser.add_argument("--protect", action="append", default=[], metavar="PATTERN", help="protection rule stored in the file")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--indent", type=int, default=None, help="pretty-print with this indent (default: compact)")
    parser.add_argument("-o", "--output", required=True, help="file to write")
    args = parser.parse_args(argv)
    try:
        parse_rules(args.protect)
    except BadInputError as exc:
        parser.error(str(exc))
    options = {f.name: getattr(args, f.name) for f in fields(Shape) if hasattr(args, f.name)}
    shape = Shape(**options)
    try:
        count = write_sample(shape, args.output, protect=args.protect, indent=args.indent)
    except OSError as exc:
        print(f"error: {args.output}: cannot write ({exc.strerror})", file=sys.stderr)
        return 1
    print(f"wrote {count:,} artifacts in {shape.repositories:,} repositories to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
