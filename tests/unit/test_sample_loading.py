"""The fast sample reader (core/stores/sample_fast.py) agrees with the pydantic models.

The models of sample_format.py are the reference for what a sample file may hold. The
fast reader may decline (the store then reads the file through the models), but what it
accepts the models must accept, and it must build the same registry from it.

A case the fast reader declines compares nothing, so the cases are split by what the
models make of them: a valid file is read fast and compared (each its own test); for
a refused one, and for the few valid forms the fast reader leaves to the models on
purpose, one test checks that the fast reader declines them all.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocitree.core import media_types as mt
from ocitree.core.errors import MalformedDataError
from ocitree.core.manifest import Platform
from ocitree.core.model import Registry
from ocitree.core.stores import sample as sample_store
from ocitree.core.stores import sample_entries, sample_fast
from ocitree.core.stores.sample import SampleStore, parse_sample, registry_from_sample
from ocitree.core.stores.sample_fast import Doubt, read_registry
from ocitree.core.stores.sample_format import SampleArtifact, SampleBlob, SampleChild, SampleFile
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
    """What the fast reader makes of `text`, the same whether it gets the text whole or in
    pieces (the store reads the file a piece at a time: any token may be cut)."""
    whole = fast_in_pieces(text, len(text) or 1)
    for size in (1, 7) if len(text) < 20_000 else (997,):
        assert fast_in_pieces(text, size) == whole, f"read in pieces of {size} characters"
    return whole


def fast_in_pieces(text: str, size: int) -> dict | None:
    try:
        return view(read_registry((text[i : i + size] for i in range(0, len(text), size)), SOURCE))
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

# Between them the three entries use every key the format has (test_the_entries_use_every_key).
IMAGE = {
    "digest": D1, "mediaType": mt.OCI_MANIFEST, "size": 10, "tags": ["a"],
    "config": {"mediaType": mt.OCI_CONFIG, "digest": D2, "size": 3},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": D3, "size": 5}],
    "annotations": {"k": "v"}, "created": "2026-01-31T12:00:00Z",
}
INDEX = {
    "digest": D2, "tags": ["b"], "size": 5,
    "manifests": [{"digest": D1, "size": 10, "mediaType": mt.OCI_MANIFEST,
                   "platform": {"os": "linux", "architecture": "arm64", "variant": "v8", "os.version": "1"},
                   "annotations": {"x": "y"}}],
}
SIGNATURE = {"digest": D3, "subject": D1, "artifactType": "application/spdx+json",
             "config": {"digest": D2, "mediaType": ""}}
ENTRIES = {"image": IMAGE, "index": INDEX, "signature": SIGNATURE}

VALUES = [None, True, False, 0, 1, -1, 1.0, 1.5, 2**64, "", "x", "1", [], ["x"], {}, {"digest": D1}, D1, "-x", "a\n",
          D1 + "\n", D1.upper(), "sha256:xyz", float("nan")]
DELETE = "DELETE"


def _json_keys(model, required: bool = False) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items() if field.is_required() or not required}


def test_the_entries_use_every_key():
    """A key the models gain is then mutated below, so a fast reader that lets it through unchecked fails."""
    child = INDEX["manifests"][0]
    assert set(IMAGE) | set(INDEX) | set(SIGNATURE) == _json_keys(SampleArtifact)
    assert set(IMAGE["config"]) | set(IMAGE["layers"][0]) | set(SIGNATURE["config"]) == _json_keys(SampleBlob)
    assert set(child) == _json_keys(SampleChild)
    assert set(child["platform"]) == _json_keys(Platform)


def test_the_fast_readers_hex_digit_is_0_to_9_and_a_to_f_in_ascii():
    """sample_fast spells [0-9a-f] as "none of the other ASCII characters", which sre matches faster,
    and uses it only on ASCII text."""
    assert re.findall(sample_fast._HEX, "".join(map(chr, range(128)))) == list("0123456789abcdef")


def test_a_digest_with_a_character_beyond_ascii_is_left_to_the_models():
    """Beyond ASCII that class takes any character: text that is not ASCII is read the general way,
    which refuses such a digest, and still reads the generator's entries in it as the models do."""
    for char in ("\u00e9", "\u0661", "\U0001f600"):  # é, an Arabic-Indic one, 😀
        bad = dict(GEN_IMAGE, digest=GEN_IMAGE["digest"][:-1] + char)
        assert fast(compact_file([bad], ensure_ascii=False)) is None
    noted = dict(GEN_IMAGE, digest="sha256:" + "8" * 64, tags=[], annotations={"note": "caf\u00e9"})  # not ASCII
    text = compact_file([GEN_IMAGE, noted, GEN_INDEX], ensure_ascii=False)
    expected = reference(text)
    assert not isinstance(expected, str), expected
    assert fast(text) == expected


