"""HTTP plumbing shared by the services: the transactional route class, dependencies,
pagination, ETags and labelled enums."""

from __future__ import annotations

import base64
import enum
import logging
import re
from collections.abc import Callable
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import idempotency
from shared.auth import Principal
from shared.db import reading_session
from shared.errors import PreconditionFailed, Problem, Unprocessable, is_outage, unavailable
from shared.tx import Tx

T = TypeVar("T")
log = logging.getLogger("fupin.web")


def service_router(service: str, **kwargs: Any) -> APIRouter:
    """A router under /api/v1/<service>/ whose requests run in one transaction each."""
    return APIRouter(prefix=f"/api/v1/{service}", route_class=_transactional(service), **kwargs)


def merged_router(*routers: APIRouter) -> APIRouter:
    """One router holding the routes of `routers` (each a `service_router` of one module).

    FastAPI includes a router lazily and matches a request level by level, each level
    trying its candidates again, so a service router that merely includes its modules'
    routers cost a second pass over every route of the service on every request. The
    routes are complete when declared (path with prefix, tags, route class), so they are
    taken over as they are."""
    merged = APIRouter()
    for router in routers:
        merged.routes.extend(router.routes)
    return merged


def writes_on_read(endpoint: Callable) -> Callable:
    """Declare a GET route that writes (the funds alerts refresh their table before they are
    listed): it runs in a transaction like a POST instead of on a read-only connection.
    Put it below the route decorator."""
    endpoint.fupin_writes_on_read = True  # type: ignore[attr-defined]
    return endpoint


def _transactional(service: str) -> type[APIRoute]:
    class TransactionalRoute(APIRoute):
        def get_route_handler(self) -> Callable:
            inner = super().get_route_handler()
            path = self.path
            writes = getattr(self.endpoint, "fupin_writes_on_read", False)

            async def handler(request: Request) -> Response:
                nonlocal writes
                runtime = request.app.state.services[service]
                try:
                    if request.method in READ_METHODS and not writes \
                            and (reader := _reader(runtime)):
                        try:
                            return await _read_only(request, runtime, reader, inner)
                        except ReadOnlyViolation:
                            # An undeclared GET that writes (a bug: see writes_on_read).
                            # Refused before it reached the database, so nothing was
                            # written: run the request again, in a transaction, as every
                            # later request of this route.
                            log.warning("GET %s writes but is not declared writes_on_read: "
                                        "it runs in a transaction", path)
                            writes = True
                    async with runtime.sessionmaker() as session:
                        return await _in_transaction(request, runtime, session, inner)
                except Exception as exc:
                    if is_outage(exc):  # the client should retry, not report a bug
                        raise unavailable() from exc
                    raise

            return handler

    return TransactionalRoute


READ_METHODS = frozenset({"GET", "HEAD"})


class ReadOnlyViolation(RuntimeError):
    """A statement that is not a read ran during a GET: a route bug, never silently committed."""


def _reader(runtime: Any) -> async_sessionmaker[AsyncSession] | None:
    """Sessions for read-only requests on PostgreSQL: autocommit, so a request costs its
    statements and no BEGIN/COMMIT round trips. Under READ COMMITTED every statement took
    its own snapshot inside the old transaction too, so a route that must see one snapshot
    reads with one statement. A write on these connections is refused before it is sent
    (`_refuse_writes`): a GET that writes, like the funds alerts refresh, is declared with
    `writes_on_read` and runs in a transaction. None on SQLite, where reads keep their
    transaction."""
    engine = runtime.engine
    cached = runtime.state.get("reader")
    if cached is not None and cached[0] is engine:
        return cached[1]
    if engine.dialect.name != "postgresql":
        maker = None
    else:
        if not event.contains(engine.sync_engine, "before_cursor_execute", _refuse_writes):
            event.listen(engine.sync_engine, "before_cursor_execute", _refuse_writes)
        maker = async_sessionmaker(
            engine.execution_options(isolation_level="AUTOCOMMIT", fupin_read_only=True),
            expire_on_commit=False, autoflush=False)
    runtime.state["reader"] = (engine, maker)
    return maker


_READ_STATEMENT = re.compile(r"\s*(?:SELECT|WITH|SHOW|VALUES)\b", re.IGNORECASE)
_WRITE_CLAUSE = re.compile(r"\b(?:INSERT\s+INTO|UPDATE\s+\S+\s+SET|DELETE\s+FROM|MERGE\s+INTO|"
                           r"TRUNCATE|NEXTVAL)\b", re.IGNORECASE)


_verdicts: dict[str, bool] = {}  # statement text -> is a read (compiled statements repeat)


def _is_read(statement: str) -> bool:
    verdict = _verdicts.get(statement)
    if verdict is None:
        verdict = bool(_READ_STATEMENT.match(statement)) and not _WRITE_CLAUSE.search(statement)
        if len(_verdicts) >= 2048:
            _verdicts.clear()
        _verdicts[statement] = verdict
    return verdict


def _refuse_writes(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                   executemany: bool) -> None:
    if not conn.get_execution_options().get("fupin_read_only"):
        return
    if (context is not None and (context.isinsert or context.isupdate or context.isdelete)) \
            or not _is_read(statement):
        raise ReadOnlyViolation("a read-only (GET) request tried to write: "
                                + statement.split(None, 1)[0])


