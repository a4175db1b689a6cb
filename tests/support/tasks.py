"""Tasks that outlive their test.

pytest-asyncio closes each test's event loop without cancelling what still runs on it. A
task left there is collected later, during some other test; if it was suspended inside an
SQLAlchemy greenlet (a relay or consumer between statements), closing it raises into
whatever greenlet that other test is running: a GeneratorExit far from its cause, and an
aiosqlite worker thread that keeps the interpreter from exiting. So each test ends by
stopping what it left, and fails if any of it is the project's own code."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.support.servers import ROOT

# Library code is excluded by location: the virtual environment sits inside the checkout.
_OURS = [ROOT / d for d in ("shared", "services", "tests", "bench")]


def _runs_our_code(task: asyncio.Task) -> bool:
    code = getattr(task.get_coro(), "cr_code", None)
    if code is None:
        return False
    path = Path(code.co_filename)
    return any(path.is_relative_to(d) for d in _OURS)


async def stop_leftovers(*, timeout: float = 10.0) -> list[str]:
    """Cancel every task but the caller's and wait for them; name the project's own."""
    me = asyncio.current_task()
    left = [t for t in asyncio.all_tasks() if t is not me and not t.done()]
    if not left:
        return []
    for task in left:
        task.cancel()
    await asyncio.wait(left, timeout=timeout)
    return [f"{t.get_coro().__qualname__} ({'cancelled' if t.done() else 'would not stop'})"
            for t in left if _runs_our_code(t)]


async def stops_when_cancelled(task: asyncio.Task, *, timeout: float = 10.0) -> bool:
    """Cancel `task` once, as a shutdown does; whether it ended cancelled within `timeout`.
    (One that did not stop is left to the fixture above, which cancels it again.)"""
    task.cancel()
    await asyncio.wait([task], timeout=timeout)
    return task.cancelled()
