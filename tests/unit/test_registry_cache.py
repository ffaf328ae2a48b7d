"""The manifest cache's artifact records: rebuilding an artifact from its record gives exactly
the artifact parsing the manifest gives (a warm load must equal a cold one)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from ocitree.core import media_types as mt
from ocitree.core.stores.registry.artifacts import artifact_from_manifest, artifact_from_record, artifact_record
from ocitree.core.digests import digest_matches
from ocitree.core.stores.registry.cache import ManifestCache
from ocitree.core.manifest import digest_of
from ocitree.sample_data.builder import RegistryBuilder


def roundtrip(data: bytes):
    digest = digest_of(data)
    parsed = artifact_from_manifest("team/app", digest, data, [], "test")
    rebuilt = artifact_from_record("team/app", digest, len(data), artifact_record(parsed))
    return parsed, rebuilt


def test_every_kind_the_builder_makes_survives_the_record():
    b = RegistryBuilder()
    image = b.image("r", ["v1"], variant="v8", annotations={"org.opencontainers.image.title": "ünïcode ✓"})
    docker = b.image("r", docker=True, layer_sizes=(10, 20, 30))
    index = b.index("r", [image, (docker, {"os": "windows", "architecture": "amd64", "os.version": "10.0"})],
                    annotations={"a": "b"}, child_annotations={image.digest: {"c": "d"}})
    signature = b.accessory("r", index, "signature")
    docker_list = b.index("r", [docker], docker=True)
    for m in [image, docker, index, signature, docker_list]:
        parsed, rebuilt = roundtrip(m.data)
        assert rebuilt == parsed, m.media_type


_text = st.text(max_size=12)
_digest = st.binary(min_size=1, max_size=8).map(digest_of)
_platform = st.one_of(st.none(), st.fixed_dictionaries(
    {"os": _text, "architecture": _text}, optional={"variant": _text, "os.version": _text}))
_annotations = st.one_of(st.none(), st.dictionaries(_text, _text, max_size=3))


@st.composite
def _descriptor(draw):
    d = {"mediaType": draw(st.sampled_from([mt.OCI_MANIFEST, mt.DOCKER_MANIFEST, "x/y"])),
         "digest": draw(_digest), "size": draw(st.integers(0, 2**40))}
    for key, value in (("platform", draw(_platform)), ("annotations", draw(_annotations)),
                       ("artifactType", draw(st.one_of(st.none(), _text)))):
        if value is not None:
            d[key] = value
    return d


@st.composite
def _manifest(draw):
    doc: dict = {"schemaVersion": 2}
    if draw(st.booleans()):
        doc["mediaType"] = draw(st.sampled_from([mt.OCI_INDEX, mt.DOCKER_MANIFEST_LIST]))
        doc["manifests"] = draw(st.lists(_descriptor(), max_size=4))
    else:
        if draw(st.booleans()):
            doc["mediaType"] = draw(st.sampled_from([mt.OCI_MANIFEST, mt.DOCKER_MANIFEST]))
        doc["config"] = draw(_descriptor())
        doc["layers"] = draw(st.lists(_descriptor(), max_size=3))
    for key, value in (("subject", draw(st.one_of(st.none(), _descriptor()))),
                       ("artifactType", draw(st.one_of(st.none(), _text))),
                       ("annotations", draw(_annotations))):
        if value is not None:
            doc[key] = value
    return json.dumps(doc).encode()


@settings(max_examples=300, deadline=None)
@given(_manifest())
def test_any_manifest_survives_the_record(data):
    parsed, rebuilt = roundtrip(data)
    assert rebuilt == parsed


def test_entries_come_back_verified_and_damage_is_dropped(tmp_path):
    cache = ManifestCache(tmp_path / "m.sqlite3")
    good, bad = b'{"a": 1}', b'{"b": 2}'
    cache.put(digest_of(good), good, "[]")
    cache.put(digest_of(bad), b"tampered", "[]")  # a caller bug or disk damage: never served
    cache.flush()
    other = ManifestCache(tmp_path / "m.sqlite3")
    assert other.get_many([digest_of(good), digest_of(bad), digest_of(b"absent")]) == {digest_of(good): (good, "[]")}
    assert digest_matches(digest_of(good), good) and not digest_matches("md5:00", good)
    cache.close()
    other.close()


def test_tag_hints_are_per_registry_and_repository(tmp_path):
    cache = ManifestCache(tmp_path / "m.sqlite3")
    cache.remember_tags("host:5000", "team/app", {"latest": "sha256:" + "1" * 64})
    cache.remember_tags("other:5000", "team/app", {"latest": "sha256:" + "2" * 64})
    cache.flush()
    cache.remember_tags("host:5000", "team/app", {"v2": "sha256:" + "3" * 64})  # replaces, not merges
    cache.close()
    again = ManifestCache(tmp_path / "m.sqlite3")
    assert again.tag_hints("host:5000", "team/app") == {"v2": "sha256:" + "3" * 64}
    assert again.tag_hints("other:5000", "team/app") == {"latest": "sha256:" + "2" * 64}
    assert again.tag_hints("host:5000", "team/other") == {}
    again.close()


def test_a_cache_another_process_holds_locked_is_left_alone(tmp_path, monkeypatch):
    """A busy database is not a damaged one: waiting too long means no cache this time, never
    deleting a file another ocitree process (perhaps of another version) is writing."""
    import sqlite3

    import ocitree.core.stores.registry.cache as cache_module

    monkeypatch.setattr(cache_module, "_BUSY_TIMEOUT", 0.1)
    path = tmp_path / "m.sqlite3"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("PRAGMA user_version = 7")  # another version's schema: this one would start over
    other.execute("CREATE TABLE theirs (x)")
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO theirs VALUES (1)")

    cache = ManifestCache(path)
    assert cache.get(digest_of(b"{}")) is None  # no cache this time
    cache.put(digest_of(b"{}"), b"{}", "[]")
    cache.close()

    other.execute("COMMIT")
    other.close()
    again = sqlite3.connect(path)
    assert again.execute("SELECT x FROM theirs").fetchall() == [(1,)]
    again.close()


def test_two_processes_creating_the_cache_at_once_keep_each_others_entries(tmp_path):
    """The other process creates the tables (and writes an entry) while this one waits to do the
    same: this one must see they are there, not drop and create them again."""
    import sqlite3
    import threading

    from ocitree.core.stores.registry.cache import _SCHEMA

    path = tmp_path / "m.sqlite3"
    data = b'{"theirs": 1}'
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("BEGIN IMMEDIATE")  # what ManifestCache does to create the tables
    other.execute("CREATE TABLE manifests (digest TEXT PRIMARY KEY, data BLOB NOT NULL, record TEXT NOT NULL)")
    other.execute("CREATE TABLE tags (registry TEXT NOT NULL, repository TEXT NOT NULL, tag TEXT NOT NULL, "
                  "digest TEXT NOT NULL, PRIMARY KEY (registry, repository, tag))")
    other.execute("INSERT INTO manifests VALUES (?, ?, '[]')", (digest_of(data), data))
    other.execute(f"PRAGMA user_version = {_SCHEMA}")

    def commit_soon():
        threading.Event().wait(0.3)  # after this process has read the version and started to wait
        other.execute("COMMIT")

    committer = threading.Thread(target=commit_soon)
    committer.start()
    cache = ManifestCache(path)
    try:
        assert cache.get(digest_of(data)) == (data, "[]")
    finally:
        committer.join()
        cache.close()
        other.close()
