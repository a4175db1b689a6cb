"""`shared.db.select_rows`: in a `reading_session` (the GET requests on PostgreSQL) a SELECT
goes straight to asyncpg; its rows must hold the very values SQLAlchemy returns, inside a
transaction it must stay in that transaction, and the driver connection it used must go back
to the pool - or be discarded when it failed other than by a query error."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker

from shared import db
from shared.errors import is_outage
from tests.support.databases import count_pings, scratch_engine, terminate

pytestmark = [pytest.mark.postgres]

metadata = sa.MetaData()
things = sa.Table(
    "things", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(40), nullable=False),
    sa.Column("born", sa.Date, nullable=True),
    sa.Column("at", db.UtcDateTime, nullable=False),
    sa.Column("n", sa.BigInteger, nullable=True),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("ok", sa.Boolean, nullable=False),
)
BY_NAME = (sa.select(things.c.id, things.c.name, things.c.born, things.c.at, things.c.n,
                     sa.cast(things.c.tags, sa.Text).label("tags"), things.c.ok)
           .where(things.c.name == sa.bindparam("name"))
           .order_by(things.c.id).limit(sa.bindparam("limit", type_=sa.Integer)))
ROWS = [
    {"id": "a", "name": "张三", "born": dt.date(1980, 5, 17),
     "at": dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC), "n": 2**40,
     "tags": ["x", "的"], "ok": True},
    {"id": "b", "name": "张三", "born": None,
     "at": dt.datetime(2026, 11, 23, 23, 59, 59, tzinfo=dt.timezone(dt.timedelta(hours=8))),
     "n": None, "tags": [], "ok": False},
    {"id": "c", "name": "李四", "born": dt.date(2001, 1, 1),
     "at": dt.datetime(2020, 2, 29, tzinfo=dt.UTC), "n": -1, "tags": {"k": 1}, "ok": True},
]


@pytest.fixture
async def engine(servers):
    async with scratch_engine(servers, "rows", pool_size=2) as engine:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            await conn.execute(things.insert(), ROWS)
        yield engine


def reader(engine):
    return db.reading_session(
        async_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT")))


async def test_autocommit_rows_equal_sqlalchemys_values_and_types(engine):
    for params in ({"name": "张三", "limit": 10}, {"name": "李四", "limit": 1},
                   {"name": "nobody", "limit": 5}, {"name": "张三", "limit": 1}):
        async with reader(engine) as session:
            fast = await db.select_rows(session, BY_NAME, params)
            assert type(fast[0]).__module__.startswith("asyncpg") if fast else True
            expected = (await session.execute(BY_NAME, params)).all()
        assert [tuple(r) for r in fast] == [tuple(r) for r in expected], params
        for got, want in zip(fast, expected, strict=True):
            assert [type(v) for v in got] == [type(v) for v in want]
            assert [v.utcoffset() for v in got if isinstance(v, dt.datetime)] == \
                [dt.timedelta(0)]  # timezone-aware, in UTC, as UtcDateTime reads it


async def test_autocommit_goes_to_the_driver(engine, monkeypatch):
    """The fast path is taken (SQLAlchemy's execute is not called in a reading session)."""
    calls = []
    original = sa.ext.asyncio.AsyncSession.execute

    async def counting(self, *args, **kwargs):
        calls.append(args[0])
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(sa.ext.asyncio.AsyncSession, "execute", counting)
    async with reader(engine) as session:
        rows = await db.select_rows(session, BY_NAME, {"name": "李四", "limit": 5})
    assert [r[0] for r in rows] == ["c"]
    assert calls == []
    async with async_sessionmaker(engine)() as session:
        await db.select_rows(session, BY_NAME, {"name": "李四", "limit": 5})
    assert calls == [BY_NAME]


async def test_in_a_transaction_it_reads_that_transactions_writes(engine):
    async with async_sessionmaker(engine)() as session:
        await session.execute(things.insert().values(
            id="d", name="王五", at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), tags=[], ok=True))
        rows = await db.select_rows(session, BY_NAME, {"name": "王五", "limit": 5})
        assert [r[0] for r in rows] == ["d"]  # not visible outside: it stayed in the tx
        await session.rollback()
    async with reader(engine) as session:
        assert await db.select_rows(session, BY_NAME, {"name": "王五", "limit": 5}) == []


async def test_statements_rendered_per_execution_and_non_selects(engine):
    expanding = sa.select(things.c.id).where(things.c.id.in_(sa.bindparam("ids", expanding=True)))
    async with reader(engine) as session:
        rows = await db.select_rows(session, expanding, {"ids": ["a", "c"]})
        assert sorted(r[0] for r in rows) == ["a", "c"]  # through SQLAlchemy, which renders it
        with pytest.raises(TypeError):
            await db.select_rows(session, things.delete(), {})


def pool_of(engine):
    return engine.sync_engine.pool


async def test_the_driver_connection_goes_back_to_the_pool(engine):
    pool = pool_of(engine)
    assert pool.checkedout() == 0
    async with reader(engine) as session:
        await db.select_rows(session, BY_NAME, {"name": "李四", "limit": 5})
        await db.select_rows(session, BY_NAME, {"name": "张三", "limit": 5})
        assert pool.checkedout() == 1  # one connection for the request's statements
    assert pool.checkedout() == 0
    async with reader(engine) as session:  # a request that read nothing checks out nothing
        assert pool.checkedout() == 0


async def test_a_query_error_keeps_the_connection(engine):
    broken = sa.select(sa.cast(sa.bindparam("x", type_=sa.String), sa.Integer))
    async with reader(engine) as session:
        with pytest.raises(asyncpg.DataError):  # not an integer: the statement's error
            await db.select_rows(session, broken, {"x": "not a number"})
        rows = await db.select_rows(session, BY_NAME, {"name": "李四", "limit": 5})
        assert [r[0] for r in rows] == ["c"]  # the same connection still serves


async def test_a_misused_statement_is_no_outage_and_its_connection_is_discarded(engine):
    async with reader(engine) as session:
        with pytest.raises(asyncpg.InterfaceError) as failed:  # a bug: no parameter given
            await db.select_rows(session, sa.select(sa.text("$1::int")), {})
        assert not is_outage(failed.value)  # a 500, not a 503 to retry
    assert pool_of(engine).checkedout() == 0


async def test_a_dropped_connection_is_discarded_and_the_pool_tests_the_others(
        engine, servers, monkeypatch):
    pings = count_pings(monkeypatch)
    async with reader(engine) as session:  # warm two pooled connections, both used just now
        await db.select_rows(session, BY_NAME, {"name": "李四", "limit": 5})
        async with reader(engine) as other:
            await db.select_rows(other, BY_NAME, {"name": "李四", "limit": 5})
    async with reader(engine) as session:
        pid = (await db.select_rows(session, PID, {}))[0][0]
        await terminate(servers, pid)
        with pytest.raises(db.ConnectionLost) as failed:
            await db.select_rows(session, BY_NAME, {"name": "李四", "limit": 5})
        assert is_outage(failed.value)  # the request answers 503
    assert pool_of(engine).checkedout() == 0
    async with reader(engine) as session:  # the other connection, used moments ago: tested
        rows = await db.select_rows(session, BY_NAME, {"name": "李四", "limit": 5})
        assert [r[0] for r in rows] == ["c"]
        assert (await db.select_rows(session, PID, {}))[0][0] != pid
    assert pings[0] >= 1


PID = sa.select(sa.func.pg_backend_pid())
