"""ORAS attaches SBOMs without `artifactType` in older versions: the kind then comes from the
layer's media type (SPDX, CycloneDX), as ORAS and Harbor read it (issue 7 §6). Pushed to the real
docker-registry, read back with ocitree ls --json and plan."""

from __future__ import annotations

import json

import httpx
import pytest

from ocitree.core import media_types as mt
from ocitree.core.manifest import digest_of
from ocitree.sample_data.builder import BuiltManifest, RegistryBuilder
from tests.helpers.registry_push import push_blob, push_builder, push_manifest
from ocitree.tui.cli import main

pytestmark = pytest.mark.registry

REPO = "team/app"
UNKNOWN_CONFIG = "application/vnd.unknown.config.v1+json"  # what ORAS 0.x wrote as the config type


def oras_attachment(registry_url: str, subject: BuiltManifest, layer_type: str) -> str:
    """Push what `oras attach` (no --artifact-type) makes: a manifest with a subject, an unknown
    config type, and one layer of `layer_type`. Returns its digest."""
    config, payload = b"{}", json.dumps({"bomFormat": layer_type}).encode()
    doc = {
        "schemaVersion": 2,
        "mediaType": mt.OCI_MANIFEST,
        "config": {"mediaType": UNKNOWN_CONFIG, "digest": digest_of(config), "size": len(config)},
        "layers": [{"mediaType": layer_type, "digest": digest_of(payload), "size": len(payload),
                    "annotations": {"org.opencontainers.image.title": "sbom.json"}}],
        "subject": {"mediaType": subject.media_type, "digest": subject.digest, "size": subject.size},
    }
    data = json.dumps(doc).encode()
    m = BuiltManifest(REPO, digest_of(data), mt.OCI_MANIFEST, data, [])
    with httpx.Client() as client:
        push_blob(client, registry_url, REPO, digest_of(config), config)
        push_blob(client, registry_url, REPO, digest_of(payload), payload)
        push_manifest(client, registry_url, m)
        # Tagged so that this registry (no referrers API) shows it; a plain tag says nothing of its kind.
        push_manifest(client, registry_url, m, "bom-" + layer_type.rpartition("/")[2].replace("+", "-"))
    return m.digest


@pytest.mark.parametrize("layer_type", ["application/spdx+json", "application/vnd.cyclonedx+json",
                                        "text/spdx", "application/vnd.cyclonedx+xml"])
def test_an_attachment_without_artifact_type_but_with_an_sbom_layer_is_an_sbom(registry, capsys, layer_type):
    b = RegistryBuilder()
    image = b.image(REPO, ["v1"])
    push_builder(b, registry.url)
    sbom = oras_attachment(registry.url, image, layer_type)

    assert main(["ls", registry.url, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    top = doc["repositories"][0]["artifacts"]
    assert [a["digest"] for a in top] == [image.digest]
    assert [(a["digest"], a["kind"]) for a in top[0]["accessories"]] == [(sbom, "sbom")]

    assert main(["plan", registry.url, f"{REPO}:v1", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert {d["digest"]: d["kind"] for d in plan["delete"]}[sbom] == "sbom"


def test_an_attachment_whose_layer_says_nothing_stays_an_accessory(registry, capsys):
    b = RegistryBuilder()
    image = b.image(REPO, ["v1"])
    push_builder(b, registry.url)
    other = oras_attachment(registry.url, image, "application/octet-stream")
    assert main(["ls", registry.url, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [(a["digest"], a["kind"]) for a in doc["repositories"][0]["artifacts"][0]["accessories"]] == [(other, "accessory")]
