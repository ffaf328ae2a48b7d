"""The `ocitree` command line.

    ocitree [SOURCE]                       open the TUI (no SOURCE: the bundled demo registry)
    ocitree ls SOURCE [--json]             the tree
    ocitree plan SOURCE REF... [--json]    what deleting REF would do; changes nothing
    ocitree delete SOURCE REF... [--yes]   show the plan, ask, delete
    ocitree prune SOURCE [RULE...] [--yes] delete by rule (keep last N, older than, untagged, a Harbor policy)
    ocitree untag SOURCE REPO:TAG [--yes]  remove one tag, keep the manifest
    ocitree history SOURCE [--json] [--purge]   the runs ocitree executed on SOURCE
    ocitree undo SOURCE [RUN] [--yes] [--retag] restore what a run deleted
    ocitree demo [--reset]                 the demo working copy
    ocitree web [SOURCE]                   serve the TUI to a browser (extra: web)

Exit codes: 0 done; 1 operational failure; 2 bad input; 3 refused by the rules, nothing changed.
"""

from __future__ import annotations

import argparse
import errno
import os
import re
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from ocitree.core.config import MAX_TIMEOUT, Config, load_config
from ocitree.core.errors import BadInputError, OcitreeError, StalePlanError
from ocitree.core.paths import data_dir
from ocitree.core.printable import printable, printable_lines
from ocitree.core.names import short_digest
from ocitree.core.protection import parse_rules
from ocitree.core.sources import open_store
from ocitree.core.stores.options import SourceOptions
from ocitree.core.stores.base import LoadProgress, Store

if TYPE_CHECKING:
    from rich.console import Console

    from ocitree.core.plan import DeletionPlan, ExecutionResult

# `ls` imports neither Rich's console nor pydantic (a third of a short run): the modules that
# need them are imported where they are used.

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT, EXIT_REFUSED = 0, 1, 2, 3
SUBCOMMANDS = ("ls", "plan", "delete", "prune", "untag", "history", "undo", "demo", "web")
# A first argument that looks like a command word, not a file, directory or HOST[:PORT].
_COMMAND_WORD = re.compile(r"^[a-z][a-z0-9-]*\Z")


