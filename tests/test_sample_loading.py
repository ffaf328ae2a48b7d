"""The fast sample reader (core/stores/sample_fast.py) agrees with the pydantic models.

The models of sample_format.py are the reference for what a sample file may hold. The
fast reader may decline anything (the store then reads the file through the models), but
what it accepts the models must accept, and it must build the same registry from it.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocitree.core import media_types as mt
from ocitree.core.errors import MalformedDataError
from ocitree.core.model import Registry
from ocitree.core.stores.sample import SampleStore, parse_sample, registry_from_sample
from ocitree.core.stores.sample_fast import Doubt, read_registry
from ocitree.sample_data.builder import RegistryBuilder
from ocitree.sample_data.generate import Shape, write_sample

REPO = "team/app"
SOURCE = "registry.json"
D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64
D3 = "sha512:" + "3" * 128


def view(registry: Registry) -> dict:
    """Everything a user could see of a registry, as plain comparable data."""
    return {
        "source": registry.source,
        "protect": registry.protect,
        "repositories": {
            name: {
                "order": list(repo.artifacts),
                "artifacts": repo.artifacts,
                "tags": repo.tags,
                "parents": repo.parents,
                "accessories": repo.accessories,
                "subjects": repo.subjects,
                "accessory_kinds": repo.accessory_kinds,
                "blob_users": repo.blob_users,
            }
            for name, repo in registry.repositories.items()
        },
    }


def reference(text: str) -> dict | str:
    """What the pydantic models make of `text`: a registry view, or the error message."""
    try:
        sample, _ = parse_sample(text, SOURCE)
        return view(registry_from_sample(sample, SOURCE))
    except MalformedDataError as exc:
        return str(exc)


def fast(text: str) -> dict | None:
    try:
        return view(read_registry(text, SOURCE))
    except Doubt:
        return None


def assert_agree(text: str) -> dict | None:
    """The fast reader accepts `text` only if the models do, with the same result."""
    got = fast(text)
    if got is not None:
        expected = reference(text)
        assert not isinstance(expected, str), f"the fast reader accepted what the models reject: {expected}"
        assert got == expected
    return got


def file_text(entries: list, **top) -> str:
    return json.dumps({"format": "ocitree-sample/1", **top, "repositories": {REPO: entries}})


def builder_sample() -> dict:
    b = RegistryBuilder()
    amd = b.image(REPO, ["amd64"], arch="amd64")
    arm = b.image(REPO, [], arch="arm64", variant="v8")
    index = b.index(REPO, [amd, arm], ["latest", "v1"])
    b.index(REPO, [arm], ["other"])
    b.accessory(REPO, index, "sbom")
    b.accessory(REPO, index, "signature", use_subject_field=False)
    b.image("team/base", ["3.19"], arch="amd64")
    return b.to_sample()


# -- well-formed files take the fast path and give the same registry -----------------------------


@pytest.mark.parametrize("shape", [
    Shape(repositories=3, indexes=20, children=4, share=0.2),
    Shape(repositories=1, indexes=30, children=3, share=0.5, nesting=0.3, missing=0.1),
    Shape(repositories=2, indexes=10, children=2, accessories=1.0, cosign_tags=1.0, tagged_children=0.5),
])
def test_generated_files_load_fast_and_equal(shape, tmp_path):
    path = tmp_path / "big.json"
    write_sample(shape, path)
    text = path.read_text()
    assert assert_agree(text) is not None  # the fast reader took it
    assert view(SampleStore(path).load())["repositories"] == reference(text)["repositories"]


def test_builder_sample_loads_fast_and_equal():
    doc = builder_sample()
    doc["protect"] = ["v*"]
    assert assert_agree(json.dumps(doc, indent=2)) is not None


def test_load_shares_repeated_strings_and_platforms(tmp_path):
    path = tmp_path / "big.json"
    write_sample(Shape(repositories=2, indexes=10, children=4), path)
    registry = SampleStore(path).load()
    children = [c for repo in registry.repositories.values() for a in repo.artifacts.values() for c in a.children]
    images = [a for repo in registry.repositories.values() for a in repo.artifacts.values() if a.blobs]
    assert len({id(c.platform) for c in children}) == len({c.platform for c in children})
    assert len({id(a.media_type) for a in images}) == len({a.media_type for a in images})
    # a child's digest is the very string of the artifact it names
    repo = next(iter(registry.repositories.values()))
    child = next(c for a in repo.artifacts.values() for c in a.children if c.digest in repo.artifacts)
    assert child.digest is repo.artifacts[child.digest].digest


# -- targeted mutations of one entry ---------------------------------------------------------------

IMAGE = {
    "digest": D1, "mediaType": mt.OCI_MANIFEST, "size": 10, "tags": ["a"],
    "config": {"mediaType": mt.OCI_CONFIG, "digest": D2, "size": 3},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": D3, "size": 5}],
    "annotations": {"k": "v"},
}
INDEX = {
    "digest": D2, "tags": ["b"], "size": 5,
    "manifests": [{"digest": D1, "size": 10, "mediaType": mt.OCI_MANIFEST,
                   "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}, "annotations": {"x": "y"}}],
}
SIGNATURE = {"digest": D3, "subject": D1, "artifactType": "application/spdx+json",
             "config": {"digest": D2, "mediaType": ""}}

VALUES = [None, True, False, 0, 1, -1, 1.0, 1.5, 2**64, "", "x", "1", [], ["x"], {}, {"digest": D1}, D1, "-x", "a\n",
          D1 + "\n", D1.upper(), "sha256:xyz", float("nan")]


def _mutations(entry: dict, path: tuple = ()) -> list[tuple[tuple, object]]:
    """(path, value) for every field of `entry` and nested descriptor, every odd value,
    plus keys the format does not know."""
    found = []
    for key, value in entry.items():
        here = path + (key,)
        found += [(here, v) for v in VALUES]
        found.append((here, "DELETE"))
        if isinstance(value, dict):
            found += _mutations(value, here)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            found += _mutations(value[0], here + (0,))
    for extra in ("colour", "media_type", "artifact_type", "os_version", "os.features"):
        found.append((path + (extra,), "x"))
    return found


def _mutate(entry: dict, path: tuple, value) -> dict:
    entry = copy.deepcopy(entry)
    target = entry
    for key in path[:-1]:
        target = target[key]
    if value == "DELETE" and isinstance(value, str):
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return entry


CASES = [(name, path, value) for name, base in (("image", IMAGE), ("index", INDEX), ("signature", SIGNATURE))
         for path, value in _mutations(base)]


@pytest.mark.parametrize("name, path, value", CASES, ids=[f"{n}-{'.'.join(map(str, p))}={v!r}" for n, p, v in CASES])
def test_mutated_entry_agrees(name, path, value):
    base = {"image": IMAGE, "index": INDEX, "signature": SIGNATURE}[name]
    others = [e for e in (IMAGE, INDEX, SIGNATURE) if e is not base]
    assert_agree(file_text([_mutate(base, path, value), *copy.deepcopy(others)]))


@pytest.mark.parametrize("entry", [IMAGE, INDEX, SIGNATURE], ids=["image", "index", "signature"])
def test_unmutated_entries_take_the_fast_path(entry):
    assert assert_agree(file_text([copy.deepcopy(entry)])) is not None


def test_subject_as_a_descriptor_agrees():
    entry = dict(SIGNATURE, subject={"digest": D1, "mediaType": mt.OCI_MANIFEST, "size": 10})
    assert assert_agree(file_text([copy.deepcopy(IMAGE), entry]))["repositories"][REPO]["artifacts"][D3].subject == D1


# -- whole-file oddities go the reference way, with the reference's result -----------------------

GOOD = file_text([IMAGE, INDEX, SIGNATURE])
ODD_FILES = {
    "duplicate top-level key": GOOD[:-1] + ', "format": "ocitree-sample/1"}',
    "duplicate repository": GOOD[:-2] + f', "{REPO}": []}}}}',
    "duplicate digest": file_text([IMAGE, IMAGE]),
    "duplicate tag": file_text([IMAGE, dict(INDEX, tags=["a"])]),
    "tag twice on one artifact": file_text([dict(IMAGE, tags=["a", "a"])]),
    "trailing data": GOOD + " x",
    "trailing whitespace": GOOD + " \n\t",
    "leading whitespace": "\n  " + GOOD,
    "pretty printed": json.dumps(json.loads(GOOD), indent=2),
    "unknown top-level key": GOOD[:-1] + ', "extra": 1}',
    "format null": file_text([IMAGE], format=None),
    "protect not strings": file_text([IMAGE], protect=[1]),
    "protect a string": file_text([IMAGE], protect="v*"),
    "no repositories": '{"format": "ocitree-sample/1"}',
    "empty repositories": '{"repositories": {}}',
    "empty repository": json.dumps({"repositories": {REPO: []}}),
    "repositories null": '{"repositories": null}',
    "repository is an object": json.dumps({"repositories": {REPO: {}}}),
    "bad repository name": json.dumps({"repositories": {"Team/App": [IMAGE]}}),
    "entry is a list": json.dumps({"repositories": {REPO: [[1]]}}),
    "cycle": json.dumps({"repositories": {REPO: [
        {"digest": D1, "manifests": [{"digest": D2}]}, {"digest": D2, "manifests": [{"digest": D1}]}]}}),
    "cycle before a bad entry": json.dumps({"repositories": {
        "a/a": [{"digest": D1, "manifests": [{"digest": D1}]}], "b/b": [{"digest": "bad"}]}}),
    "truncated": GOOD[:-3],
    "empty": "",
    "top level array": "[1, 2]",
    "NaN size": GOOD.replace('"size": 10', '"size": NaN', 1),
    "deep nesting": json.dumps({"repositories": {REPO: [dict(IMAGE, annotations={"k": "[" * 5000})]}}).replace(
        '"[[', "[" * 5000 + "]" * 5000 + ', "x', 1),
    "escaped strings": GOOD.replace('"a"', '"\\u0061"'),
    "lone surrogate in annotation": GOOD.replace('"v"', '"\\ud800"'),
}


@pytest.mark.parametrize("name", ODD_FILES)
def test_odd_file_agrees(name):
    assert_agree(ODD_FILES[name])


@pytest.mark.parametrize("name", ODD_FILES)
def test_store_gives_the_reference_result(name, tmp_path):
    path = tmp_path / SOURCE
    path.write_text(ODD_FILES[name])
    expected = reference_load(path)
    try:
        got = view(SampleStore(path).load())
    except MalformedDataError as exc:
        got = str(exc)
    assert got == expected


def reference_load(path: Path) -> dict | str:
    try:
        sample, _ = parse_sample(path.read_bytes(), str(path))
        return view(registry_from_sample(sample, str(path)))
    except MalformedDataError as exc:
        return str(exc)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-32-le"])
def test_other_encodings_load_as_json_reads_them(encoding, tmp_path):
    path = tmp_path / SOURCE
    path.write_bytes(GOOD.encode(encoding))
    assert view(SampleStore(path).load())["repositories"] == view(read_registry(GOOD, str(path)))["repositories"]


# -- generated entries ------------------------------------------------------------------------------

anything = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=4), inner, max_size=2),
    max_leaves=4,
)
digests = st.sampled_from([D1, D2, D3]) | st.sampled_from([D1.upper(), D1[:-1], D1 + "\n", "sha256:xyz", "sha384:" + "1" * 96]) | anything
sizes = st.integers(min_value=-2, max_value=2**65) | st.booleans() | st.floats() | st.sampled_from(["1", "-1"]) | anything
media_types = st.none() | st.just("") | st.sampled_from([mt.OCI_MANIFEST, mt.OCI_INDEX, mt.OCI_CONFIG, mt.DOCKER_MANIFEST]) | anything
texts = st.text(max_size=8) | anything
annotations = st.none() | st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2) | anything
tags = st.lists(st.sampled_from(["a", "b", "latest", "v1.0", "-x", ".x", "a\n", "", "t" * 129]) | anything, max_size=3) | anything
platforms = st.none() | st.fixed_dictionaries(
    {"os": st.sampled_from(["linux", "windows"]) | texts, "architecture": st.sampled_from(["amd64", "arm64"])},
    optional={"variant": texts, "os.version": texts, "os_version": texts, "os.features": anything},
) | anything
blobs = st.fixed_dictionaries({"digest": digests}, optional={"size": sizes, "mediaType": media_types, "urls": anything}) | anything
children = st.fixed_dictionaries(
    {"digest": digests},
    optional={"size": sizes, "mediaType": media_types, "platform": platforms, "annotations": annotations, "extra": anything},
) | anything
subjects = st.none() | digests | st.fixed_dictionaries({"digest": digests}, optional={"size": sizes, "mediaType": media_types})
entries = st.fixed_dictionaries(
    {"digest": digests},
    optional={
        "tags": tags, "mediaType": media_types, "size": sizes, "artifactType": media_types, "annotations": annotations,
        "config": st.none() | blobs, "layers": st.lists(blobs, max_size=2) | anything,
        "manifests": st.none() | st.lists(children, max_size=2) | anything, "subject": subjects,
        "media_type": media_types, "colour": anything,
    },
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(entries, min_size=1, max_size=3), st.none() | st.lists(st.text(max_size=3), max_size=2) | anything)
def test_generated_entries_agree(generated, protect):
    top = {} if protect is None else {"protect": protect}
    assert_agree(file_text(generated, **top))

# Mostly well-formed entries, so that the fast reader's accepting side is exercised too.
good_digests = st.sampled_from([D1, D2, D3, "sha256:" + "a" * 64])
good_sizes = st.integers(min_value=0, max_value=2**63 - 1)
good_media_types = st.none() | st.just("") | st.sampled_from([mt.OCI_MANIFEST, mt.OCI_INDEX, mt.DOCKER_MANIFEST, mt.OCI_CONFIG])
good_texts = st.text(max_size=6)
good_platforms = st.none() | st.fixed_dictionaries(
    {"os": st.sampled_from(["linux", "windows"]), "architecture": st.sampled_from(["amd64", "arm64"])},
    optional={"variant": st.none() | good_texts, "os.version": st.none() | good_texts},
)
good_blobs = st.fixed_dictionaries({"digest": good_digests}, optional={"size": good_sizes, "mediaType": good_texts})
good_children = st.fixed_dictionaries(
    {"digest": good_digests},
    optional={"size": good_sizes, "mediaType": good_media_types, "platform": good_platforms,
              "annotations": st.none() | st.dictionaries(good_texts, good_texts, max_size=2)},
)
good_entries = st.fixed_dictionaries(
    {"digest": good_digests},
    optional={
        "tags": st.lists(st.sampled_from(["a", "b", "v1.0", "_x", "T" * 128]), max_size=2, unique=True),
        "mediaType": good_media_types, "size": good_sizes, "artifactType": st.none() | good_texts,
        "annotations": st.none() | st.dictionaries(good_texts, good_texts, max_size=2),
        "config": st.none() | good_blobs, "layers": st.lists(good_blobs, max_size=2),
        "manifests": st.none() | st.lists(good_children, max_size=3),
        "subject": st.none() | good_digests | st.fixed_dictionaries({"digest": good_digests}, optional={"size": good_sizes}),
    },
)


@st.composite
def nearly_good_entries(draw) -> dict:
    """A well-formed entry, perhaps with one value anywhere in it replaced by an odd one."""
    entry = draw(good_entries)
    paths = [p for p, _ in _mutations(entry)]
    if draw(st.booleans()) and paths:
        path = draw(st.sampled_from(paths))
        entry = _mutate(entry, path, draw(st.sampled_from(VALUES) | anything))
    return entry


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(nearly_good_entries(), min_size=1, max_size=4))
def test_nearly_good_entries_agree(generated):
    assert_agree(file_text(generated))
