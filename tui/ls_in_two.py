"""`ocitree ls --json` of a large root of layouts in two processes, each listing a part of the root.

Reading and checking every manifest is most of a listing, and a run of layouts that holds every
layout reaching its blob directories needs nothing of the others (core.stores.layout_split): so
this process takes runs from the front and a second one from the back, one at a time, until they
meet (tui.two_ended_claims: one slowed by another program on its CPU takes fewer). The document
written is byte for byte the one a single process writes: json_in_parts joins the parts' lists.

The second process writes its part after this one's, when told to. Whatever fails before anything
is written (a damaged layout, indexes nested too deeply, the second process ending) makes the
listing start over in one process: errors are then exactly, and in the order, those of a listing
in one process. Used only where that pays and is safe: Linux, two CPUs this process may use, no
other thread (a fork copies only the one that calls it), SIGCHLD not ignored, stdout a file
descriptor, no progress bar, no interrupted run to note (notes come from the whole registry), a
root large enough.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import threading
from typing import IO, NoReturn

from ocitree.core.errors import OcitreeError, StoreError
from ocitree.core.gc_pause import gc_paused
from ocitree.core.interrupted import InterruptedRuns
from ocitree.core.model import Registry, Repository
from ocitree.core.stores.base import Store
from ocitree.core.stores.layout import LayoutStore
from ocitree.core.stores.layout_sharing import BlobListings
from ocitree.core.stores.layout_split import independent_runs, root_work

from .json_text import ITEM_SEPARATOR, json_in_parts, write_bytes
from .ls_output import registry_json
from .two_ended_claims import TwoEndedClaims

# Bytes of index.json below which a listing is left to one process: a small root gains a few
# milliseconds at most (a root of 25,000 manifests has 560 KiB and lists in 0.40 s instead of 0.70).
MIN_WORK = 128 * 1024

# What the second process tells this one, a byte: its part is ready; it took none. And back: write it.
_READY, _NONE = b"R", b"N"
_WRITE = b"W"


def write_json_in_two(store: Store, out: IO[str]) -> list[object] | None:
    """Write the listing of `store` to `out` in two processes where that pays and is safe; returns
    what the process may end without freeing (tui.cli._LEFT_FOR_EXIT). None when it wrote nothing:
    the caller lists in one process."""
    if not isinstance(store, LayoutStore):
        return None
    listings = BlobListings()  # listed to cut the root, then read by the loads (a fork inherits them)
    runs = _runs_to_list(store, out, listings)
    return _write_in_two(store, runs, listings, out) if runs is not None else None


def _runs_to_list(store: LayoutStore, out: IO[str], listings: BlobListings) -> list[list[str]] | None:
    """The runs of `store` to list in two processes, or None where a listing in one is due."""
    if sys.platform != "linux" or not hasattr(os, "memfd_create") or not _only_thread():
        return None
    if signal.getsignal(signal.SIGCHLD) != signal.SIG_DFL:  # ignored, a child is reaped unseen: its end says nothing
        return None
    if len(os.sched_getaffinity(0)) < 2 or root_work(store.layouts) < MIN_WORK:
        return None
    try:
        out.fileno()
    except (AttributeError, ValueError, OSError):  # io.UnsupportedOperation is both of the last two
        return None
    if InterruptedRuns().recorded(store.source):
        return None
    runs = independent_runs(store.layouts, listings)
    return runs if len(runs) > 1 else None


def _only_thread() -> bool:
    """A fork copies only the thread that calls it: a lock another holds would never be let go."""
    return threading.active_count() == 1


def _write_in_two(store: LayoutStore, runs: list[list[str]], listings: BlobListings, out: IO[str]) -> list[object] | None:
    """The runs this process takes listed here, the others by a child process. None when nothing
    was written (the child failed, or this process did)."""
    claims = TwoEndedClaims(len(runs))
    first = claims.take(from_front=True)  # before the child starts: this process's part, whose head it writes, is never empty
    out.flush()
    sys.stderr.flush()  # a child would write a copy of what a buffer holds
    status_r, status_w = os.pipe()
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(status_r)
        os.close(go_w)
        _list_from_the_back(store, runs, listings, claims, out, status_w, go_r)
    os.close(status_w)
    os.close(go_r)
    reaped = False
    try:
        try:
            registry = _load_taken(store, runs, listings, claims, True, first)
            with gc_paused():  # tens of thousands of dicts, no cycles
                doc = registry_json(registry)
            head, mine, tail = json_in_parts(doc, "repositories")
        except (OcitreeError, RecursionError):
            return None
        status = os.read(status_r, 1)
        if status == _NONE:  # this process took every run: its document is the whole
            write_bytes(out, head, mine, tail, b"\n")
            return [registry, doc]
        if status != _READY:
            return None
        write_bytes(out, head, mine)
        os.write(go_w, _WRITE)
        _, wait_status = os.waitpid(pid, 0)
        reaped = True
        code = os.waitstatus_to_exitcode(wait_status)
        if code < 0:
            raise StoreError(f"the listing is cut short: the process writing its second part was ended (signal {-code})")
        if code:  # the child could not write its part: as if this process had failed to
            raise BrokenPipeError(code, os.strerror(code)) if code == errno.EPIPE else OSError(code, os.strerror(code))
        write_bytes(out, tail, b"\n")
        return [registry, doc]
    finally:
        os.close(status_r)
        os.close(go_w)  # a child still waiting to be told reads the end and exits
        claims.close()
        if not reaped:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)


def _load_taken(store: LayoutStore, runs: list[list[str]], listings: BlobListings, claims: TwoEndedClaims,
                from_front: bool, first: int | None) -> Registry:
    """The registry of the runs this process takes (`first` already taken); its blob scope is no
    one's: a listing does not use it."""
    repositories: list[Repository] = []
    taken = first if first is not None else claims.take(from_front)
    while taken is not None:
        repositories.extend(store.load_part(runs[taken], listings=listings).repositories.values())
        taken = claims.take(from_front)
    return Registry(store.source, repositories)


def _list_from_the_back(store: LayoutStore, runs: list[list[str]], listings: BlobListings, claims: TwoEndedClaims,
                        out: IO[str], status_w: int, go_r: int) -> NoReturn:
    """The child: list the runs it takes, say when its part is ready, write it when told. It never
    prints: any error is found again, and said, by the listing in one process. Exit code: 0, or
    the errno of a failed write."""
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C: the parent reports it
        registry = _load_taken(store, runs, listings, claims, False, None)
        if not registry.repositories:
            os.write(status_w, _NONE)
            os._exit(0)
        with gc_paused():
            doc = registry_json(registry)
        _, part, _ = json_in_parts(doc, "repositories")
        os.write(status_w, _READY)
        if os.read(go_r, 1) == _WRITE:
            try:
                write_bytes(out, ITEM_SEPARATOR, part)
                code = 0
            except OSError as exc:
                code = exc.errno or errno.EIO
    except BaseException:  # noqa: BLE001 (whatever it was, the parent lists this part itself)
        pass
    os._exit(code)
