"""What the background loops (outbox relay, consumers, periodic jobs) need to stop when
they are told to: shutdown cancels them and waits, and a loop that outlives its shutdown
keeps the process (or, in the tests, a closed event loop) holding a suspended database
call."""

from __future__ import annotations

import asyncio
import contextlib


async def woken(event: asyncio.Event, timeout: float) -> bool:
    """Wait until `event` is set or `timeout` seconds pass; True if it was set.

    Not `asyncio.wait_for`: on Python 3.11 it returns normally when the task is cancelled
    in the same turn of the loop in which the event is set (it sees the inner wait done and
    drops the cancellation), and the loop around it goes on."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await event.wait()
    return event.is_set()


def cancelling() -> bool:
    """Whether the running task has been asked to stop.

    A cancellation that lands inside a driver call can come out as the driver's own error
    (aiosqlite: the interrupted connection is closed, and the rollback on the way out raises
    OperationalError). A loop that survives any error asks this first, or it takes its own
    shutdown for a passing fault and goes round again."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def stop_if_cancelled(error: BaseException) -> None:
    """In a loop's catch-all: raise CancelledError (from `error`) if the task is stopping."""
    if cancelling():
        raise asyncio.CancelledError from error
