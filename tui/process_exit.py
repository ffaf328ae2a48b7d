"""Ending the process promptly once the TUI has quit.

Quitting while a load was stuck restored the screen and then left the process waiting for
minutes: interpreter shutdown joins every worker thread, and a thread blocked on a stalled
registry ends only at its deadline. Once the app has quit, nothing a load or a preview is
still doing matters, so when such work remains the process ends at once, skipping the
interpreter's shutdown (which takes most of a second on a busy machine by itself). A deletion
in flight is not covered: the app does not quit during one, and the caller does not come here.

`ocitree ls` ends the same way once its output is out (tui.cli.run): freeing the registry object
by object would only add to what the user waits for.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable

GRACE = 0.5  # seconds `cleanup` may take before the process ends anyway


def end_now(exit_code: int) -> None:
    """Flush what was written, then end without the interpreter's shutdown."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(exit_code)


def end_unless_idle(exit_code: int, cleanup: Callable[[], None], grace: float = GRACE) -> None:
    """Run `cleanup` (closing the store wakes most waiting threads); then, if any other thread
    is still alive, end the process now with `exit_code`. Returns only when nothing else runs."""
    timer = threading.Timer(grace, end_now, (exit_code,))  # cleanup itself may be what is stuck
    timer.daemon = True
    timer.start()
    try:
        cleanup()
    finally:
        timer.cancel()
    me = threading.current_thread()
    if any(t is not me and t is not timer and t.is_alive() for t in threading.enumerate()):
        end_now(exit_code)
