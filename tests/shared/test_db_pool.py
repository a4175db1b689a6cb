"""PostgreSQL connection pool: connections in steady use are not pinged; a connection that
died while idle is replaced at checkout; one that dies in use fails its statement once and
the pool reconnects (shared/db.py `_ping_idle_connections`)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from shared import db
from shared.errors import is_outage
from tests.support.databases import count_pings, scratch_engine, terminate

pytestmark = [pytest.mark.postgres]


@pytest.fixture
async def engine(servers):
    async with scratch_engine(servers, "pool") as engine:
        yield engine


async def backend_pid(engine) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()


async def test_a_connection_used_moments_ago_is_not_pinged(engine, monkeypatch):
    pings = count_pings(monkeypatch)
    first = await backend_pid(engine)
    for _ in range(20):
        assert await backend_pid(engine) == first  # the same pooled connection
    assert pings[0] == 0


async def test_an_idle_connection_is_pinged_and_kept_when_alive(engine, monkeypatch):
    monkeypatch.setattr(db, "IDLE_BEFORE_PING", 0.0)
    pings = count_pings(monkeypatch)
    first = await backend_pid(engine)
    assert await backend_pid(engine) == first
    assert pings[0] == 1


async def test_a_connection_that_died_while_idle_is_replaced_at_checkout(engine, servers,
                                                                         monkeypatch):
    monkeypatch.setattr(db, "IDLE_BEFORE_PING", 0.0)
    first = await backend_pid(engine)
    await terminate(servers, first)
    second = await backend_pid(engine)  # no error: the ping found it dead
    assert second != first


async def test_a_connection_that_dies_in_use_fails_once_then_the_pool_reconnects(
        engine, servers):
    first = await backend_pid(engine)  # used just now: the next checkout does not ping it
    await terminate(servers, first)
    with pytest.raises(DBAPIError) as failed:
        await backend_pid(engine)
    assert failed.value.connection_invalidated
    assert is_outage(failed.value)  # a request answers 503, a consumer retries its batch
    assert await backend_pid(engine) != first
