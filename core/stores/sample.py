"""The sample store: a registry held in one JSON file (format in sample_format.py).

Writes are atomic (temporary file, fsync, rename) under an exclusive lock on a
sidecar `.lock` file, and every deletion re-reads the file under that lock first,
so two ocitree processes deleting from one file never lose each other's change.
"""

from __future__ import annotations

import codecs
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from ..durable_files import write_atomically
from ..errors import BadInputError, MalformedDataError, OcitreeError, StoreError
from ..gc_pause import gc_paused
from ..json_text import NestedTooDeeply, dump_json, load_json
from ..model import Registry, Repository
from .base import Deletion, DeletionSession, LoadProgress, ProgressCallback, Store
from .options import SourceOptions, StoreSource
from .sample_fast import Doubt, read_registry

if TYPE_CHECKING:
    from .sample_format import SampleFile


def _place(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def decode_sample(raw: bytes, where: str) -> str:
    """The text of a sample file, decoded the way json.loads decodes bytes."""
    try:
        return raw.decode(json.detect_encoding(raw), "surrogatepass")
    except UnicodeDecodeError:
        raise MalformedDataError(f"{where}: not UTF-8 text") from None


PIECE_BYTES = 1 << 20  # read and decoded at a time: small beside the model, big enough that the pieces cost nothing


def text_pieces(fh: BinaryIO, where: str) -> Iterator[str]:
    """The text of an open sample file a piece at a time, decoded as decode_sample decodes it whole."""
    raw = fh.read(PIECE_BYTES)
    decoder = codecs.getincrementaldecoder(json.detect_encoding(raw))("surrogatepass")
    try:
        while raw:
            yield decoder.decode(raw)
            raw = fh.read(PIECE_BYTES)
        yield decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise MalformedDataError(f"{where}: not UTF-8 text") from None
    except OSError as exc:
        raise StoreError(f"{where}: cannot read ({exc.strerror})") from None


def _reporting_read(pieces: Iterator[str], fh: BinaryIO, progress: ProgressCallback) -> Iterator[str]:
    """`pieces`, saying after each how many MiB of the file were read: a million artifacts take
    15 s, and the bar shows how far along the load is rather than only that it is alive."""
    try:
        total = max(1, -(-os.fstat(fh.fileno()).st_size // 2**20))
    except (OSError, ValueError):
        yield from pieces
        return
    for piece in pieces:
        yield piece
        done = min(total, -(-fh.tell() // 2**20))
        progress(LoadProgress(done, total, f"{done} of {total} MiB read"))


class _DuplicateKey(Exception):
    pass


def unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object, refusing a key given twice: json keeps the last silently, and the block
    dropped would then be gone from every view and from the file at the next delete."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return obj


def parse_document(text: str | bytes, where: str) -> Any:
    """The JSON value of a sample file (an object, unless the file is malformed)."""
    if isinstance(text, bytes):
        text = decode_sample(text, where)
    try:
        return load_json(text, object_pairs_hook=unique_keys)
    except _DuplicateKey as exc:
        raise MalformedDataError(f"{where}: the key {json.dumps(exc.args[0])[:80]} is twice in one JSON object; "
                                 f"merge the two (ocitree would see only one of them)") from None
    except json.JSONDecodeError as exc:
        raise MalformedDataError(f"{where}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except NestedTooDeeply:
        raise MalformedDataError(f"{where}: JSON nested too deeply to be a sample file") from None


def parse_sample(raw: str | bytes, where: str) -> tuple[SampleFile, dict[str, Any]]:
    """The reference reading: every entry through the pydantic models, which word any error."""
    # Imported here: a well-formed file never comes this way, and pydantic is 0.085 s of a start.
    from pydantic import ValidationError

    from ..manifest import validation_message
    from .sample_format import SampleFile

    doc = parse_document(raw, where)
    try:
        return SampleFile.model_validate(doc), doc
    except ValidationError as exc:
        err = exc.errors()[0]
        value = err.get("input")
        shown = json.dumps(value)[:60] if not isinstance(value, (dict, list)) else f"a JSON {'object' if isinstance(value, dict) else 'array'}"
        msg = validation_message(err)
        raise MalformedDataError(f"{where}: at {_place(err['loc'])} = {shown}: {msg}") from None


def registry_from_sample(sample: SampleFile, source: str) -> Registry:
    repos = []
    for name, entries in sample.repositories.items():
        seen_tags: dict[str, str] = {}
        seen_digests: set[str] = set()
        for i, e in enumerate(entries):
            if e.digest in seen_digests:
                raise MalformedDataError(f"{source}: at repositories.{name}[{i}].digest: {e.digest} is listed twice")
            seen_digests.add(e.digest)
            for tag in e.tags:
                if tag in seen_tags:
                    raise MalformedDataError(f"{source}: at repositories.{name}[{i}].tags: tag {tag!r} is on two artifacts")
                seen_tags[tag] = e.digest
        try:
            repos.append(Repository(name, (e.to_artifact(name) for e in entries)))
        except MalformedDataError as exc:
            raise MalformedDataError(f"{source}: {exc}") from None
    return Registry(source, repos, protect=sample.protect)


def write_document(path: Path, doc: dict[str, Any], unchanged: str) -> None:
    """Write a sample document back atomically. Raises StoreError saying `unchanged` (the file stands)."""
    try:
        data = dump_json(doc, indent=2) + b"\n"  # a lone surrogate stays the escape it was
    except NestedTooDeeply:
        raise StoreError(f"{path}: nested too deeply to be written back; {unchanged}") from None
    try:
        write_atomically(path, data)
    except OSError as exc:
        raise StoreError(f"{path}: cannot write ({exc.strerror}); {unchanged}") from None


class SampleStore(Store):
    def __init__(self, source: StoreSource, options: SourceOptions | None = None) -> None:
        self.path = Path(source)
        self.source = str(self.path)
        self.read_only = (options or SourceOptions()).read_only

    def _read(self, keep_document: bool = False,
              progress: ProgressCallback | None = None) -> tuple[Registry, dict[str, Any] | None]:
        """The registry, and the parsed document when `keep_document` (a deletion rewrites it)."""
        where = str(self.path)
        with gc_paused():
            if not keep_document:
                try:
                    with self._open() as fh:
                        pieces = text_pieces(fh, where)
                        if progress is not None:
                            pieces = _reporting_read(pieces, fh, progress)
                        return read_registry(pieces, self.source), None
                except Doubt:
                    pass  # read whole below, through the models: they word what is wrong, or read the rarer forms
            text = decode_sample(self._raw(), where)  # the only copy kept while it is parsed
            if keep_document:
                try:
                    return read_registry(text, self.source), parse_document(text, where)
                except Doubt:
                    pass
            sample, doc = parse_sample(text, where)
            return registry_from_sample(sample, self.source), doc if keep_document else None

    def _open(self) -> BinaryIO:
        try:
            return self.path.open("rb")
        except OSError as exc:
            raise self._unreadable(exc) from None

    def _raw(self) -> bytes:
        try:
            return self.path.read_bytes()
        except OSError as exc:
            raise self._unreadable(exc) from None

    def _unreadable(self, exc: OSError) -> OcitreeError:
        if isinstance(exc, FileNotFoundError):
            return BadInputError(f"{self.path}: no such file; give a sample file, an OCI layout directory or a registry URL")
        if isinstance(exc, IsADirectoryError):
            return BadInputError(f"{self.path}: is a directory without an oci-layout file")
        return StoreError(f"{self.path}: cannot read ({exc.strerror})")

    def load(self, progress: ProgressCallback | None = None) -> Registry:
        registry, _ = self._read(progress=progress)
        if progress:
            n = registry.artifact_count
            progress(LoadProgress(n, n, "loaded"))
        return registry

    def session(self, repositories: set[str]) -> DeletionSession:
        if self.read_only:
            raise StoreError(f"{self.path}: opened read-only; nothing was deleted")
        return _SampleSession(self)

    def untag_refusal(self, repository: str) -> str | None:
        return super().untag_refusal(repository) if self.read_only else None


class _SampleSession(DeletionSession):
    def __init__(self, store: SampleStore) -> None:
        self.store = store
        self._lock_fd: int | None = None
        self._doc: dict[str, Any] = {}

    def __enter__(self) -> _SampleSession:
        lock_path = self.store.path.with_name(self.store.path.name + ".lock")
        try:
            self._lock_fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        except OSError as exc:
            self.close()
            raise StoreError(f"{lock_path}: cannot lock ({exc.strerror})") from None
        return self

    def read_fresh(self) -> Registry:
        registry, doc = self.store._read(keep_document=True)
        assert doc is not None
        self._doc = doc
        return registry

    def deletion_on(self, fresh: Registry) -> Deletion:
        present = {name: set(repo.artifacts) for name, repo in fresh.repositories.items()}
        return _SampleDeletion(self.store.path, self._doc, present)

    def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing drops the flock
            self._lock_fd = None


class _SampleDeletion(Deletion):
    """One atomic write at commit(): a run that stops before it changed nothing."""

    def __init__(self, path: Path, doc: dict[str, Any], present: dict[str, set[str]]) -> None:
        super().__init__()
        self.path = path
        self._doc = doc
        self._present = present
        self._deleted: dict[str, set[str]] = {}
        self._rewritten: dict[str, dict[str, set[str]]] = {}  # repository -> referrers index -> entries removed
        self._untagged: set[tuple[str, str]] = set()  # (repository, tag)

    def delete(self, repository: str, digest: str) -> None:
        deleted = self._deleted.setdefault(repository, set())
        if digest not in self._present.get(repository, ()) or digest in deleted:
            raise StoreError(f"{repository}@{digest} is no longer in {self.path}")
        deleted.add(digest)

    def rewrite_referrers(self, repository: str, digest: str, remove: set[str]) -> None:
        """A sample file models state, not content: the index keeps its digest and loses the entries."""
        if digest not in self._present.get(repository, ()) or digest in self._deleted.get(repository, ()):
            raise StoreError(f"{repository}@{digest} is no longer in {self.path}")
        self._rewritten.setdefault(repository, {}).setdefault(digest, set()).update(remove)

    def untag(self, repository: str, tag: str) -> None:
        entries = self._doc["repositories"].get(repository, [])
        if (repository, tag) in self._untagged or not any(tag in e.get("tags", ()) for e in entries
                                                          if e.get("digest") not in self._deleted.get(repository, ())):
            raise StoreError(f"{repository}:{tag} is no longer in {self.path}")
        self._untagged.add((repository, tag))

    def commit(self) -> None:
        if not (any(self._deleted.values()) or self._rewritten or self._untagged):
            return
        repositories = self._doc["repositories"]
        for name, tag in self._untagged:
            for entry in repositories[name]:
                if tag in entry.get("tags", ()):
                    entry["tags"] = [t for t in entry["tags"] if t != tag]
        for name, indexes in self._rewritten.items():
            for entry in repositories[name]:
                remove = indexes.get(entry.get("digest"))
                if remove and isinstance(entry.get("manifests"), list):
                    entry["manifests"] = [c for c in entry["manifests"] if c.get("digest") not in remove]
        for name, digests in self._deleted.items():
            repositories[name] = [e for e in repositories[name] if e.get("digest") not in digests]
        write_document(self.path, self._doc, "the file is unchanged; nothing was deleted")
        self.durable.deleted |= {(name, d) for name, digests in self._deleted.items() for d in digests}
        self.durable.rewritten |= {(name, d) for name, indexes in self._rewritten.items() for d in indexes}
        self.durable.untagged |= self._untagged