def test_the_fast_readers_key_sets_are_the_models_keys():
    """sample_entries.py spells the keys out so that the fast reader does not import pydantic: they
    must not drift from the models (a key only the models know would send every file using it the
    slow way; one only the fast reader knows would let it through unchecked)."""
    assert sample_entries.ENTRY_KEYS == _json_keys(SampleArtifact)
    assert sample_entries.BLOB_KEYS == _json_keys(SampleBlob)
    assert sample_entries.CHILD_KEYS == _json_keys(SampleChild)
    assert sample_entries.PLATFORM_KEYS == _json_keys(Platform)
    assert sample_entries.TOP_KEYS == _json_keys(SampleFile)
    assert sample_entries.TOP_REQUIRED == _json_keys(SampleFile, required=True)
    assert sample_entries.FORMAT == SampleFile.model_fields["format"].default


def _mutations(entry: dict, path: tuple = ()) -> list[tuple[tuple, object]]:
    """(path, value) for every field of `entry`, nested descriptor and first tag, every odd value,
    plus keys the format does not know."""
    found = []
    for key, value in entry.items():
        here = path + (key,)
        found += [(here, v) for v in VALUES]
        found.append((here, DELETE))
        if isinstance(value, dict):
            found += _mutations(value, here)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            found += _mutations(value[0], here + (0,))
        elif isinstance(value, list) and value:  # tags
            found += [(here + (0,), v) for v in VALUES]
    for extra in ("colour", "media_type", "artifact_type", "os_version", "os.features"):
        found.append((path + (extra,), "x"))
    return found


def _mutate(entry: dict, path: tuple, value) -> dict:
    entry = copy.deepcopy(entry)
    target = entry
    for key in path[:-1]:
        target = target[key]
    if value == DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return entry


def mutated_file(name: str, path: tuple, value) -> str:
    """The three entries, one of them with one change."""
    return file_text([_mutate(e, path, value) if n == name else copy.deepcopy(e) for n, e in ENTRIES.items()])


ALL_KEYS = set().union(*map(_json_keys, (SampleArtifact, SampleBlob, SampleChild, Platform)))


def left_to_the_models(path: tuple, value) -> bool:
    """Valid forms the fast reader declines on purpose: sizes the models coerce (true, 1.0, "1") or
    that exceed 2**63-1, a field under its Python name, and keys a platform may carry that ocitree
    ignores. Read fast, true or 1.0 would even compare equal to the models' 1."""
    key = path[-1]
    if key == "size" and value != DELETE:
        return type(value) is not int or value > 2**63 - 1
    return type(key) is str and path[-2:-1] != ("annotations",) and key not in ALL_KEYS  # not a tag, nor an annotation's key


READ_FAST: list[tuple] = []  # valid, and the fast reader must read it: compared one by one
DECLINED: list[tuple] = []  # refused by the models, or left to them on purpose
for case in ((name, path, value) for name, base in ENTRIES.items() for path, value in _mutations(base)):
    refused = isinstance(reference(mutated_file(*case)), str)
    (DECLINED if refused or left_to_the_models(*case[1:]) else READ_FAST).append(case)


def case_id(case) -> str:
    name, path, value = case
    return f"{name}-{'.'.join(map(str, path))}={value!r}"


@pytest.mark.parametrize("case", READ_FAST, ids=map(case_id, READ_FAST))
def test_valid_mutated_entry_is_read_fast_and_equal(case):
    text = mutated_file(*case)
    got = fast(text)
    assert got is not None, "the fast reader declined a valid file it is meant to read"
    assert got == reference(text)


def test_the_fast_reader_declines_what_the_models_refuse_or_coerce():
    accepted = [case_id(case) for case in DECLINED if fast(mutated_file(*case)) is not None]
    assert not accepted, accepted