class _VersionAction(argparse.Action):
    """`--version`, reading the installed metadata only when asked (importlib.metadata is 20 ms
    of every command's start)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help="show the version and exit"):
        super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        import ocitree

        print(f"ocitree {ocitree.__version__}")  # to stdout, as argparse's own version action
        parser.exit()


def _check_command(word: str) -> None:
    """`ocitree frobnicate` is a mistyped command, not a missing file."""
    if _COMMAND_WORD.match(word) and word != "localhost" and not Path(word).exists():
        raise BadInputError(
            f"unknown command {word!r} (commands: {', '.join(SUBCOMMANDS)}; a SOURCE is a file, a directory "
            "or a registry URL; see 'ocitree --help')"
        )


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # usage errors are bad input: exit 2, one line
        raise BadInputError(f"{message} (see '{self.prog} --help')")


def say(err: Terminal, message: str) -> None:
    """One message on standard error. Messages carry source strings (tags, names, paths,
    registry text): made printable here, so none can drive the terminal or break the line."""
    err.print(printable(message), markup=False, highlight=False, emoji=False)


def _source_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("source options")
    g.add_argument("--read-only", action="store_true", help="never delete (the TUI shows a read-only badge)")
    g.add_argument("--keep-blobs", action="store_true", help="OCI layouts: leave config and layer blobs in place")
    g.add_argument("--insecure", action="store_true", help="registries: accept a self-signed TLS certificate")
    g.add_argument("--username", help="registries: user name (password from --password-stdin)")
    g.add_argument("--password-stdin", action="store_true", help="registries: read the password from standard input")
    g.add_argument("--concurrency", type=int, help="registries: parallel fetches (default 8, or 'concurrency' in the config file)")
    g.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="registries: how long one request may take in all (default 30, or 'timeout' in the config file)")
    g.add_argument("--api", metavar="URL", help="registry storage: delete through the registry serving it (auth options apply)")
    g.add_argument("--offline", action="store_true", help="registry storage: the registry is stopped; delete on disk")


def _protect_patterns(args: argparse.Namespace, config: Config) -> list[str]:
    """--protect patterns, then the config file's (the source's own join them in the planner);
    a bad pattern is bad input before any I/O."""
    parse_rules(args.protect)
    return [*args.protect, *config.protect]


def _protect_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--protect", action="append", default=[], metavar="PATTERN",
                   help="protect tags matching TAG_GLOB or REPOSITORY_GLOB:TAG_GLOB (repeatable)")


def build_parser() -> dict[str, argparse.ArgumentParser]:
    parsers: dict[str, argparse.ArgumentParser] = {}
    top = _Parser(prog="ocitree", description="Open a registry as a tree and delete with Harbor's reference rules.",
                  epilog="commands: ls, plan, delete, prune, untag, history, undo, demo, web (ocitree COMMAND --help). "
                         "Exit codes: 0 done, 1 operational failure, 2 bad input, 3 refused by the rules.")
    top.add_argument("--version", action=_VersionAction)
    top.add_argument("source", nargs="?", help="sample file, OCI layout directory, or registry URL (default: the demo registry)")
    _protect_option(top)
    _source_options(top)
    parsers[""] = top

    p = _Parser(prog="ocitree ls", description="Print the registry tree: indexes, children with platforms, shared markers, tags.")
    p.add_argument("source")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    _source_options(p)
    parsers["ls"] = p

    for name, what in (("plan", "Show what deleting REF would do. Changes nothing."),
                       ("delete", "Show the plan, ask on the terminal, then delete.")):
        p = _Parser(prog=f"ocitree {name}", description=what)
        p.add_argument("source")
        p.add_argument("refs", nargs="+", metavar="REF", help="repository:tag or repository@sha256:<hex>; several make one plan")
        _protect_option(p)
        p.add_argument("--json", action="store_true", help="print one JSON object (schema in the README)")
        if name == "delete":
            p.add_argument("--yes", "-y", action="store_true", help="do not ask (for scripts)")
        _source_options(p)
        parsers[name] = p

    from .prune_command import add_prune_parser

    parsers["prune"] = add_prune_parser(_Parser, _source_options, _protect_option)

    from .untag_command import add_untag_parser

    parsers["untag"] = add_untag_parser(_Parser, _source_options, _protect_option)
    from .history_command import add_history_parsers

    parsers.update(add_history_parsers(_Parser, _source_options))

    p = _Parser(prog="ocitree demo", description="The demo registry's working copy in your data directory.")
    p.add_argument("--reset", action="store_true", help="restore the working copy from the bundled demo")
    parsers["demo"] = p

    p = _Parser(prog="ocitree web", description="Serve the TUI to a browser (needs: pip install 'ocitree[web]').")
    p.add_argument("source", nargs="?")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1); any other needs the token printed at start")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--no-auth", action="store_true", help="no token on a non-loopback --host (anyone who can reach it can delete)")
    _protect_option(p)
    _source_options(p)
    parsers["web"] = p
    return parsers


def demo_copy(reset: bool = False) -> Path:
    """The user's working copy of the demo registry; sample_data/ is never modified."""
    from ocitree.sample_data import DEMO_PATH

    target = data_dir() / "demo.json"
    if reset or not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(DEMO_PATH, target)
    return target


def _options(args: argparse.Namespace, config) -> SourceOptions:
    password = None
    if getattr(args, "password_stdin", False):
        if not args.username:
            raise BadInputError("--password-stdin needs --username")
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise BadInputError("--password-stdin: standard input held no password")
    elif getattr(args, "username", None):
        raise BadInputError("--username needs --password-stdin (a password is never taken on the command line)")
    concurrency = getattr(args, "concurrency", None)
    if concurrency is None:  # 0 is a value given, and wrong
        concurrency = config.concurrency
    if not 1 <= concurrency <= 64:
        raise BadInputError("--concurrency takes a whole number from 1 to 64")
    timeout = getattr(args, "timeout", None)
    if timeout is None:
        timeout = config.timeout
    if not 0 < timeout <= MAX_TIMEOUT:  # NaN fails this too
        raise BadInputError(f"--timeout takes a number of seconds, more than 0 and at most {MAX_TIMEOUT}")
    return SourceOptions(
        read_only=getattr(args, "read_only", False),
        keep_blobs=getattr(args, "keep_blobs", False),
        insecure=getattr(args, "insecure", False),
        username=getattr(args, "username", None),
        password=password,
        concurrency=concurrency,
        timeout=timeout,
        api=getattr(args, "api", None),
        offline=getattr(args, "offline", False),
    )


