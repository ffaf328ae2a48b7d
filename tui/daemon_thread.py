"""Awaiting blocking work that quitting must not wait for.

Textual's thread workers run in asyncio's default executor, and asyncio waits for that
executor's threads when the app's loop closes: a load stuck on a stalled registry would keep
the process alive after `q` until its deadline. A daemon thread is not waited for.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TypeVar, cast

T = TypeVar("T")


async def in_daemon_thread(fn: Callable[[], T], name: str) -> T:
    """fn() on a new daemon thread; its result or exception, once it has one."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(outcome: tuple[bool, object]) -> None:
        if future.done():  # the awaiting task was cancelled
            return
        ok, value = outcome
        if ok:
            future.set_result(cast(T, value))
        else:
            future.set_exception(cast(BaseException, value))

    def run() -> None:
        outcome: tuple[bool, object]  # (True, fn's result) or (False, what it raised)
        try:
            outcome = (True, fn())
        except BaseException as exc:  # handed to the awaiting task, which decides
            outcome = (False, exc)
        try:
            loop.call_soon_threadsafe(settle, outcome)
        except RuntimeError:  # the loop has closed: the app ended and nobody is waiting
            pass

    threading.Thread(target=run, name=name, daemon=True).start()
    return await future
