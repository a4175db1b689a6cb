"""Builds the FastAPI application for one service, or for all four in one process."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import logging
from collections.abc import AsyncIterator, Callable, Sequence

import sqlalchemy as sa
from fastapi import FastAPI, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shared.audit import audit_router
from shared.auth import TokenCodec
from shared.bus import Bus, bus_from_settings
from shared.bus.base import BusUnavailable
from shared.consumer import EventConsumer
from shared.crypto import cipher_from_settings
from shared.db import create_engine, sessionmaker
from shared.errors import install_error_handlers
from shared.events import topics as all_topics
from shared.events.asyncapi import asyncapi_document
from shared.logs import configure_logging
from shared.metrics import DEAD_LETTERS
from shared.middleware import BodyLimit, RequestContext
from shared.migrate import upgrade
from shared.openapi import problem_openapi
from shared.outbox import OutboxRelay
from shared.service import ServiceDefinition, ServiceRuntime
from shared.settings import Settings, get_settings
from shared.web import enum_catalog

log = logging.getLogger("fupin.app")
SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


def create_app(definitions: Sequence[ServiceDefinition], *, settings: Settings | None = None,
               bus: Bus | None = None, migrate: bool = True, background: bool = True,
               catalogue: Callable[[], Sequence[ServiceDefinition]] | None = None) -> FastAPI:
    """`background=False` leaves relays and consumers to the caller (tests drive them).
    `catalogue` lists every service, for the combined document at /api/v1/openapi.json."""
    settings = settings or get_settings()
    if problems := settings.production_problems():
        raise SystemExit("refusing to start in production: " + "; ".join(problems))
    configure_logging(settings.log_level)
    names = [d.name for d in definitions]

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned_bus = bus is None
        the_bus = bus or bus_from_settings(settings)
        await the_bus.start()
        cipher = cipher_from_settings(settings)
        for d in definitions:
            engine = create_engine(settings.database_url(d.name))
            if migrate:
                await upgrade(engine, d.migrations)
            relay = OutboxRelay(service=d.name, engine=engine, table=d.infra.outbox, bus=the_bus,
                                batch_size=settings.relay_batch_size,
                                idle_seconds=settings.relay_idle_seconds)
            app.state.services[d.name] = ServiceRuntime(
                definition=d, settings=settings, engine=engine, sessionmaker=sessionmaker(engine),
                bus=the_bus, cipher=cipher, relay=relay)
        app.state.bus = the_bus
        tasks = _start_background(app, definitions, settings) if background else []
        # What start-up made (modules, routes, engines, compiled schemas) lives as long as the
        # process: frozen, it is left out of the collector's full passes, which otherwise walk
        # it all and stall every request in flight (~115 ms per pass on the registry; ~5 ms
        # frozen: the REST p99). Unfrozen at shutdown so nothing is kept past the app.
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            await _shut_down(app, tasks, the_bus if owned_bus else None)

    app = FastAPI(
        title="fupin " + (names[0] if len(names) == 1 else "platform"),
        description="扶贫业务平台 / poverty-alleviation platform: " + ", ".join(names),
        version="1.0.0", lifespan=lifespan, openapi_url="/openapi.json", docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.definitions = list(definitions)
    app.state.services = {}
    app.state.tokens = TokenCodec(settings.jwt_secret, settings.jwt_public_key)
    install_error_handlers(app)
    examples = {k: v for d in definitions for k, v in d.examples.items()}
    app.openapi = lambda: problem_openapi(app, examples)  # type: ignore[method-assign]
    for d in definitions:
        # The routes themselves, not the routers: FastAPI matches an included router's
        # routes twice per request (once to choose the router, once within it).
        app.router.routes.extend([*d.router.routes, *audit_router(d).routes])
        _enum_route(app, d)
    _operational_routes(app)
    _combined_docs(app, catalogue or (lambda: definitions), settings)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes,
                       max_upload_bytes=settings.max_upload_bytes)
    app.add_middleware(RequestContext, service=names[0] if len(names) == 1 else "platform")
    return app


async def _shut_down(app: FastAPI, tasks: list[asyncio.Task], bus: Bus | None) -> None:
    """Stop background work, then close engines and the bus; each step is bounded so a
    stuck task is reported instead of hanging the process."""
    for task in tasks:
        task.cancel()
    if tasks:
        _, pending = await asyncio.wait(tasks, timeout=15)
        for task in pending:
            # A clean stop that hangs (a Kafka consumer leaving its group mid-rebalance) is
            # cut short: cancelled again, and given 5 s more, not left on a closing loop.
            log.error("background task did not stop: %s; cancelled again", task.get_coro())
            task.cancel()
        if pending:
            _, pending = await asyncio.wait(pending, timeout=5)
            for task in pending:
                log.error("background task still running: %s", task.get_coro())
    for runtime in app.state.services.values():
        try:
            await asyncio.wait_for(runtime.engine.dispose(), timeout=15)
        except TimeoutError:
            log.error("database engine of %s did not close", runtime.name)
    app.state.services.clear()
    if bus is not None:
        try:
            await asyncio.wait_for(bus.stop(), timeout=15)
        except TimeoutError:
            log.error("event bus did not stop")


def _start_background(app: FastAPI, definitions: Sequence[ServiceDefinition],
                      settings: Settings) -> list[asyncio.Task]:
    tasks = []
    the_bus: Bus = app.state.bus
    wanted = sorted({t for d in definitions for t in (*d.topics, *_sub_topics(d))})
    tasks.append(asyncio.create_task(_ensure_topics(the_bus, wanted)))
    for d in definitions:
        runtime = app.state.services[d.name]
        tasks.append(asyncio.create_task(runtime.relay.run_forever()))
        for sub in d.all_subscriptions():
            consumer = EventConsumer(runtime=runtime, subscription=sub, bus=the_bus,
                                     max_attempts=settings.consumer_max_attempts)
            tasks.append(asyncio.create_task(consumer.run_forever()))
        for job in d.background:
            tasks.append(asyncio.create_task(job(runtime)))
    return tasks


def _sub_topics(d: ServiceDefinition) -> list[str]:
    return [t for s in d.all_subscriptions() for t in s.topics]


async def _ensure_topics(bus: Bus, topics: list[str]) -> None:
    while True:
        try:
            await bus.ensure_topics(topics or list(all_topics.ALL))
            return
        except BusUnavailable:
            await asyncio.sleep(2.0)


def _enum_route(app: FastAPI, d: ServiceDefinition) -> None:
    catalog = enum_catalog(d.enums)
    events = asyncapi_document(d.name, groups=[s.group for s in d.all_subscriptions()])

    @app.get(f"/api/v1/{d.name}/asyncapi.json", tags=[d.name],
             summary="事件文档 (AsyncAPI 3) / events this service publishes")
    async def asyncapi() -> dict:
        return events

    @app.get(f"/api/v1/{d.name}/enums", tags=[d.name], summary="枚举值及中文标签 / enum labels")
    async def enums() -> dict[str, dict[str, str]]:
        return catalog


def _combined_docs(app: FastAPI, catalogue: Callable[[], Sequence[ServiceDefinition]],
                   settings: Settings) -> None:
    cache: dict[str, dict] = {}

    @app.get("/api/v1/openapi.json", include_in_schema=False)
    async def combined_openapi() -> dict:
        if "doc" not in cache:
            everything = catalogue()
            if [d.name for d in everything] == [d.name for d in app.state.definitions]:
                cache["doc"] = app.openapi()
            else:
                cache["doc"] = create_app(everything, settings=settings).openapi()
        return cache["doc"]

    @app.get("/api/v1/docs", include_in_schema=False)
    async def combined_swagger() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/api/v1/openapi.json",
                                   title="fupin API (all services)")


def _operational_routes(app: FastAPI) -> None:
    @app.get("/healthz", tags=["ops"], summary="进程存活 / process alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], summary="数据库与事件总线可用 / dependencies reachable",
             responses={503: {"description": "数据库或事件总线不可用 / a dependency is down"}})
    async def readyz() -> JSONResponse:
        checks: dict[str, str] = {}
        for name, runtime in app.state.services.items():
            try:
                async with runtime.engine.connect() as conn:
                    await conn.execute(sa.text("SELECT 1"))
                    await conn.rollback()
                checks[f"{name}.database"] = "ok"
            except Exception:
                checks[f"{name}.database"] = "unavailable"
        bus = getattr(app.state, "bus", None)
        checks["bus"] = "ok" if bus is not None and await bus.ping() else "unavailable"
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks},
                            status_code=200 if ok else 503)

    @app.get("/metrics", tags=["ops"], summary="Prometheus 指标 / metrics",
             response_class=PlainTextResponse,
             responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {
                 "schema": {"type": "string"}}}}})
    async def metrics() -> Response:
        for runtime in app.state.services.values():
            try:
                await runtime.relay.backlog()
                await _refresh_gauges(runtime)
            except Exception:  # a scrape reports what it can; /readyz reports outages
                log.warning("metrics refresh failed for %s", runtime.name, exc_info=True)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def _refresh_gauges(runtime: ServiceRuntime) -> None:
    """Dead letters and domain gauges come from the database, so they survive restarts."""
    today = dt.datetime.now(SHANGHAI).date()
    letters = runtime.infra.dead_letters
    async with runtime.engine.connect() as conn:
        parked = (await conn.execute(
            sa.select(letters.c.consumer_group, sa.func.count())
            .where(letters.c.redriven_at.is_(None)).group_by(letters.c.consumer_group))).all()
        for sub in runtime.definition.all_subscriptions():
            DEAD_LETTERS.labels(sub.group).set(0)
        for group, count in parked:
            DEAD_LETTERS.labels(group).set(count)
        for query in runtime.definition.gauges:
            rows = (await conn.execute(sa.text(query.sql), {"today": today})).all()
            query.gauge.clear()
            for region, value in rows:
                query.gauge.labels(region).set(value)
        await conn.rollback()
