"""Builds sample_data/demo.json, the bundled demo registry: `python -m ocitree.sample_data.make_demo`.

Every public scenario of the deletion semantics appears here under realistic names, with
the exact index from Harbor's "Deleting Artifacts" documentation among them.
"""

from __future__ import annotations

import json
from typing import Any

from ocitree.sample_data import DEMO_PATH
from ocitree.sample_data.builder import RegistryBuilder

HARBOR_DOC_INDEX: dict[str, Any] = {
    "schemaVersion": 2,
    "manifests": [
        {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "size": 7143,
            "digest": "sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f",
            "platform": {"architecture": "ppc64le", "os": "linux"},
        },
        {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "size": 7682,
            "digest": "sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270",
            "platform": {"architecture": "amd64", "os": "linux"},
        },
    ],
    "annotations": {"com.example.key1": "value1", "com.example.key2": "value2"},
}

TEN_PLATFORMS = [
    ("linux", "amd64", None), ("linux", "arm64", "v8"), ("linux", "arm", "v7"), ("linux", "arm", "v6"),
    ("linux", "ppc64le", None), ("linux", "s390x", None), ("linux", "386", None), ("linux", "riscv64", None),
    ("linux", "mips64le", None), ("windows", "amd64", None),
]

MB = 1024 * 1024


def build() -> RegistryBuilder:
    b = RegistryBuilder()
    b.protect = ["payments/*:release-*"]

    # Harbor's documented index, exactly: children for ppc64le and amd64, two annotations.
    repo = "harbor/docs-example"
    for child in HARBOR_DOC_INDEX["manifests"]:
        b.declared(repo, child["digest"], child["size"], child["platform"]["os"], child["platform"]["architecture"])
    b.raw_index(repo, HARBOR_DOC_INDEX, ["multiarch"])

    # An index of 10 children, one of which a second index shares (9 go, 1 stays).
    repo = "platform/base-images"
    children = [b.image(repo, os=o, arch=a, variant=v, layer_sizes=(3 * MB, 800_000)) for o, a, v in TEN_PLATFORMS]
    b.index(repo, children, ["v2.4"], annotations={"org.opencontainers.image.version": "2.4.0"})
    b.index(repo, [children[0]], ["v2.4-slim"])
    # A tagged child: deleting its index keeps it.
    tagged = b.image(repo, ["v2.3-amd64"], arch="amd64", layer_sizes=(2 * MB,))
    b.index(repo, [tagged, b.image(repo, arch="arm64", variant="v8", layer_sizes=(2 * MB,))], ["v2.3"])

    # Nested indexes: a release index over a GPU index (tagged) and a CPU index.
    repo = "ml/inference"
    gpu = b.index(repo, [b.image(repo, arch="amd64", layer_sizes=(40 * MB,)), b.image(repo, arch="arm64", variant="v8", layer_sizes=(38 * MB,))], ["gpu"])
    cpu = b.index(repo, [b.image(repo, arch="amd64", layer_sizes=(9 * MB,)), b.image(repo, arch="arm64", variant="v8", layer_sizes=(8 * MB,))])
    b.index(repo, [gpu, cpu], ["2026.11"])
    b.index(repo, [b.image(repo, arch="amd64", layer_sizes=(9 * MB,), seed="inference-2026.10-cpu")], ["2026.10"])

    # Signed images with SBOMs and an attestation; a protected release tag.
    repo = "payments/api"
    a1 = b.image(repo, arch="amd64", layer_sizes=(12 * MB,))
    a2 = b.image(repo, arch="arm64", variant="v8", layer_sizes=(11 * MB,))
    idx = b.index(repo, [a1, a2], ["1.8.0", "latest"])
    sig = b.accessory(repo, idx, "signature")
    b.accessory(repo, idx, "sbom")
    b.accessory(repo, idx, "attestation")
    b.accessory(repo, sig, "signature", cosign_tag=False)  # a signature on the signature
    old = b.image(repo, ["1.7.2"], layer_sizes=(12 * MB,))
    b.accessory(repo, old, "signature")
    b.image(repo, ["release-2026-11", "1.8.0-hotfix"], layer_sizes=(12 * MB,))
    b.image(repo, layer_sizes=(5 * MB,))  # untagged leftover from an old push

    # One digest present in two repositories.
    for repo in ("tools/busybox", "mirror/busybox"):
        b.image(repo, ["1.36"], layer_sizes=(2 * MB,), seed="busybox-1.36")

    # A Docker manifest list whose s390x child is missing from the repository.
    repo = "legacy/webapp"
    b.index(
        repo,
        [b.image(repo, arch="amd64", docker=True), b.image(repo, arch="arm", variant="v7", docker=True)],
        ["3.2"],
        docker=True,
        missing=("sha256:" + "5" * 64,),
    )
    return b


def main() -> None:
    doc = build().to_sample()
    DEMO_PATH.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    n = sum(len(v) for v in doc["repositories"].values())
    print(f"wrote {DEMO_PATH}: {len(doc['repositories'])} repositories, {n} artifacts")


if __name__ == "__main__":
    main()