class _LazyConsole:
    """A Rich Console made on first use: most runs print a listing or JSON and never need one."""

    def __init__(self, stderr: bool = False):
        self._stderr = stderr
        self._console: Console | None = None

    @property
    def file(self) -> TextIO:
        stream = sys.stderr if self._stderr else sys.stdout
        if stream is None:  # started with the descriptor closed (`ocitree ls SRC >&-`)
            raise OcitreeError(f"cannot write the output: standard {'error' if self._stderr else 'output'} is closed")
        return stream

    @property
    def is_terminal(self) -> bool:
        if self._console is None:
            try:
                return self.file.isatty()
            except (AttributeError, ValueError):
                return False
        return self._console.is_terminal

    @property
    def rich(self) -> Console:
        """The Console itself (where one is passed on, as to a progress bar)."""
        if self._console is None:
            from rich.console import Console

            # soft_wrap: long lines stay whole for grep and pipes; an error is one line, never wrapped
            self._console = Console(stderr=self._stderr, highlight=False, soft_wrap=True)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.rich, name)


if TYPE_CHECKING:
    # Where a command writes: a Rich Console, or the stand-in main() passes, which makes one on first use.
    Terminal = Console | _LazyConsole


def _load(store: Store, err: Terminal):
    """Load with a progress bar on a terminal's stderr; silent when piped."""
    if not err.is_terminal:
        return store.load()
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    console = err.rich if isinstance(err, _LazyConsole) else err
    with Progress(TextColumn("loading {task.description}"), BarColumn(), MofNCompleteColumn(), console=console, transient=True) as bar:
        task = bar.add_task(escape(printable(store.source)), total=None)  # the column reads markup

        def report(p: LoadProgress) -> None:
            bar.update(task, completed=p.done, total=p.total)

        return store.load(report)


def _print_json(out: Terminal, doc: dict) -> None:
    from .json_text import write_json

    write_json(out.file, doc)


def _result_json(plan: DeletionPlan, result: ExecutionResult | None) -> dict:
    doc = plan.to_json_dict()
    if result is None:
        doc.update(completed=False, deleted=[], failed=[], not_done=[], rewritten=[])
    else:
        doc.update(completed=result.completed, deleted=[d.model_dump() for d in result.deleted],
                   failed=[f.model_dump() for f in result.failed], not_done=[n.model_dump() for n in result.not_done],
                   rewritten=[r.model_dump() for r in result.rewritten])
    return doc


def _confirm(plan: DeletionPlan, err: Terminal) -> bool:
    n = len(plan.delete)
    return _ask(f"Delete {n} artifact{'s' if n != 1 else ''}? [y/N] ", err, "deleting", "delete")


def _ask(question: str, err: Terminal, doing: str = "deleting", verb: str = "delete") -> bool:
    """A yes/no question on the terminal; standard input that is not one needs --yes instead."""
    if not sys.stdin.isatty():
        raise BadInputError(f"not {doing} without confirmation: standard input is not a terminal; "
                            f"pass --yes to {verb} from a script")
    err.print(question, end="", markup=False)
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


def cmd_ls(args, out: Terminal, err: Terminal) -> int:
    from ocitree.core.interrupted import unfinished_notes

    from .json_text import write_json
    from .ls_output import registry_json, write_registry

    config = load_config()
    store = open_store(args.source, _options(args, config))
    try:
        if args.json and not err.is_terminal:  # a progress bar is drawn by one process
            from .ls_in_two import write_json_in_two

            left = write_json_in_two(store, out.file)
            if left is not None:
                _LEFT_FOR_EXIT[:] = left
                return EXIT_OK
        registry = _load(store, err)
    finally:
        store.close()
    for note in unfinished_notes(registry):
        say(err, f"ocitree: {note}")
    try:
        if args.json:
            from ocitree.core.gc_pause import gc_paused

            with gc_paused():  # tens of thousands of dicts, no cycles: the collector's passes were 60% of building them
                doc = registry_json(registry)
            write_json(out.file, doc)
            _LEFT_FOR_EXIT[:] = [registry, doc]  # printed: the process may end without freeing them (run)
        else:  # on a terminal, lines wider than it end in an ellipsis; in a pipe they are never cut
            write_registry(registry, out.file, width=_terminal_width(out.file))
            _LEFT_FOR_EXIT[:] = [registry]
    except RecursionError:
        # The tree is printed depth first; a crafted chain of thousands of nested indexes is deeper
        # than Python's stack. The TUI (which opens one level at a time) and `plan` still work.
        from ocitree.core.errors import MalformedDataError

        raise MalformedDataError(f"{args.source}: indexes nested too deeply to print as a tree "
                                 "(thousands of levels); open it in the TUI or use 'ocitree plan'") from None
    return EXIT_OK


