"""The pydantic-free manifest path gives exactly what the pydantic path gives, or steps aside.

For any document: either core.manifest_fast builds the same Artifact that parse_manifest +
artifact_from_parsed build, or it returns None (and the pydantic path, with its errors, runs).
It must never accept what pydantic refuses, nor read a field differently."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ocitree.core import media_types as mt
from ocitree.core.errors import MalformedDataError
from ocitree.core.manifest import artifact_from_parsed, manifest_media_type, parse_manifest
from ocitree.core.manifest_fast import artifact_from_bytes, artifact_from_doc

D1 = "sha256:" + "a" * 64
D2 = "sha256:" + "b" * 64
D3 = "sha512:" + "c" * 128

IMAGE = {
    "schemaVersion": 2,
    "mediaType": mt.OCI_MANIFEST,
    "config": {"mediaType": mt.OCI_CONFIG, "digest": D1, "size": 10},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": D2, "size": 20,
                "annotations": {"k": "v"}}],
    "annotations": {"org.opencontainers.image.created": "2024"},
}
INDEX = {
    "schemaVersion": 2,
    "mediaType": mt.OCI_INDEX,
    "manifests": [
        {"mediaType": mt.OCI_MANIFEST, "digest": D1, "size": 5, "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        {"mediaType": mt.OCI_MANIFEST, "digest": D3, "size": 0, "platform": {"os": "linux", "architecture": "amd64", "os.version": "x"},
         "annotations": {"a": "b"}},
        {"mediaType": mt.OCI_MANIFEST, "digest": D2, "size": 7},
    ],
    "subject": {"mediaType": mt.OCI_MANIFEST, "digest": D2, "size": 3},
    "artifactType": "application/x",
}


def slow(doc, declared):
    """The pydantic path's answer: an Artifact, or the error message."""
    data = json.dumps(doc).encode()
    try:
        manifest = parse_manifest(data, declared, "here")
    except MalformedDataError as exc:
        return str(exc)
    except TypeError as exc:  # {"mediaType": [...]}: a crash of the pydantic path (issue 8's to fix), a refusal here
        return repr(exc)
    return artifact_from_parsed("repo", D1, manifest, manifest_media_type(manifest, declared), len(data), ["t"])


def check_same(doc, declared=None):
    fast = artifact_from_doc("repo", D1, doc, declared, len(json.dumps(doc).encode()), ["t"])
    expected = slow(doc, declared)
    if fast is not None:
        assert not isinstance(expected, str), f"fast path accepted what pydantic refuses: {expected}"
        assert fast == expected
    return fast, expected


@pytest.mark.parametrize("doc", [IMAGE, INDEX], ids=["image", "index"])
def test_well_formed_documents_take_the_fast_path_with_the_same_result(doc):
    fast, expected = check_same(doc)
    assert fast is not None and fast == expected


@pytest.mark.parametrize("change", [
    lambda d: d.update(schemaVersion="2"),  # pydantic coerces: the fast path leaves it to pydantic
    lambda d: d.update(schemaVersion=True),
    lambda d: d.update(schemaVersion=2.0),
    lambda d: d.pop("schemaVersion"),
    lambda d: d.update(schema_version=2),  # a field by its Python name
    lambda d: d.update(media_type="application/vnd.oci.image.index.v1+json"),
    lambda d: d["config"].update(size="10"),
    lambda d: d["config"].update(size=-1),
    lambda d: d["config"].update(digest="sha256:" + "A" * 64),
    lambda d: d["config"].update(digest=D1 + "\n"),
    lambda d: d["config"].pop("mediaType"),
    lambda d: d["config"].update(media_type="x"),
    lambda d: d.update(layers=None),
    lambda d: d.update(layers={}),
    lambda d: d["layers"][0].update(annotations={"k": 1}),
    lambda d: d["layers"][0].update(platform={"os": "linux"}),
    lambda d: d["layers"][0].update(platform={"os": "linux", "architecture": "x", "os_version": 1}),
    lambda d: d.update(annotations=[]),
    lambda d: d.update(subject={"digest": D1}),
    lambda d: d.update(mediaType=["x"]),
    lambda d: d.update(artifactType=3),
], ids=lambda f: "")
def test_anything_unusual_goes_the_pydantic_way(change):
    doc = copy.deepcopy(IMAGE)
    change(doc)
    fast, _ = check_same(doc)
    assert fast is None