@pytest.mark.parametrize("entry", [IMAGE, INDEX, SIGNATURE], ids=["image", "index", "signature"])
def test_unmutated_entries_take_the_fast_path(entry):
    assert assert_agree(file_text([copy.deepcopy(entry)])) is not None


def test_subject_as_a_descriptor_agrees():
    entry = dict(SIGNATURE, subject={"digest": D1, "mediaType": mt.OCI_MANIFEST, "size": 10})
    assert assert_agree(file_text([copy.deepcopy(IMAGE), entry]))["repositories"][REPO]["artifacts"][D3].subject == D1


# -- whole-file oddities ----------------------------------------------------------------------------

GOOD = file_text([IMAGE, INDEX, SIGNATURE])
VALID_ODD_FILES = {
    "trailing whitespace": GOOD + " \n\t",
    "leading whitespace": "\n  " + GOOD,
    "pretty printed": json.dumps(json.loads(GOOD), indent=2),
    "empty repositories": '{"repositories": {}}',
    "empty repository": json.dumps({"repositories": {REPO: []}}),
    "escaped strings": GOOD.replace('"a"', '"\\u0061"'),
    "lone surrogate in annotation": GOOD.replace('"v"', '"\\ud800"'),
}
REFUSED_FILES = {
    "duplicate top-level key": GOOD[:-1] + ', "format": "ocitree-sample/1"}',
    "duplicate repository": GOOD[:-2] + f', "{REPO}": []}}}}',
    "duplicate digest": file_text([IMAGE, IMAGE]),
    "duplicate tag": file_text([IMAGE, dict(INDEX, tags=["a"])]),
    "tag twice on one artifact": file_text([dict(IMAGE, tags=["a", "a"])]),
    "trailing data": GOOD + " x",
    "unknown top-level key": GOOD[:-1] + ', "extra": 1}',
    "format null": file_text([IMAGE], format=None),
    "protect not strings": file_text([IMAGE], protect=[1]),
    "protect a string": file_text([IMAGE], protect="v*"),
    "no repositories": '{"format": "ocitree-sample/1"}',
    "repositories null": '{"repositories": null}',
    "repository is an object": json.dumps({"repositories": {REPO: {}}}),
    "bad repository name": json.dumps({"repositories": {"Team/App": [IMAGE]}}),
    "entry is a list": json.dumps({"repositories": {REPO: [[1]]}}),
    "cycle": json.dumps({"repositories": {REPO: [
        {"digest": D1, "manifests": [{"digest": D2}]}, {"digest": D2, "manifests": [{"digest": D1}]}]}}),
    # the models report the bad entry: a cycle is found only once the whole file has been checked
    "cycle before a bad entry": json.dumps({"repositories": {
        "a/a": [{"digest": D1, "manifests": [{"digest": D1}]}], "b/b": [{"digest": "bad"}]}}),
    "truncated": GOOD[:-3],
    "empty": "",
    "top level array": "[1, 2]",
    "NaN size": GOOD.replace('"size": 10', '"size": NaN', 1),
    "deep nesting": json.dumps({"repositories": {REPO: [dict(IMAGE, annotations={"k": "[" * 5000})]}}).replace(
        '"[[', "[" * 5000 + "]" * 5000 + ', "x', 1),
}


@pytest.mark.parametrize("name", VALID_ODD_FILES)
def test_valid_odd_file_loads_fast_and_equal(name, tmp_path):
    text = VALID_ODD_FILES[name]
    path = tmp_path / SOURCE
    path.write_text(text)
    assert fast(text) is not None
    assert view(SampleStore(path).load()) == reference_load(path)


def test_refused_files_are_left_to_the_models():
    for name, text in REFUSED_FILES.items():
        assert isinstance(reference(text), str), name
        assert fast(text) is None, name


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


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-32-le"])
def test_a_file_read_in_pieces_loads_as_when_read_whole(encoding, tmp_path, monkeypatch):
    """The store reads a file 1 MiB at a time; in pieces of 5 bytes, pieces cut characters of every width."""
    text = json.dumps({"format": "ocitree-sample/1", "repositories": {REPO: [
        {"digest": D1, "tags": ["v1"], "annotations": {"note": "caf\u00e9 \u2603 \U0001f600 " * 3}}]}}, ensure_ascii=False)
    path = tmp_path / SOURCE
    path.write_bytes(text.encode(encoding))
    monkeypatch.setattr(sample_store, "PIECE_BYTES", 5)
    loaded = view(SampleStore(path).load())
    assert loaded == view(read_registry(text, str(path)))
    assert loaded["repositories"][REPO]["artifacts"][D1].annotations == {"note": "caf\u00e9 \u2603 \U0001f600 " * 3}