def _terminal_width(stream) -> int | None:
    try:
        if not stream.isatty():
            return None
    except (AttributeError, ValueError):
        return None
    return shutil.get_terminal_size().columns


def cmd_plan_or_delete(args, out: Terminal, err: Terminal, deleting: bool) -> int:
    from ocitree.core.executor import execute_plan
    from ocitree.core.interrupted import resolve_targets_resuming
    from ocitree.core.planner import plan_deletion

    from .plan_text import render_plan, render_result

    config = load_config()
    protect = _protect_patterns(args, config)
    options = _options(args, config)
    if deleting:
        store = _open_to_change(args.source, options, "--read-only: nothing to delete; use 'ocitree plan' to preview",
                                "nothing was deleted")
    else:
        store = open_store(args.source, options)
    try:
        registry = _load(store, err)
        targets, resumed, notes = resolve_targets_resuming(registry, args.refs)
        for note in notes:
            say(err, f"ocitree: {note}")
        plan = plan_deletion(registry, targets, protect, resumed)
        if not deleting or not plan.allowed:
            if args.json:
                _print_json(out, _result_json(plan, None) if deleting else plan.to_json_dict())
            else:
                out.print(render_plan(plan, store.blob_reclaim))
            return EXIT_OK if plan.allowed else EXIT_REFUSED
        return _confirm_and_execute(plan, store, args, out, err, config)
    finally:
        store.close()


def _open_to_change(source: str, options: SourceOptions, read_only: str, outcome: str) -> Store:
    """The source a command changes (delete, untag, undo): with --read-only it says
    `read_only` before opening anything; registry storage without --api or --offline is refused
    before any I/O, ending with `outcome`."""
    if options.read_only:
        raise BadInputError(read_only)
    store = open_store(source, options)
    _refuse_storage_without_mode(store, source, outcome)
    return store


def _refuse_storage_without_mode(store: Store, source: str, outcome: str) -> None:
    """Registry storage opened without --api or --offline cannot be written: say how, before any I/O."""
    reason = getattr(store, "read_only_reason", None)
    if reason:
        store.close()
        from ocitree.core.stores.registry_storage.store import DELETE_HOW

        raise BadInputError(f"{source}: read-only ({reason}): {DELETE_HOW}; {outcome}")


def _confirm_and_execute(plan: DeletionPlan, store, args, out: Terminal, err: Terminal, config, render=None) -> int:
    """Show an allowed plan, ask (unless --yes), execute, report: delete and prune alike."""
    from ocitree.core.executor import execute_plan

    from .plan_text import render_plan, render_result

    render = render or (lambda p: render_plan(p, store.blob_reclaim))
    if not args.json:
        out.print(render(plan))
    # Nothing left to delete (a resumed REF): running still finishes the store's own leftovers.
    if plan.delete and not args.yes and not _confirm(plan, err):
        say(err, "Cancelled; nothing was deleted.")
        return EXIT_OK
    progress = None
    if err.is_terminal and not args.json:
        def progress(done, total, ref):
            say(err, f"  deleted {done}/{total} {ref.repository}@{short_digest(ref.digest)}")
    try:
        result = execute_plan(plan, store, progress, audit_log=config.audit_log)
    except StalePlanError as exc:
        say(err, f"ocitree: {exc}")
        if exc.new_plan is not None:
            if args.json:
                _print_json(out, _result_json(exc.new_plan, None))
            else:
                out.print(render(exc.new_plan))
        return EXIT_REFUSED
    if result.audit_log is None:
        say(err, f"ocitree: warning: could not append to the audit log {config.audit_log}")
    if args.json:
        _print_json(out, _result_json(plan, result))
    else:
        out.print(render_result(result))
    return EXIT_OK if result.completed else EXIT_FAILURE


