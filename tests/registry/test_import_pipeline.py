"""The import prepares the next batch on the event loop in slices while the current batch is
with the database: the slices give the loop its turns, the batches are the same as prepared
at once, a file that turns unreadable midway fails after the batches before it, and a
cancelled import leaves no task of its own behind."""

import asyncio
import contextlib
import datetime as dt
import io

import pytest

from services.registry.api.imports import batch_unit
from services.registry.domain import imports
from services.registry.domain.import_rows import RowParser, households
from services.registry.domain.tabular_io import open_table
from shared.crypto import PiiCipher
from shared.errors import Unprocessable
from tests.support.db import count
from tests.support.p3b_imports import csv_file, household_rows

CIPHER = PiiCipher(current=bytes(range(32)), blind_key=bytes(range(32, 64)))


def _drafts(data):
    table = open_table(io.BytesIO(csv_file(data)))
    return households(RowParser(table.positions, table.headers), table.records)


def _comparable(draft):
    """A prepared draft without what differs between two preparations (ids, nonces, time)."""
    household, members, event, audit = draft.prepared
    return (draft.household_no, draft.head_hash, household[1:9],
            [(m[2], m[4], *m[5:11], CIPHER.decrypt(m[3])) for m in members], event[1:2],
            audit[3:5])


async def test_a_batch_is_prepared_in_slices_between_turns_of_the_loop(monkeypatch):
    monkeypatch.setattr(imports, "SLICE_SECONDS", 0.0)  # a turn after every household
    monkeypatch.setattr(imports, "PREPARE_SLICE", 2)
    data = [r for i in range(7) for r in household_rows(size=1 + i % 3)]
    context = imports._Context(started=dt.datetime.now(dt.UTC), scope="", import_id="i")
    turns = 0

    async def ticker():
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    task = asyncio.ensure_future(ticker())
    try:
        drafts = _drafts(data)
        first = await imports._next_batch(drafts, 5, context, CIPHER)
        turns_during_first = turns
        second = await imports._next_batch(drafts, 5, context, CIPHER)
        assert await imports._next_batch(drafts, 5, context, CIPHER) is None
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert [len(first), len(second)] == [5, 2]
    # 4 turns while reading 5 households, 3 while preparing them in slices of 2.
    assert turns_during_first >= 7
    at_once = list(_drafts(data))
    imports.prepare_batch(at_once, context, CIPHER)
    assert [_comparable(d) for d in first + second] == [_comparable(d) for d in at_once]


async def test_a_file_unreadable_midway_fails_after_the_batches_before_it(registry):
    rt = registry.runtime("registry")
    good = [r for _ in range(3) for r in household_rows(size=1)]
    # A cell longer than the csv module's field limit: csv.Error on that line.
    content = csv_file(good) + b"x" * 200_000 + b"\n"
    with pytest.raises(Unprocessable) as caught:
        await imports.import_households(
            lambda: batch_unit(rt, "tester"), table=open_table(io.BytesIO(content)),
            mode="partial", file_name="x.csv", cipher=rt.cipher, batch_households=2)
    assert caught.value.code == "unsupported_file"
    # The first batch (2 households) was committed; the one in preparation was not stored.
    assert await count(rt, "households") == 2


async def test_a_cancelled_import_leaves_no_task_behind(registry, monkeypatch):
    monkeypatch.setattr(imports, "SLICE_SECONDS", 0.0)
    monkeypatch.setattr(imports, "PREPARE_SLICE", 1)
    rt = registry.runtime("registry")
    data = [r for _ in range(6) for r in household_rows(size=2)]
    entered = asyncio.Event()

    @contextlib.asynccontextmanager
    async def stuck_unit():
        entered.set()
        await asyncio.Event().wait()  # the database never answers
        yield None

    task = asyncio.ensure_future(imports.import_households(
        stuck_unit, table=open_table(io.BytesIO(csv_file(data))), mode="partial",
        file_name="x.csv", cipher=rt.cipher, batch_households=3))
    await entered.wait()
    await asyncio.sleep(0)  # the next batch's preparation is under way
    assert [t for t in asyncio.all_tasks() if t.get_coro().__name__ == "_next_batch"]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    left = [t for t in asyncio.all_tasks() if t.get_coro().__name__ == "_next_batch"]
    assert left == []
    assert await count(rt, "households") == 0
