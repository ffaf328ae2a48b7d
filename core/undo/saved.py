"""The saved runs: everything an executed deletion removed, kept so that `ocitree undo` can put it back.

One directory per run under `<state_dir>/undo/<run id>/`:

    run.json      written when the run starts: id, kind ("delete" or "undo"), time, user, source, targets
    saved.jsonl   one line per artifact, appended (and synced) before the step that deletes it, so a
                  run cut off at any point has saved everything it deleted: the manifest's exact bytes
                  (base64), media type, tags, and per source the sample record or the index.json entries
    blobs/        layouts: the blob files the run's deletions could remove, hard-linked (or copied)
                  aside before the delete, so removing them from the layout frees nothing until purge
    result.json   written when the run ends: completed or not, what was deleted, what an undo restored
    undone.json   written when an undo restored the run

A run with no result.json was killed; its saved lines are still exact (each was written before
its delete), and undo restores whichever of them is missing from the source. Runs older than
`undo_keep_days` (config.toml, default 14) are removed at the next run or `ocitree history`.
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..durable_files import write_atomically
from ..interrupted import source_key
from ..paths import state_dir

RunKind = Literal["delete", "undo"]
VERSION = 1


def undo_dir() -> Path:
    return state_dir() / "undo"


def now_text() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


@dataclass
class SavedArtifact:
    """One deleted (or rewritten) artifact, as it was just before the step that changed it."""

    repository: str
    digest: str
    media_type: str
    tags: list[str] = field(default_factory=list)
    manifest: bytes | None = None  # the exact bytes (registries, layouts); a sample file has none
    children: list[str] = field(default_factory=list)  # manifests it lists: restored before it
    subject: str | None = None  # the artifact it is an accessory of: restored before it
    blobs: list[str] = field(default_factory=list)  # config and layers: must still exist to restore
    record: dict[str, Any] | None = None  # sample file: its entry, verbatim
    position: int | None = None  # sample file: where the entry stood in its repository's list
    index_entries: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # layouts: (position, entry)
    rewritten: bool = False  # a referrers index written anew without some entries, not deleted
    created: float | None = None  # the date the source read from its image config (not in the manifest)

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["manifest"] = base64.b64encode(self.manifest).decode() if self.manifest is not None else None
        doc["index_entries"] = [[p, e] for p, e in self.index_entries]
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> SavedArtifact:
        manifest = doc.get("manifest")
        return cls(
            repository=str(doc["repository"]),
            digest=str(doc["digest"]),
            media_type=str(doc.get("media_type") or ""),
            tags=[str(t) for t in doc.get("tags") or []],
            manifest=base64.b64decode(manifest) if isinstance(manifest, str) else None,
            children=[str(c) for c in doc.get("children") or []],
            subject=doc.get("subject") if isinstance(doc.get("subject"), str) else None,
            blobs=[str(b) for b in doc.get("blobs") or []],
            record=doc.get("record") if isinstance(doc.get("record"), dict) else None,
            position=doc.get("position") if isinstance(doc.get("position"), int) else None,
            index_entries=[(int(p), dict(e)) for p, e in doc.get("index_entries") or []],
            rewritten=bool(doc.get("rewritten")),
            created=float(created) if isinstance(created := doc.get("created"), (int, float)) else None,
        )

    @property
    def label(self) -> str:
        return f"{self.repository}:{self.tags[0]}" if self.tags else f"{self.repository}@{self.digest}"


@dataclass
class Run:
    """One run as read back from its directory."""

    directory: Path
    id: str
    kind: RunKind
    time: str
    user: str
    source: str  # as typed
    source_key: str  # a path made real: `./a.json` and `/x/a.json` are one source
    targets: list[str]
    undoes: str | None = None  # an undo: the run it restored
    result: dict[str, Any] | None = None  # None: still running, or killed
    undone: dict[str, Any] | None = None  # set once an undo restored it

    @property
    def status(self) -> str:
        if self.result is None:
            return "interrupted"
        return "completed" if self.result.get("completed") else "incomplete"

    def saved(self) -> list[SavedArtifact]:
        """What the run saved, in the order it deleted; a line cut short by a kill is skipped."""
        found: list[SavedArtifact] = []
        try:
            lines = (self.directory / "saved.jsonl").read_text(encoding="utf-8").splitlines()
        except OSError:
            return found
        for line in lines:
            try:
                found.append(SavedArtifact.from_json(json.loads(line)))
            except (ValueError, KeyError, TypeError):
                continue
        return found

    @property
    def has_saved(self) -> bool:
        """Whether the run saved anything (without reading it all: a run of thousands is megabytes)."""
        try:
            return (self.directory / "saved.jsonl").stat().st_size > 0
        except OSError:
            return False

    @property
    def changed_anything(self) -> bool:
        """False for a run that ended having deleted nothing (it stopped before its first write)."""
        return self.result is None or bool(self.result.get("deleted") or self.result.get("rewritten"))

    @property
    def deleted_count(self) -> int:
        if self.kind == "undo":
            return len(self.result.get("restored", [])) if self.result else 0
        if self.result is not None:
            return len(self.result.get("deleted", []))
        return sum(1 for s in self.saved() if not s.rewritten)

    def held_bytes(self) -> int:
        """Space the run's saved data holds on its own: blob copies no layout links any more, and its records."""
        total = 0
        for path in self.directory.rglob("*"):
            try:
                st = path.lstat()
            except OSError:
                continue
            if path.is_file() and (st.st_nlink == 1 or path.parent == self.directory):
                total += st.st_size
        return total

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "time": self.time, "user": self.user, "source": self.source,
            "targets": self.targets, "status": self.status, "deleted": self.deleted_count,
            "undoes": self.undoes, "undone": self.undone, "held_bytes": self.held_bytes(),
        }