def cmd_prune(args, out: Terminal, err: Terminal) -> int:
    from rich.console import Group

    from .plan_text import render_plan
    from .prune_command import check_args, prune_plan, prune_title, render_retained

    config = load_config()
    protect = _protect_patterns(args, config)
    check_args(args)
    options = _options(args, config)
    if args.dry_run and args.yes:
        raise BadInputError("--dry-run and --yes contradict each other: choose one")
    store = open_store(args.source, options)
    try:
        registry = _load(store, err)
        plan, notes = prune_plan(registry, args, protect)
        for note in notes:
            say(err, f"ocitree: {note}")
        plan.retained.sort(key=lambda r: (r.repository, r.digest))
        if args.untagged and not store.sees_untagged:
            say(err, "ocitree: note: a live registry lists manifests only through tags and indexes; untagged "
                     "manifests that no index lists are invisible here, so --untagged cannot find them")

        def render(p: DeletionPlan):
            return Group(render_plan(p, store.blob_reclaim, title=prune_title(p)), render_retained(plan))

        if not plan.delete or options.read_only or args.dry_run or getattr(store, "read_only_reason", None):
            if args.json:
                _print_json(out, _result_json(plan, None))
            else:
                out.print(render(plan))
                if not plan.delete:
                    say(err, "Nothing to prune: no candidate is left to delete.")
            return EXIT_OK
        return _confirm_and_execute(plan, store, args, out, err, config, render)
    finally:
        store.close()


def cmd_untag(args, out: Terminal, err: Terminal) -> int:
    from ocitree.core.errors import StoreError
    from ocitree.core.untag import execute_untag, parse_tag_reference, plan_untag

    from .untag_command import render_untag, untag_json

    config = load_config()
    protect = _protect_patterns(args, config)
    ref = parse_tag_reference(args.ref)
    store = _open_to_change(args.source, _options(args, config), "--read-only: nothing to untag; 'ocitree ls' shows the tags",
                            "nothing was untagged")
    try:
        plan = plan_untag(_load(store, err), ref.repository, ref.tag or "", protect)
        if not plan.allowed:
            if args.json:
                _print_json(out, untag_json(plan, None))
            else:
                say(err, f"ocitree: {plan.refusal_text()}")
            return EXIT_REFUSED
        refusal = store.untag_refusal(plan.repository)
        if refusal is not None:
            raise StoreError(refusal)
        if not args.json:
            out.print(render_untag(plan, store.sees_untagged))
        if not args.yes and not _ask(printable(f"Remove the tag {plan.reference}? [y/N] "), err, "untagging", "untag"):
            say(err, "Cancelled; nothing was untagged.")
            return EXIT_OK
        try:
            result = execute_untag(plan, store, audit_log=config.audit_log)
        except StalePlanError as exc:
            say(err, f"ocitree: {exc}")
            return EXIT_REFUSED
        if result.audit_log is None:
            say(err, f"ocitree: warning: could not append to the audit log {config.audit_log}")
        if args.json:
            _print_json(out, untag_json(plan, result))
        else:
            say(out, f"Untagged {plan.reference}; the manifest {short_digest(plan.digest)} stays.")
        return EXIT_OK
    finally:
        store.close()


def cmd_undo(args, out: Terminal, err: Terminal) -> int:
    from .history_command import cmd_undo as undo

    config = load_config()
    store = _open_to_change(args.source, _options(args, config), "--read-only: nothing can be restored",
                            "nothing was restored")
    try:
        return undo(args, out, err, store, lambda question: _ask(question, err, "restoring", "restore"),
                    config.audit_log)
    finally:
        store.close()


def cmd_demo(args, out: Terminal, err: Terminal) -> int:
    path = demo_copy(reset=args.reset)
    out.print(printable(f"{'Restored' if args.reset else 'Demo working copy:'} {path}"), markup=False, highlight=False)
    return EXIT_OK


def _app_args(args: argparse.Namespace) -> list[str]:
    """The TUI's own arguments out of `ocitree web`'s, rebuilt from what was parsed
    (filtering argv by value would also drop a `--concurrency 8` after `--port 8`)."""
    app_args = [args.source] if args.source else []
    for pattern in args.protect:
        app_args += ["--protect", pattern]
    for flag in ("read_only", "keep_blobs", "insecure", "password_stdin", "offline"):
        if getattr(args, flag):
            app_args.append("--" + flag.replace("_", "-"))
    if args.username:
        app_args += ["--username", args.username]
    if args.concurrency is not None:
        app_args += ["--concurrency", str(args.concurrency)]
    if args.timeout is not None:
        app_args += ["--timeout", repr(args.timeout)]
    if args.api:
        app_args += ["--api", args.api]
    return app_args


def cmd_web(args) -> int:
    try:
        from .web import serve
    except ImportError:
        raise BadInputError("ocitree web needs textual-serve: pip install 'ocitree[web]'") from None
    serve(_app_args(args), host=args.host, port=args.port, no_auth=args.no_auth)
    return EXIT_OK


