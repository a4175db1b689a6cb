"""`Idempotency-Key` on POST: the same key and body replay the first response."""

from __future__ import annotations

import datetime as dt
import hashlib

import sqlalchemy as sa
from fastapi import Response
from sqlalchemy.ext.asyncio import AsyncSession

from shared.crypto import PiiCipher
from shared.errors import Unprocessable

_KEPT_HEADERS = ("etag", "location", "content-type")
RETENTION = dt.timedelta(hours=24)
"""How long a key replays its first response; older keys count as unused."""


def body_hash(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


async def replay(session: AsyncSession, table: sa.Table, cipher: PiiCipher, *, actor: str,
                 key: str, digest: str) -> Response | None:
    row = (await session.execute(
        sa.select(table).where(table.c.actor == actor, table.c.key == key))).first()
    if row is None:
        return None
    if row.created_at < dt.datetime.now(dt.UTC) - RETENTION:
        await session.execute(table.delete().where(table.c.actor == actor, table.c.key == key))
        return None
    if row.body_hash != digest:
        raise Unprocessable("idempotency_key_reused",
                            "幂等键已用于不同的请求 (Idempotency-Key reused with another body)",
                            field="Idempotency-Key")
    headers = dict(row.response_headers)
    headers["idempotent-replayed"] = "true"
    return Response(content=cipher.decrypt_bytes(row.response_body), status_code=row.status_code,
                    headers=headers)


async def remember(session: AsyncSession, table: sa.Table, cipher: PiiCipher, *, actor: str,
                   key: str, digest: str, method: str, path: str, response: Response) -> None:
    """Keep the response for replays, sealed: it may hold full ID numbers (pii:read)."""
    headers = {k: v for k, v in response.headers.items() if k.lower() in _KEPT_HEADERS}
    await session.execute(table.insert().values(
        actor=actor, key=key, method=method, path=path, body_hash=digest,
        status_code=response.status_code, response_body=cipher.encrypt_bytes(bytes(response.body)),
        response_headers=headers, created_at=dt.datetime.now(dt.UTC)))
