"""History and undo plans as lines of text: the command line prints them, the TUI shows the same.

Every string from a source (names, tags, digests as stored) goes through printable() here."""

from __future__ import annotations

from ocitree.core.names import short_digest
from ocitree.core.printable import printable
from ocitree.core.sizes import human_bytes
from ocitree.core.undo.restore import UndoPlan
from ocitree.core.undo.saved import Run


def undo_status(run: Run) -> str:
    if run.undone is not None:
        return f"undone {run.undone.get('time', '')} by {run.undone.get('by', '')}"
    if run.result is not None and not run.result.get("undoable", True):
        return "cannot be undone on this source"
    if not run.has_saved or not run.changed_anything:
        return "nothing to undo"
    return "can be undone"


def run_line(run: Run) -> str:
    """One run: id, time, user, targets, how many deleted, undo status, space held."""
    if run.kind == "undo":
        what = f"undo of {run.undoes}: restored {run.deleted_count} ({run.status})"
    else:
        what = (f"delete {', '.join(run.targets) or '-'}: deleted {run.deleted_count} ({run.status}), "
                f"{undo_status(run)}")
    return printable(f"{run.id}  {run.time}  {run.user}  {what}  holds {human_bytes(run.held_bytes())}")


def history_lines(runs: list[Run], source: str, keep_days: int, where: str) -> list[str]:
    if not runs:
        return [printable(f"No runs of ocitree on {source} in the history ({where}).")]
    held = sum(r.held_bytes() for r in runs)
    lines = [run_line(r) for r in runs]
    lines.append(printable(f"{len(runs)} run{'s' if len(runs) != 1 else ''}; saved data holds {human_bytes(held)} "
                           f"in {where}, kept {keep_days} days (undo_keep_days)"))
    return lines


def _digest(digest: str, short: bool) -> str:
    return short_digest(digest) if short else digest


def run_detail_lines(run: Run, short: bool = False) -> list[str]:
    """What a run deleted (or, for an undo, restored); `short` digests where the width is a screen's."""
    lines = [run_line(run)]
    if run.kind == "undo":
        for item in (run.result or {}).get("restored", []):
            lines.append(printable(f"  restored {item.get('repository')}@{_digest(str(item.get('digest')), short)}"
                                   f"{'  tags ' + ', '.join(item.get('tags') or []) if item.get('tags') else ''}"))
        return lines
    for saved in run.saved():
        verb = "rewrote" if saved.rewritten else "deleted"
        tags = f"  tags {', '.join(saved.tags)}" if saved.tags else "  untagged"
        lines.append(printable(f"  {verb} {saved.repository}@{_digest(saved.digest, short)}{tags}"))
    for failed in (run.result or {}).get("failed", []):
        lines.append(printable(f"  stopped: {failed.get('error')}"))
    return lines


def undo_plan_lines(plan: UndoPlan, short: bool = False) -> list[str]:
    n = len(plan.restore)
    lines = [printable(f"Undo run {plan.run.id} ({plan.run.time}, {plan.run.user}: {', '.join(plan.run.targets)}) "
                       f"on {plan.source}")]
    if plan.restore:
        lines.append(f"Restore {n} artifact{'s' if n != 1 else ''}, bottom-up, tags last:")
        for saved in plan.restore:
            tags = f"  tags {', '.join(saved.tags)}" if saved.tags else "  untagged"
            what = "rewritten back" if saved.rewritten else "restore"
            lines.append(printable(f"  {what} {saved.repository}@{_digest(saved.digest, short)}{tags}"))
    if plan.present:
        lines.append(printable(f"Already present (left alone): {len(plan.present)}"))
    for conflict in plan.conflicts:
        action = "moved back (--retag)" if plan.retag else "conflict"
        lines.append(printable(f"  {action}: {conflict.describe()}"))
    for missing in plan.missing:
        lines.append(printable(f"  missing: {missing.describe()}"))
    refusal = plan.refusal
    if refusal:
        lines.append(printable(refusal))
    return lines
