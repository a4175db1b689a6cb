"""Read a service's tables directly in assertions (never to set state up)."""

from __future__ import annotations

import sqlalchemy as sa

from shared.service import ServiceRuntime


async def count(runtime: ServiceRuntime, table: str | sa.Table, where: str = "") -> int:
    name = table if isinstance(table, str) else table.name
    async with runtime.engine.connect() as conn:
        value = await conn.scalar(sa.text(f"SELECT COUNT(*) FROM {name} {where}"))
        await conn.rollback()
    return int(value or 0)


async def rows(runtime: ServiceRuntime, sql: str, **params) -> list[sa.Row]:
    async with runtime.engine.connect() as conn:
        result = (await conn.execute(sa.text(sql), params)).all()
        await conn.rollback()
    return list(result)
