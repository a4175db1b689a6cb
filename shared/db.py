"""Async engines for PostgreSQL (asyncpg) and SQLite (aiosqlite) from one URL."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

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
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


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


@functools.cache
def upsert_statement(bind_dialect: str, table: sa.Table, keys: tuple[str, ...],
                     update: tuple[str, ...]) -> Any:
    """`upsert` without its values, built once per (dialect, table, keys, update): execute it
    with a list of rows (`session.execute(stmt, rows)`), no key twice in one list. `upsert`
    with many rows builds a new multi-row VALUES construct per call, which SQLAlchemy
    compiles anew every time (its cache keys on the row count and columns); this one
    compiles once. It RETURNs the keys so that SQLAlchemy sends the rows as multi-row
    statements of up to 1,000 rows ("insertmanyvalues") instead of asyncpg's executemany,
    which has the server execute the statement once per row."""
    module = postgresql if bind_dialect == "postgresql" else sqlite
    stmt = module.insert(table)
    return stmt.on_conflict_do_update(
        index_elements=list(keys), set_={c: getattr(stmt.excluded, c) for c in update},
    ).returning(*(table.c[k] for k in keys))


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
