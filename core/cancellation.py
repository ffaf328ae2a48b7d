"""Giving up a plan nobody waits for any more (the TUI's Esc while it is worked out).

A prune's plan at a million artifacts takes seconds of a worker thread; once cancelled, that
thread would go on holding the CPU (and the interpreter lock the UI thread needs) until the
end. The planner looks at a flag between steps and raises PlanCancelled instead. Nothing is
undone: planning changes nothing. The flag is set for a thread by a scope, so the planner's
functions need no extra parameter, and plans made outside a scope (the command line, tests)
are never stopped.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class PlanCancelled(Exception):
    """The plan being worked out on this thread was cancelled: it is no longer wanted."""


_scope = threading.local()


@contextmanager
def stopped_by(flag: threading.Event) -> Iterator[None]:
    """Within this scope, on this thread, the planner stops once `flag` is set."""
    previous = getattr(_scope, "flag", None)
    _scope.flag = flag
    try:
        yield
    finally:
        _scope.flag = previous


def stop_flag() -> threading.Event | None:
    """The flag of this thread's scope, for a loop that looks at it every so many steps."""
    return getattr(_scope, "flag", None)


def raise_if_stopped() -> None:
    """PlanCancelled when this thread's plan was cancelled."""
    flag = stop_flag()
    if flag is not None and flag.is_set():
        raise PlanCancelled()