def keys_from_the_terminal() -> None:
    """The TUI reads its keys from standard input. When that is not a terminal (it gave the
    password to --password-stdin, or it is a pipe), the keys come from the controlling terminal:
    /dev/tty takes over file descriptor 0. With no terminal at all, the TUI cannot run."""
    if os.environ.get("TEXTUAL_DRIVER"):
        return  # another driver brings the keys (ocitree web: the browser, through a pipe)
    if sys.__stdin__ is not None and sys.__stdin__.isatty():
        return
    try:
        tty = os.open("/dev/tty", os.O_RDWR)
    except OSError:
        raise BadInputError("the TUI needs a terminal for its keys, and neither standard input nor /dev/tty is one: "
                            "run it in a terminal, or use 'ocitree ls', 'plan' or 'delete' from scripts") from None
    os.dup2(tty, 0)
    os.close(tty)


def cmd_tui(args) -> int:
    config = load_config()
    protect = _protect_patterns(args, config)
    source = args.source or str(demo_copy())
    store = open_store(source, _options(args, config))  # the password comes from standard input first
    from ocitree.core.gc_pause import gc_paused

    with gc_paused():  # its objects all live as long as the app: collections while importing found nothing
        from .app import OcitreeApp  # Textual loads only when the TUI is wanted
    from .web import watch_parent_when_served

    watch_parent_when_served()

    try:
        keys_from_the_terminal()
        app = OcitreeApp(store, read_only=args.read_only, protect=protect, audit_log=config.audit_log)
        app.run()
    except BaseException:
        store.close()
        raise
    code = app.return_code or EXIT_OK
    if app.main_screen.deleting:  # never cut a deletion short (the app does not quit during one)
        store.close()
        return code
    from .process_exit import end_unless_idle

    end_unless_idle(code, store.close)  # a load may still wait on a stalled source: nobody needs it now
    return code


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    out = _LazyConsole()
    err = _LazyConsole(stderr=True)
    try:
        parsers = build_parser()
        command = argv[0] if argv and argv[0] in SUBCOMMANDS else ""
        rest = argv[1:] if command else argv
        if not command and argv and not argv[0].startswith("-"):
            _check_command(argv[0])
        args = parsers[command].parse_args(rest)
        if command == "ls":
            return cmd_ls(args, out, err)
        if command in ("plan", "delete"):
            return cmd_plan_or_delete(args, out, err, deleting=command == "delete")
        if command == "prune":
            return cmd_prune(args, out, err)
        if command == "untag":
            return cmd_untag(args, out, err)
        if command == "history":
            from .history_command import cmd_history

            return cmd_history(args, out, err)
        if command == "undo":
            return cmd_undo(args, out, err)
        if command == "demo":
            return cmd_demo(args, out, err)
        if command == "web":
            return cmd_web(args)
        return cmd_tui(args)
    except OcitreeError as exc:
        say(err, f"ocitree: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        say(err, "ocitree: interrupted")
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:
        if not _output_failed(exc):
            return _internal_error(err, exc)
        remedy = "check the device it goes to" if exc.errno == errno.EIO else "free space or write it elsewhere"
        say(err, f"ocitree: cannot write the output: {exc.strerror}; {remedy}")
        return EXIT_FAILURE
    except Exception as exc:
        return _internal_error(err, exc)


# A write to a file or descriptor that cannot take it. Stores and the audit log word their own I/O
# errors (StoreError) with the path; an OSError without a file name left for main() is the output's.
_OUTPUT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})


def _output_failed(exc: OSError) -> bool:
    return exc.filename is None and exc.errno in _OUTPUT_ERRNOS


def _internal_error(err: Terminal, exc: BaseException) -> int:
    """A bug: its traceback (which quotes source strings) made printable, and one line saying so."""
    import traceback

    err.file.write(printable_lines("".join(traceback.format_exception(exc))) + "\n")
    say(err, f"ocitree: internal error ({type(exc).__name__}): this is a bug; please report it with the lines above")
    return EXIT_FAILURE


# What the process may end without freeing: the registry `ls` printed. Freeing 25,000 manifests'
# objects one by one was 60-90 ms of `ocitree ls` (issue 10); `run` ends the process instead.
_LEFT_FOR_EXIT: list[object] = []


def run() -> None:
    """The `ocitree` script: main(), then the end of the process, without freeing what a
    finished command left in _LEFT_FOR_EXIT (its output flushed first; ls holds no other state)."""
    code = main()
    if _LEFT_FOR_EXIT:
        from .process_exit import end_now

        end_now(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
