"""The audit log: one JSON line per executed plan (time, OS user, source, targets, what went)."""

from __future__ import annotations

import datetime as _dt
import getpass
import json
import os
from collections.abc import Mapping
from pathlib import Path

from .plan import DeletionPlan, ExecutionResult


def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return str(os.getuid())


def append_audit_record(path: Path, plan: DeletionPlan, result: ExecutionResult) -> None:
    record = {
        "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "user": os_user(),
        "source": plan.source,
        "targets": [t.reference for t in plan.targets],
        "resumed": [r.reference for r in plan.resumed],  # REFs finishing a cut-off run
        "deleted": [{"repository": d.repository, "digest": d.digest, "tags": d.tags} for d in result.deleted],
        "rewritten": [{"repository": r.repository, "digest": r.digest, "tags": r.tags} for r in result.rewritten],
        "failed": [f.model_dump() for f in result.failed],
        "result": "completed" if result.completed else "incomplete",
    }
    append_audit_line(path, record)


def append_audit_line(path: Path, record: Mapping[str, object]) -> None:
    """One JSON line appended to the audit log (a deletion, or an undo). Raises OSError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, separators=(",", ":")) + "\n"
    # O_APPEND keeps lines whole when two processes write at once.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