class RunBook:
    """The runs of every source in `<state_dir>/undo/`."""

    def __init__(self, root: Path | None = None):
        self.root = root if root is not None else undo_dir()

    def start(self, kind: RunKind, source: str, user: str, targets: list[str], undoes: str | None = None) -> Run:
        """A new run's directory with its run.json. Raises OSError."""
        stamp = now_text()
        # Sortable to the microsecond: two runs in one second still list newest first.
        run_id = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ") + "-" + secrets.token_hex(3)
        directory = self.root / run_id
        directory.mkdir(parents=True, mode=0o700)
        run = Run(directory, run_id, kind, stamp, user, source, source_key(source), targets, undoes)
        header = {"version": VERSION, "id": run_id, "kind": kind, "time": stamp, "user": user, "source": source,
                  "source_key": run.source_key, "targets": targets, "undoes": undoes}
        write_atomically(directory / "run.json", json.dumps(header, indent=1).encode(), mode=0o600)
        return run

    def runs(self, source: str | None = None) -> list[Run]:
        """Every readable run (of `source`, when given), newest first."""
        key = source_key(source) if source is not None else None
        found = [run for run in self._all() if key is None or run.source_key == key]
        return sorted(found, key=lambda r: r.id, reverse=True)

    def matching(self, source: str, run_id: str) -> list[Run]:
        """The runs of `source` whose id is `run_id` or starts with it."""
        exact = [r for r in self.runs(source) if r.id == run_id]
        return exact or [r for r in self.runs(source) if r.id.startswith(run_id)]

    def find(self, source: str, run_id: str) -> Run | None:
        matches = self.matching(source, run_id)
        return matches[0] if len(matches) == 1 else None

    def _all(self) -> Iterator[Run]:
        try:
            entries = sorted(os.listdir(self.root))
        except OSError:
            return
        for name in entries:
            run = read_run(self.root / name)
            if run is not None:
                yield run

    def expire(self, keep_days: int) -> list[Run]:
        """Remove runs older than `keep_days`; returns them."""
        limit = _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(days=keep_days)
        gone = []
        for run in self._all():
            try:
                when = _dt.datetime.fromisoformat(run.time)
            except ValueError:
                continue
            if when < limit:
                remove_run(run)
                gone.append(run)
        return gone

    def purge(self, source: str) -> list[Run]:
        """Remove every saved run of `source`; returns them (with what they held, measured first)."""
        runs = self.runs(source)
        for run in runs:
            remove_run(run)
        return runs


def read_run(directory: Path) -> Run | None:
    try:
        header = json.loads((directory / "run.json").read_text(encoding="utf-8"))
        run = Run(directory, str(header["id"]), header["kind"], str(header["time"]), str(header["user"]),
                  str(header["source"]), str(header["source_key"]), [str(t) for t in header.get("targets", [])],
                  header.get("undoes"))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # not a run, or damaged: never shown, never undone
    run.result = _read_json(directory / "result.json")
    run.undone = _read_json(directory / "undone.json")
    return run


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def append_saved(run: Run, saved: SavedArtifact) -> None:
    """One saved artifact, durably, before its delete. Raises OSError."""
    line = (json.dumps(saved.to_json(), separators=(",", ":")) + "\n").encode()
    fd = os.open(run.directory / "saved.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def write_result(run: Run, result: dict[str, Any]) -> None:
    write_atomically(run.directory / "result.json", json.dumps(result, indent=1).encode(), mode=0o600)
    run.result = result


def mark_undone(run: Run, by: Run) -> None:
    undone = {"time": by.time, "user": by.user, "by": by.id}
    write_atomically(run.directory / "undone.json", json.dumps(undone).encode(), mode=0o600)
    run.undone = undone


def remove_run(run: Run) -> None:
    shutil.rmtree(run.directory, ignore_errors=True)


def saved_blob_path(run: Run, digest: str) -> Path:
    algorithm, _, hexpart = digest.partition(":")
    return run.directory / "blobs" / algorithm / hexpart


def kept_blob(run: Run, digest: str) -> Path | None:
    """The blob as a run of this source kept it aside: this run's copy, else a later run's (a shared
    layer the run left in place, that a later run then removed, was kept by that later run)."""
    own = saved_blob_path(run, digest)
    if own.is_file():
        return own
    for other in RunBook(run.directory.parent).runs(run.source_key):
        path = saved_blob_path(other, digest)
        if path.is_file():
            return path
    return None