def test_an_index_declared_by_its_descriptor_only():
    doc = {k: v for k, v in INDEX.items() if k != "mediaType"}
    for declared in (None, mt.OCI_INDEX, mt.DOCKER_MANIFEST_LIST, mt.OCI_MANIFEST):
        check_same(doc, declared)
    fast, _ = check_same(doc, None)
    assert fast is not None and fast.is_index


_scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=False), st.text(max_size=3),
                     st.sampled_from([D1, D2, D3, mt.OCI_INDEX, mt.OCI_MANIFEST, "", "2"]))
_values = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=2),
                                                         st.dictionaries(st.text(max_size=3), inner, max_size=2)), max_leaves=4)


def _paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, prefix + (i,))


@settings(max_examples=300, deadline=None)
@given(base=st.sampled_from([IMAGE, INDEX]), data=st.data())
def test_mutated_documents_agree_with_pydantic(base, data):
    doc = copy.deepcopy(base)
    for _ in range(data.draw(st.integers(1, 3))):
        paths = [p for p in _paths(doc) if p]
        path = data.draw(st.sampled_from(paths))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        action = data.draw(st.sampled_from(["set", "delete", "add"]))
        if action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[data.draw(st.sampled_from(["platform", "annotations", "subject", "media_type", "os.version", "variant", "x"]))] = data.draw(_values)
        else:
            parent[path[-1]] = data.draw(_values)
    check_same(doc, data.draw(st.sampled_from([None, mt.OCI_INDEX, mt.OCI_MANIFEST])))


# Texts where orjson (the fast parser) and json read differently or not at all. Each must give
# what the pydantic path gives for the same bytes: the same Artifact, or the same error.
_IMAGE_TEXT = json.dumps(IMAGE)
ODD_TEXTS = {
    "a size beyond 64 bits (orjson: a float)": _IMAGE_TEXT.replace('"size": 20', '"size": 18446744073709551616'),
    "a lone surrogate in an annotation": _IMAGE_TEXT.replace('"v"}', '"\\ud800"}'),
    "NaN as a size": _IMAGE_TEXT.replace('"size": 20', '"size": NaN'),
    "a duplicate key (the last counts)": _IMAGE_TEXT.replace('"schemaVersion": 2', '"schemaVersion": 1, "schemaVersion": 2'),
}


def _from_bytes(data: bytes):
    try:
        return artifact_from_bytes("repo", D1, data, None, ["t"], lambda: "here")
    except MalformedDataError as exc:
        return str(exc)


def _pydantic_path(data: bytes):
    try:
        manifest = parse_manifest(data, None, "here")
    except MalformedDataError as exc:
        return str(exc)
    return artifact_from_parsed("repo", D1, manifest, manifest_media_type(manifest, None), len(data), ["t"])


@pytest.mark.parametrize("name", sorted(ODD_TEXTS))
def test_texts_the_fast_parser_reads_differently_give_the_pydantic_paths_answer(name):
    data = ODD_TEXTS[name].encode()
    assert _from_bytes(data) == _pydantic_path(data)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_a_manifest_in_another_encoding_reads_as_before(encoding):
    data = _IMAGE_TEXT.encode(encoding)
    result = _from_bytes(data)
    assert result == _pydantic_path(data)
    plain = _from_bytes(_IMAGE_TEXT.encode())
    assert not isinstance(result, str) and result.blobs == plain.blobs  # json reads a BOM and UTF-16: so does ocitree


def test_a_size_beyond_64_bits_is_kept_exact():
    result = _from_bytes(ODD_TEXTS["a size beyond 64 bits (orjson: a float)"].encode())
    sizes = [b.size for b in result.blobs] if not isinstance(result, str) else []
    assert isinstance(result, str) or 18446744073709551616 in sizes  # never 1.8446744073709552e19
