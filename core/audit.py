"""The audit log: one JSON line per executed plan (time, OS user, source, targets, what went)."""

from __future__ import annotations

import datetime as _dt
import getpass
import json
import os
from pathlib import Path

from .plan import DeletionPlan, ExecutionResult


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return str(os.getuid())


def append_audit_record(path: Path, plan: DeletionPlan, result: ExecutionResult) -> None:
    append_record(path, {
        "source": plan.source,
        "targets": [t.reference for t in plan.targets],
        "resumed": [r.reference for r in plan.resumed],  # REFs finishing a cut-off run
        "deleted": [{"repository": d.repository, "digest": d.digest, "tags": d.tags} for d in result.deleted],
        "rewritten": [{"repository": r.repository, "digest": r.digest, "tags": r.tags} for r in result.rewritten],
        "failed": [f.model_dump() for f in result.failed],
        "result": "completed" if result.completed else "incomplete",
    })


def append_record(path: Path, fields: dict[str, object]) -> None:
    """One line: the time and OS user, then `fields`."""
    record = {
        "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "user": _os_user(),
        **fields,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, separators=(",", ":")) + "\n"
    # O_APPEND keeps lines whole when two processes write at once.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