def test_bytes_that_are_not_utf8_in_a_later_piece_are_refused_as_when_read_whole(tmp_path, monkeypatch):
    path = tmp_path / SOURCE
    path.write_bytes(file_text([{"digest": D1, "annotations": {"note": "x" * 40}}]).encode().replace(b"x" * 40, b"x" * 20 + b"\xff" + b"x" * 19))
    monkeypatch.setattr(sample_store, "PIECE_BYTES", 5)
    with pytest.raises(MalformedDataError, match=r"registry\.json: not UTF-8 text$"):
        SampleStore(path).load()


# -- generated entries ------------------------------------------------------------------------------

anything = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=4), inner, max_size=2),
    max_leaves=4,
)
# Well-formed entries: the models refuse a list of them only for a digest listed twice, a tag on two
# of them, or a reference cycle.
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
        "created": st.none() | st.sampled_from(["2026-01-31T12:00:00Z", "2024-02-29T23:59:59.5+01:00"]),
    },
)


@st.composite
def valid_entry_lists(draw) -> list[dict]:
    """Well-formed entries that make a valid file: each digest and tag once, and an index lists only
    entries before it or absent ones (so there is no reference cycle)."""
    entries = draw(st.lists(good_entries, min_size=1, max_size=4, unique_by=lambda e: e["digest"]))
    seen_tags: set[str] = set()
    for i, entry in enumerate(entries):
        entry["tags"] = [t for t in entry.get("tags", []) if t not in seen_tags]
        seen_tags.update(entry["tags"])
        later = {e["digest"] for e in entries[i:]}
        for child in entry.get("manifests") or []:
            if child["digest"] in later:
                child["digest"] = "sha256:" + "f" * 64
    return entries


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_entry_lists())
def test_generated_valid_files_are_read_fast_and_equal(generated):
    text = file_text(generated)
    expected = reference(text)
    assert not isinstance(expected, str), expected  # the generator makes valid files only
    assert fast(text) == expected


@st.composite
def nearly_good_entries(draw) -> dict:
    """A well-formed entry with one value anywhere in it replaced by an odd one."""
    entry = draw(good_entries)
    path = draw(st.sampled_from([p for p, _ in _mutations(entry)]))
    return _mutate(entry, path, draw(st.sampled_from(VALUES) | anything))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(good_entries, max_size=3), nearly_good_entries())
def test_generated_entry_with_one_odd_value_agrees(good, odd):
    assert_agree(file_text([*good, odd]))


# -- entries as ocitree.sample_data.generate writes them ----------------------------------------------
# Compact and in the generator's key order, image and index entries are read from their text
# (EntryReader.image and EntryReader.index), not as JSON objects: what that reading accepts, and
# what it makes, must be what the models make, wherever such an entry differs.

