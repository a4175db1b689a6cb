"""Async engines for PostgreSQL (asyncpg) and SQLite (aiosqlite) from one URL."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import itertools
import time
import weakref
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import Pool
from sqlalchemy.sql.cache_key import CacheKey
from sqlalchemy.util import greenlet_spawn

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
"""An auto-increment integer key (SQLite only auto-increments INTEGER PRIMARY KEY)."""


def is_sqlite(url_or_engine: str | AsyncEngine) -> bool:
    url = url_or_engine if isinstance(url_or_engine, str) else str(url_or_engine.url)
    return url.startswith("sqlite")


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    if is_sqlite(url):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        _sqlite_pragmas(engine)
        return engine
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size)
    _ping_idle_connections(engine)
    return engine


IDLE_BEFORE_PING = 2.0
"""Seconds a pooled PostgreSQL connection may sit unused before its next checkout tests it."""

_DISCONNECTED_AT: weakref.WeakKeyDictionary[Pool, float] = weakref.WeakKeyDictionary()
"""When a `DriverReads` connection of the pool last failed other than by a query error:
connections checked in before that are tested at their next checkout."""


def _ping_idle_connections(engine: AsyncEngine) -> None:
    """Test a connection at checkout only when it has sat in the pool for a while.

    SQLAlchemy's `pool_pre_ping` tests every checkout, and asyncpg's ping outside autocommit
    is three round trips (BEGIN, an empty statement, ROLLBACK): under load that was about a
    tenth of a REST read's CPU, for connections used milliseconds before. A connection that
    dies while busy (a restart, a failover, a terminated backend) fails its statement, and
    SQLAlchemy then invalidates every connection of the pool that is older than the failure
    (`is_disconnect`), so the next checkouts reconnect (after a `DriverReads` failure, they
    are pinged first); the request that met it answers 503
    (`shared.errors.is_outage`) and a consumer retries its batch. A connection that died
    while idle is caught here: raising DisconnectionError makes the pool discard it and
    check out another, up to three times."""
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "checkin")
    def _checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["fupin_idle_since"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("fupin_idle_since", None)
        if since is None:
            return  # connected just now
        if time.monotonic() - since < IDLE_BEFORE_PING and since > _DISCONNECTED_AT.get(pool, 0):
            return  # in use moments ago, and no connection of the pool has failed since
        try:
            dbapi_connection.ping()
        except Exception as exc:
            raise sa.exc.DisconnectionError("idle connection failed its ping") from exc


def _sqlite_pragmas(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN IMMEDIATE: a writer takes the lock up
        # front instead of failing on upgrade, so concurrent requests queue, not error.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def insert_ignore(bind_dialect: str, table: sa.Table, values: dict[str, Any] | list[dict]) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING for either dialect."""
    module = postgresql if bind_dialect == "postgresql" else sqlite
    return module.insert(table).values(values).on_conflict_do_nothing()


def upsert(bind_dialect: str, table: sa.Table, values: dict[str, Any] | list[dict],
           keys: list[str], update: list[str]) -> Any:
    """INSERT ... ON CONFLICT (keys) DO UPDATE SET the `update` columns from the new row."""
    module = postgresql if bind_dialect == "postgresql" else sqlite
    stmt = module.insert(table).values(values)
    return stmt.on_conflict_do_update(
        index_elements=keys, set_={c: getattr(stmt.excluded, c) for c in update})


class _FixedStatement:
    """An INSERT of the dialect (ON CONFLICT ...) whose compiled form SQLAlchemy may cache.

    The dialects' `Insert` opts out of SQLAlchemy's statement cache (its cache key would not
    cover the ON CONFLICT clause), so each execution compiled the statement anew - about
    half a millisecond of CPU per statement, several per consumer batch. `compiled_once`
    gives ONE finished statement object a key of its own: no other statement can share its
    compiled form. A statement derived from it (`.values()`, `.returning()`... make copies)
    is a different object and stays uncached, as before. Only for statements whose values
    all come as execution parameters (none embedded), built once and kept alive."""

    def _generate_cache_key(self):  # SQLAlchemy: None means "compile every time"
        fixed = self.__dict__.get("_fupin_fixed_key")
        if fixed is not None and fixed[0] == id(self):
            return fixed[1]
        return None


