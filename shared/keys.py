"""Key rotation: re-encrypt stored ID numbers under the current key, batch by batch, while
the service keeps running (each batch is its own short transaction)."""

from __future__ import annotations

import sqlalchemy as sa

from shared.service import ServiceRuntime


async def rotate(runtime: ServiceRuntime, *, batch_size: int = 1000) -> int:
    """Re-encrypt every ciphertext not made with the current key; return how many."""
    total = 0
    current = f"v1:{runtime.cipher.current_id}:%"
    for table_name, pk, column in runtime.definition.encrypted_columns:
        table = sa.table(table_name, sa.column(pk), sa.column(column))
        while True:
            async with runtime.sessionmaker() as session:
                rows = (await session.execute(
                    sa.select(table.c[pk], table.c[column])
                    .where(table.c[column].not_like(current)).limit(batch_size))).all()
                if not rows:
                    await session.rollback()
                    break
                updates = [{"k": row[0], "v": runtime.cipher.encrypt(
                    runtime.cipher.decrypt(row[1]))} for row in rows]
                await session.execute(
                    table.update().where(table.c[pk] == sa.bindparam("k"))
                    .values({column: sa.bindparam("v")}), updates)
                await session.commit()
                total += len(rows)
    return total