D4 = "sha256:" + "4" * 64
GEN_IMAGE = {
    "digest": D1, "tags": ["a", "v1.0"], "mediaType": mt.OCI_MANIFEST, "size": 10,
    "config": {"mediaType": mt.OCI_CONFIG, "digest": D2, "size": 3},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": D3, "size": 5},
               {"mediaType": "", "digest": D2, "size": 7}],  # D2 again, as another blob
}
GEN_INDEX = {
    "digest": D4, "tags": ["b"], "mediaType": mt.OCI_INDEX, "size": 5,
    "manifests": [{"mediaType": mt.OCI_MANIFEST, "digest": D1, "size": 10,
                   "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
                  {"mediaType": "", "digest": D3, "size": 0, "platform": {"os": "linux", "architecture": "amd64"}},
                  {"mediaType": mt.OCI_MANIFEST, "digest": D2, "size": 2**63 - 1,
                   "platform": {"os": "linux", "architecture": "arm", "variant": ""}}],
}
GENERATED = {"image": GEN_IMAGE, "index": GEN_INDEX}


def compact_file(entries: list, ensure_ascii: bool = True) -> str:
    return json.dumps({"format": "ocitree-sample/1", "repositories": {REPO: entries}}, separators=(",", ":"),
                      ensure_ascii=ensure_ascii)


def test_entries_as_the_generator_writes_them_are_read_from_their_text(monkeypatch):
    bare_image = dict(GEN_IMAGE, digest="sha256:" + "5" * 64, tags=[], mediaType="", layers=[])
    del bare_image["tags"]
    empty_index = dict(GEN_INDEX, digest="sha256:" + "6" * 64, tags=[], manifests=[])
    # The first two layers are groups of the entry's match, any more are found in its text: every count.
    layer = GEN_IMAGE["layers"][0]
    more_layers = [dict(GEN_IMAGE, digest=f"sha256:{n}" + "7" * 63, tags=[f"layers{n}"],
                        layers=[dict(layer, size=n * 10 + k) for k in range(n)]) for n in (1, 3, 4)]
    text = compact_file([GEN_IMAGE, GEN_INDEX, bare_image, empty_index, *more_layers])
    expected = reference(text)
    assert not isinstance(expected, str), expected
    monkeypatch.setattr(sample_fast.EntryReader, "artifact", lambda *args: pytest.fail("read as JSON objects"))
    assert fast(text) == expected


SIZE_EDGES = [2**63 - 1, 2**63, 10**19 - 1, 10**19, 0, -0.0, 1e2]
GENERATED_CASES = [(name, path, value) for name, base in GENERATED.items()
                   for path, value in _mutations(base) + [(p, v) for p, _ in _mutations(base) if p[-1] == "size" for v in SIZE_EDGES]]


def changed_generated_file(name: str, path: tuple, value) -> str:
    return compact_file([_mutate(e, path, value) if n == name else copy.deepcopy(e) for n, e in GENERATED.items()])


@pytest.mark.parametrize("case", GENERATED_CASES, ids=map(case_id, GENERATED_CASES))
def test_a_generated_entry_changed_anywhere_is_read_as_the_models_read_it(case):
    text = changed_generated_file(*case)
    expected = reference(text)
    got = fast(text)
    if isinstance(expected, str) or left_to_the_models(*case[1:]):
        assert got is None, "the fast reader accepted what the models refuse, or read a value it leaves to them"
    else:
        assert got == expected


@pytest.mark.parametrize("size", [2**63, 10**19 - 1])
def test_a_size_beyond_what_the_fast_reader_takes_is_left_to_the_models(size, tmp_path):
    """19 digits still look like a plain size to the text reading: it must check the bound itself."""
    entry = dict(GEN_IMAGE, size=size)
    path = tmp_path / SOURCE
    path.write_text(compact_file([entry]))
    assert fast(compact_file([entry])) is None
    assert view(SampleStore(path).load()) == reference_load(path)


GENERATED_TEXT = compact_file([GEN_IMAGE, GEN_INDEX])
TRICKY_GENERATED = {  # name: (file bytes, whether the models read it)
    "a size twice": (GENERATED_TEXT.replace('"size":10,', '"size":10,"size":11,', 1), False),
    "a child's digest twice": (GENERATED_TEXT.replace(f'"digest":"{D3}","size":0', f'"digest":"{D3}","digest":"{D3}","size":0'), False),
    "a NaN size": (GENERATED_TEXT.replace('"size":10,', '"size":NaN,', 1), False),
    "a size of 2**64": (GENERATED_TEXT.replace('"size":10,', f'"size":{2**64},', 1), True),
    "a size written 1e1": (GENERATED_TEXT.replace('"size":10,', '"size":1e1,', 1), True),
    "a lone surrogate escape in a media type": (GENERATED_TEXT.replace('"mediaType":""', '"mediaType":"\\ud800"', 1), True),
    "an escaped slash in a media type": (GENERATED_TEXT.replace("application/vnd", "application\\/vnd", 1), True),
    "a byte order mark": ("\ufeff" + GENERATED_TEXT, True),
}


@pytest.mark.parametrize("name", TRICKY_GENERATED)
def test_generated_text_with_a_json_oddity_loads_or_fails_as_the_models_read_it(name, tmp_path):
    """What a user sees of such a file, the registry or the error, is what the models make of it."""
    text, valid = TRICKY_GENERATED[name]
    path = tmp_path / SOURCE
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    expected = reference_load(path)
    assert isinstance(expected, dict) == valid, expected
    try:
        got: dict | str = view(SampleStore(path).load())
    except MalformedDataError as exc:
        got = str(exc)
    assert got == expected