class _PostgresInsert(_FixedStatement, postgresql.Insert):
    inherit_cache = False


class _SqliteInsert(_FixedStatement, sqlite.Insert):
    inherit_cache = False


_fixed_keys = itertools.count()


def fixed_insert(bind_dialect: str, table: sa.Table) -> Any:
    """The dialect's INSERT (with `on_conflict_do_*`), to finish and pass to `compiled_once`."""
    return (_PostgresInsert if bind_dialect == "postgresql" else _SqliteInsert)(table)


def compiled_once(stmt: Any) -> Any:
    """Mark a finished `fixed_insert` statement as cacheable under a key of its own. The
    caller keeps it (functools.cache), so its id - part of the check - is never reused."""
    if not isinstance(stmt, _FixedStatement):
        raise TypeError("compiled_once takes a statement built from fixed_insert")
    if stmt._generate_cache_key() is None:
        stmt.__dict__["_fupin_fixed_key"] = (
            id(stmt), CacheKey(("fupin.db.compiled_once", next(_fixed_keys)), []))
    return stmt


@functools.cache
def upsert_statement(bind_dialect: str, table: sa.Table, keys: tuple[str, ...],
                     update: tuple[str, ...], increase: tuple[str, ...] = ()) -> Any:
    """`upsert` without its values, built once per (dialect, table, keys, update): execute it
    with a list of rows (`session.execute(stmt, rows)`), no key twice in one list. `upsert`
    with many rows builds a new multi-row VALUES construct per call, which SQLAlchemy
    compiles anew every time (its cache keys on the row count and columns); this one
    compiles once (`compiled_once`). It RETURNs the keys so that SQLAlchemy sends the rows
    as multi-row statements of up to 1,000 rows ("insertmanyvalues") instead of asyncpg's
    executemany, which has the server execute the statement once per row. The `increase`
    columns of an existing row are increased by the new row's values (counters) instead of
    replaced."""
    stmt = fixed_insert(bind_dialect, table)
    set_ = {c: getattr(stmt.excluded, c) for c in update}
    set_ |= {c: table.c[c] + getattr(stmt.excluded, c) for c in increase}
    return compiled_once(stmt.on_conflict_do_update(index_elements=list(keys), set_=set_)
                         .returning(*(table.c[k] for k in keys)))


_DRIVER_SQL: dict[tuple[sa.Select, str], Any] = {}
DRIVER_READS = "fupin_driver_reads"
"""Key, in a session's `info`, of the `DriverReads` its `select_rows` calls go to."""


class DriverReads:
    """The driver connection of one read-only request's `select_rows`: checked out of the
    engine's pool at the first SELECT and returned when the request ends (`reading_session`).

    It holds no transaction: each statement reads its own snapshot, as on the autocommit
    connections of GET requests (`shared.web`), and a route that must see one snapshot
    reads with one statement. Past SQLAlchemy's Session, Connection and execution context,
    a household read costs about a tenth less CPU. Because SQLAlchemy does not see these
    statements fail, the connection's fate is decided here: after a query error
    (a PostgreSQL error on a healthy connection) it goes back to the pool; after anything
    else (a dropped connection, a cancelled request) it is discarded, and the pool's other
    connections are pinged at their next checkout (`_ping_idle_connections`), as SQLAlchemy
    invalidates a pool after a disconnect."""

    __slots__ = ("engine", "_pooled")

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._pooled: Any = None

    async def fetch(self, sql: str, args: Sequence[Any]) -> list[Any]:
        pooled = self._pooled
        if pooled is None:
            pooled = self._pooled = await self.engine.raw_connection()
        try:
            return await pooled.driver_connection.fetch(sql, *args)
        except BaseException as exc:
            if _is_query_error(exc):
                raise
            lost = _is_disconnect(exc) or pooled.driver_connection.is_closed()
            self._pooled = None
            await greenlet_spawn(pooled.invalidate, exc)
            if lost:
                _DISCONNECTED_AT[self.engine.sync_engine.pool] = time.monotonic()
                raise ConnectionLost("the database connection was lost during a read") from exc
            raise

    async def close(self) -> None:
        pooled, self._pooled = self._pooled, None
        if pooled is not None:
            # In a greenlet: returning an overflow connection closes it, which awaits.
            await greenlet_spawn(pooled.close)