async def _read_only(request: Request, runtime: Any,
                     reader: async_sessionmaker[AsyncSession], inner: Callable) -> Response:
    """A GET: no transaction, no idempotency; what it buffered with `tx.audit` / `tx.emit`
    (an export's audit row) is written afterwards in a transaction of its own."""
    async with reading_session(reader) as session:
        tx = runtime.new_tx(session, actor=lambda: _actor(request))
        request.state.tx = tx
        response = await inner(request)
    if response.status_code >= 400 or not (tx.events or tx.audits):
        return response
    async with runtime.sessionmaker() as session:
        writes = runtime.new_tx(session, actor=tx.actor_fn)
        writes.events, writes.audits = tx.events, tx.audits
        emitted = bool(writes.events)
        await writes.flush()
        await session.commit()
    if emitted:
        runtime.relay.wake()
    return response


def _actor(request: Request) -> str:
    principal = getattr(request.state, "principal", None)
    return principal.sub if principal else "anonymous"


async def _in_transaction(request: Request, runtime: Any, session: AsyncSession,
                          inner: Callable) -> Response:
    def actor() -> str:
        return _actor(request)

    tx = runtime.new_tx(session, actor=actor)
    request.state.tx = tx
    # Uploads (multipart) are not hashed into memory for replays: imports are resumable
    # by household number instead (docs/imports.md).
    multipart = request.headers.get("content-type", "").startswith("multipart/")
    key = request.headers.get("idempotency-key") if request.method == "POST" and not multipart \
        else None
    digest = ""
    if key:
        principal = _peek_principal(request)
        if principal is not None:
            digest = idempotency.body_hash(request.method, request.url.path, await request.body())
            stored = await idempotency.replay(session, runtime.infra.idempotency, runtime.cipher,
                                              actor=principal.sub, key=key, digest=digest)
            if stored is not None:
                return stored
    response = await inner(request)
    if response.status_code >= 400:
        await session.rollback()
        return response
    emitted = bool(tx.events)
    await tx.flush()
    if key and digest:
        await idempotency.remember(session, runtime.infra.idempotency, runtime.cipher,
                                   actor=actor(), key=key,
                                   digest=digest, method=request.method,
                                   path=request.url.path, response=response)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        if key and digest:  # a concurrent request with the same key committed first
            stored = await idempotency.replay(session, runtime.infra.idempotency, runtime.cipher,
                                              actor=actor(), key=key, digest=digest)
            if stored is not None:
                return stored
        raise
    if emitted:  # reads and event-less writes need not wake the relay
        runtime.relay.wake()
    return response


def _peek_principal(request: Request) -> Principal | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    token = token.strip()
    try:
        principal = request.app.state.tokens.verify(token)
    except Problem:
        return None
    request.state.principal_of = (token, principal)  # current_principal reuses it
    return principal


# Dependencies are coroutines: FastAPI runs a plain `def` dependency in the thread pool,
# a hop per request for a lookup.
async def get_tx(request: Request) -> Tx:
    return request.state.tx


async def get_session(request: Request) -> AsyncSession:
    return request.state.tx.session


TxDep = Annotated[Tx, Depends(get_tx)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise Unprocessable("invalid_cursor", "分页游标无效 (invalid cursor)",
                            field="cursor") from None


class PageParams:
    def __init__(self, limit: int = 50, cursor: str | None = None) -> None:
        self.limit = limit
        self.after = decode_cursor(cursor)


async def page_params(limit: Annotated[int, Query(ge=1, le=500)] = 50,
                      cursor: Annotated[str | None, Query(max_length=200)] = None) -> PageParams:
    return PageParams(limit, cursor)


PageDep = Annotated[PageParams, Depends(page_params)]


def page_of(items: list[T], limit: int, key: Callable[[T], str],
            more: bool | None = None) -> Page[T]:
    """Build a page from up to limit+1 fetched items (the extra one says there is more), or
    from `limit` items and `more` when the caller fetched the extra one itself."""
    if more is None:
        more = len(items) > limit
    items = items[:limit]
    return Page(items=items, next_cursor=encode_cursor(key(items[-1])) if more and items else None)


def etag(version: int) -> str:
    return f'"{version}"'


def check_if_match(request: Request, version: int) -> None:
    """412 when If-Match names another version than the stored one."""
    header = request.headers.get("if-match")
    if header is None or header.strip() == "*":
        return
    wanted = {v.strip().removeprefix("W/") for v in header.split(",")}
    if etag(version) not in wanted:
        raise PreconditionFailed("stale_version",
                                 "数据已被他人修改，请刷新后重试 (stale If-Match)",
                                 field="If-Match")


class LabeledEnum(enum.StrEnum):
    """A string enum whose members carry a Chinese label: `head = "head", "户主"`."""

    label: str

    def __new__(cls, value: str, label: str = "") -> LabeledEnum:
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.label = label
        return obj


def describe(cls: type[LabeledEnum]) -> type[LabeledEnum]:
    """Class decorator: publish each member's label in the OpenAPI description."""
    head = (cls.__doc__ or cls.__name__).strip().splitlines()[0]
    cls.__doc__ = head + "\n\n" + "; ".join(f"`{m.value}` {m.label}" for m in cls)
    return cls


def enum_catalog(enums: Any) -> dict[str, dict[str, str]]:
    return {e.__name__: {m.value: getattr(m, "label", m.value) for m in e} for e in enums}


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def file_responses(*media_types: str) -> dict[int | str, dict]:
    """OpenAPI `responses` for a route that answers JSON or a file, per `?format=`."""
    return {200: {"content": {
        m: {"schema": {"type": "object"} if m == "application/json"
            else {"type": "string", "format": "binary"}} for m in media_types}}}
