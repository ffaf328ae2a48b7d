"""`ocitree history` and `ocitree undo`: the runs ocitree executed on a SOURCE, and putting one back.

Engine and Rich are imported where used, as for the other commands."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .json_text import write_json

if TYPE_CHECKING:
    from ocitree.core.stores.base import Store

    from .cli import Terminal as Console

EXIT_OK, EXIT_FAILURE, EXIT_REFUSED = 0, 1, 3


def add_history_parsers(parser_class: type[argparse.ArgumentParser],
                        source_options: Callable[[argparse.ArgumentParser], None]) -> dict[str, argparse.ArgumentParser]:
    history = parser_class(prog="ocitree history",
                           description="The runs ocitree executed on SOURCE, newest first, and what their saved "
                                       "data holds.")
    history.add_argument("source")
    history.add_argument("--json", action="store_true", help="print one JSON object")
    history.add_argument("--purge", action="store_true",
                         help="remove the saved data of every run on SOURCE (they can no longer be undone)")
    history.add_argument("--run", metavar="RUN", help="show what run RUN deleted")
    undo = parser_class(prog="ocitree undo",
                        description="Restore what a run deleted (default: the newest not yet undone): the same "
                                    "manifests, digests and tags. Shows the plan and asks, like delete.")
    undo.add_argument("source")
    undo.add_argument("run", nargs="?", metavar="RUN", help="a run id from 'ocitree history' (a unique prefix will do)")
    undo.add_argument("--json", action="store_true", help="print one JSON object")
    undo.add_argument("--yes", "-y", action="store_true", help="do not ask (for scripts)")
    undo.add_argument("--retag", action="store_true",
                      help="move tags that now name another artifact back to the restored one")
    source_options(undo)
    return {"history": history, "undo": undo}


def _print_json(out: Console, doc: dict[str, Any]) -> None:
    write_json(out.file, doc)


def _print_lines(out: Console, lines: list[str]) -> None:
    for line in lines:  # already made printable
        out.file.write(line + "\n")
    out.file.flush()


def _source_name(source: str) -> str:
    """The source as a store names it (a registry URL without its trailing slash), without opening it."""
    from ocitree.core.sources import open_store
    from ocitree.core.stores.options import SourceOptions

    try:
        store = open_store(source, SourceOptions(read_only=True))
    except Exception:  # gone, or unreadable: its history is still readable by the name given
        return source
    try:
        return store.source
    finally:
        store.close()


def cmd_history(args: argparse.Namespace, out: Console, err: Console) -> int:
    from ocitree.core.config import load_config
    from ocitree.core.undo.saved import RunBook

    from .history_text import history_lines, run_detail_lines

    config = load_config()
    book = RunBook()
    book.expire(config.undo_keep_days)
    source = _source_name(args.source)
    if args.purge:
        held = 0
        runs = book.runs(source)
        held = sum(r.held_bytes() for r in runs)
        book.purge(source)
        if args.json:
            _print_json(out, {"source": source, "purged": [r.id for r in runs], "freed_bytes": held})
        else:
            from ocitree.core.sizes import human_bytes

            _print_lines(out, [f"Removed the saved data of {len(runs)} run{'s' if len(runs) != 1 else ''} "
                               f"({human_bytes(held)}); they can no longer be undone."])
        return EXIT_OK
    if args.run:
        from ocitree.core.errors import BadInputError

        run = book.find(source, args.run)
        if run is None:
            raise BadInputError(f"no run {args.run!r} of {args.source} in the history")
        if args.json:
            _print_json(out, {**run.to_json(), "saved": [_saved_json(s) for s in run.saved()],
                              "result": run.result})
        else:
            _print_lines(out, run_detail_lines(run))
        return EXIT_OK
    runs = book.runs(source)
    if args.json:
        _print_json(out, {"source": source, "where": str(book.root), "undo_keep_days": config.undo_keep_days,
                          "held_bytes": sum(r.held_bytes() for r in runs), "runs": [r.to_json() for r in runs]})
    else:
        _print_lines(out, history_lines(runs, source, config.undo_keep_days, str(book.root)))
    return EXIT_OK


def _saved_json(saved: Any) -> dict[str, Any]:
    return {"repository": saved.repository, "digest": saved.digest, "media_type": saved.media_type,
            "tags": saved.tags, "rewritten": saved.rewritten}


def cmd_undo(args: argparse.Namespace, out: Console, err: Console, store: Store,
             confirm: Callable[[str], bool], audit_log: Any) -> int:
    """Plan, show, ask (unless --yes), restore. `confirm` is the command line's own."""
    from ocitree.core.errors import OcitreeError
    from ocitree.core.undo.restore import choose_run, execute_undo, plan_undo, read_touched
    from ocitree.core.undo.saved import RunBook

    from .history_text import undo_plan_lines

    book = RunBook()
    run = choose_run(book, store.source, args.run)
    current = read_touched(run, store)  # only the repositories the run changed: a few artifacts need no whole registry
    plan = plan_undo(run, store, current, retag=args.retag)
    if not plan.allowed:
        if args.json:
            _print_json(out, {**plan.to_json(), "completed": False, "restored": []})
        else:
            _print_lines(out, undo_plan_lines(plan))
        return EXIT_REFUSED if plan.restore or not plan.undoable else EXIT_OK
    if not args.json:
        _print_lines(out, undo_plan_lines(plan))
    n = len(plan.restore)
    if not args.yes and not confirm(f"Restore {n} artifact{'s' if n != 1 else ''}? [y/N] "):
        err.print("Cancelled; nothing was restored.", markup=False, highlight=False)
        return EXIT_OK
    try:
        undo_run = execute_undo(plan, store, audit_log=audit_log, book=book)
    except OcitreeError as exc:
        if args.json:
            _print_json(out, {**plan.to_json(), "completed": False, "restored": [], "error": str(exc)})
        raise
    if args.json:
        _print_json(out, {**plan.to_json(), "completed": True, "undo_run": undo_run.id,
                          "restored": [_saved_json(s) for s in plan.restore]})
    else:
        _print_lines(out, [f"Restored {n} artifact{'s' if n != 1 else ''} (undo run {undo_run.id})."])
    return EXIT_OK