class ConnectionLost(ConnectionError):
    """A `DriverReads` connection dropped (a restart, a failover, a terminated backend): the
    request answers 503 (`shared.errors.is_outage`), as when SQLAlchemy meets a disconnect."""


_CONNECTION_ERRORS = (asyncpg.PostgresConnectionError, asyncpg.AdminShutdownError,
                      asyncpg.CannotConnectNowError)
"""What PostgreSQL or asyncpg report when the connection itself is gone or refused."""


def _is_disconnect(exc: BaseException) -> bool:
    return isinstance(exc, (OSError, *_CONNECTION_ERRORS))


def _is_query_error(exc: BaseException) -> bool:
    """An error PostgreSQL reported about a statement, the connection still usable."""
    return isinstance(exc, asyncpg.PostgresError) and not isinstance(exc, _CONNECTION_ERRORS)


@contextlib.asynccontextmanager
async def reading_session(sessions: async_sessionmaker[AsyncSession]
                          ) -> AsyncIterator[AsyncSession]:
    """A session of `sessions` (autocommit, PostgreSQL) whose `select_rows` go to the driver."""
    reads = DriverReads(sessions.kw["bind"])
    try:
        async with sessions(info={DRIVER_READS: reads}) as session:
            yield session
    finally:
        await reads.close()


async def select_rows(session: AsyncSession, statement: sa.Select, params: dict[str, Any]
                      ) -> Sequence[Sequence[Any]]:
    """The rows of a SELECT built once (a module constant, or one kept per shape), as
    sequences of column values in select order.

    In a `reading_session` - the read-only GET requests of `shared.web` - the statement,
    compiled once, goes straight to asyncpg (`DriverReads`): SQLAlchemy's Session,
    Connection, execution context and result rows cost more CPU than the statement's own
    round trip. A SELECT writes nothing for the GET guard (`shared.web._refuse_writes`) to
    stop. Column values are those SQLAlchemy returns on PostgreSQL (asyncpg decodes
    timestamps with their zone, dates, numbers and text; no column type here processes
    results on PostgreSQL), which tests/shared/test_db_select_rows.py keeps checking.
    Anywhere else (SQLite, a transaction, statements rendered per execution), through
    SQLAlchemy."""
    reads: DriverReads | None = session.info.get(DRIVER_READS)
    compiled = _driver_sql(statement, reads.engine.dialect) if reads is not None else False
    if compiled is False:
        return (await session.execute(statement, params)).all()
    return await reads.fetch(compiled.string, [params[name] for name in compiled.positiontup])


def _driver_sql(statement: sa.Select, dialect: Any) -> Any:
    """`statement` compiled for `dialect` once; False when it cannot go to the driver as is."""
    key = (statement, dialect.name)
    compiled = _DRIVER_SQL.get(key)
    if compiled is None:
        if not isinstance(statement, sa.Select):
            raise TypeError("select_rows runs SELECT statements only")
        compiled = statement.compile(dialect=dialect)
        if dialect.name != "postgresql" or "POSTCOMPILE" in compiled.string:
            compiled = False  # IN lists etc.: rendered per execution
        if len(_DRIVER_SQL) >= 256:  # statements are kept by their callers: a few dozen
            _DRIVER_SQL.clear()
        _DRIVER_SQL[key] = compiled
    return compiled


def dialect_of(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


class UtcDateTime(sa.TypeDecorator):
    """Timestamps stored in UTC and always read back timezone-aware (SQLite keeps no offset)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value
