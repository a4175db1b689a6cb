"""The `fupin` command: run, migrate, mint tokens, and operate the platform."""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
from collections.abc import Sequence

from shared.auth import SCOPES, TokenCodec
from shared.settings import SERVICES, Settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fupin", description="扶贫业务平台 / fupin platform")
    sub = p.add_subparsers(dest="command")

    dev = sub.add_parser("dev", help="all four services in one process, embedded runtime")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=8000)
    dev.add_argument("--data-dir", default=None)
    dev.set_defaults(func=cmd_dev)

    serve = sub.add_parser("serve", help="one service (for containers)")
    serve.add_argument("service", choices=SERVICES)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("service", nargs="?", choices=SERVICES)
    migrate.set_defaults(func=cmd_migrate)

    token = sub.add_parser("token", help="mint a development token (HS256, FUPIN_JWT_SECRET)")
    token.add_argument("--sub", required=True)
    token.add_argument("--region", default="")
    token.add_argument("--scopes", default="admin",
                       help="comma-separated; known: " + ",".join(SCOPES))
    token.add_argument("--hours", type=float, default=12)
    token.set_defaults(func=cmd_token)

    events = sub.add_parser("events", help="print the events on a topic (CloudEvents JSON)")
    events.add_argument("--topic", default="fupin.registry.households")
    events.add_argument("--limit", type=int, default=20, help="the last N events")
    events.set_defaults(func=cmd_events)

    dlq = sub.add_parser("dlq", help="dead letters: events a consumer could not handle")
    dlq_sub = dlq.add_subparsers(dest="action", required=True)
    dlq_list = dlq_sub.add_parser("list", help="dead letters not yet redriven")
    dlq_list.add_argument("--service", choices=SERVICES)
    dlq_list.add_argument("--all", action="store_true", help="include redriven ones")
    dlq_list.set_defaults(func=cmd_dlq_list)
    dlq_redrive = dlq_sub.add_parser("redrive", help="handle dead letters again (after a fix)")
    dlq_redrive.add_argument("--service", choices=SERVICES)
    dlq_redrive.add_argument("--id", type=int, help="one dead letter (default: all)")
    dlq_redrive.set_defaults(func=cmd_dlq_redrive)

    keys = sub.add_parser("keys", help="encryption keys of stored ID numbers")
    keys_sub = keys.add_subparsers(dest="action", required=True)
    rotate = keys_sub.add_parser(
        "rotate", help="re-encrypt every stored ID number under FUPIN_PII_KEY "
                       "(old keys in FUPIN_PII_OLD_KEYS must still be set)")
    rotate.add_argument("--service", choices=SERVICES)
    rotate.set_defaults(func=cmd_keys_rotate)

    replay = sub.add_parser("replay", help="rebuild a service's projections from its topics")
    replay.add_argument("service", choices=SERVICES)
    replay.set_defaults(func=cmd_replay)

    imports = sub.add_parser("import", help="bulk imports (households, plans)")
    import_sub = imports.add_subparsers(dest="what")
    for module in _service_cli_modules():
        if hasattr(module, "add_commands"):
            module.add_commands(sub)
        if hasattr(module, "add_import_commands"):
            module.add_import_commands(import_sub)
    return p


def _service_cli_modules() -> list:
    """Services contribute commands through an optional `services.<name>.cli` module."""
    import importlib

    found = []
    for name in SERVICES:
        try:
            found.append(importlib.import_module(f"services.{name}.cli"))
        except ModuleNotFoundError as exc:
            if exc.name != f"services.{name}.cli":
                raise
    return found


def cmd_dev(args: argparse.Namespace) -> int:
    import uvicorn

    if args.data_dir:
        os.environ["FUPIN_DATA_DIR"] = args.data_dir
    generated = "FUPIN_JWT_SECRET" not in os.environ
    if generated:
        os.environ["FUPIN_JWT_SECRET"] = secrets.token_urlsafe(32)
    settings = Settings(bus="embedded")
    from services import definitions
    from shared.app import create_app

    app = create_app(definitions(), settings=settings)
    if generated:
        token = TokenCodec(settings.jwt_secret).mint(
            sub="dev-admin", scopes=list(SCOPES), region="", ttl=_hours(24))
        print(f"fupin dev: data in {settings.data_dir.resolve()}", flush=True)
        print(f"fupin dev: admin token (all scopes, whole country, 24 h):\n{token}", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_config=None)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from services import definitions
    from shared.app import create_app

    app = create_app(definitions([args.service]), settings=Settings(), catalogue=definitions)
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, proxy_headers=True)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from services import definitions
    from shared.db import create_engine
    from shared.migrate import current, upgrade

    settings = Settings()

    async def run() -> None:
        for d in definitions([args.service] if args.service else None):
            engine = create_engine(settings.database_url(d.name))
            try:
                await upgrade(engine, d.migrations)
                print(f"{d.name}: at {await current(engine)}")
            finally:
                await engine.dispose()

    asyncio.run(run())
    return 0


def cmd_events(args: argparse.Namespace) -> int:
    from shared.bus import bus_from_settings

    async def run() -> None:
        bus = bus_from_settings(Settings())
        await bus.start()
        try:
            records = await bus.tail_topic(args.topic, args.limit)
        finally:
            await bus.stop()
        for record in records:
            print(record.value.decode())

    asyncio.run(run())
    return 0


def cmd_dlq_list(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from services import definitions
    from shared.runtime import open_runtime

    async def run() -> None:
        for definition in definitions([args.service] if args.service else None):
            async with open_runtime(definition, Settings()) as runtime:
                t = runtime.infra.dead_letters
                query = sa.select(t).order_by(t.c.id)
                if not args.all:
                    query = query.where(t.c.redriven_at.is_(None))
                async with runtime.sessionmaker() as session:
                    for row in (await session.execute(query)).all():
                        state = "redriven" if row.redriven_at else "parked"
                        print(f"{definition.name}\t{row.id}\t{state}\t{row.consumer_group}\t"
                              f"{row.event_type or '-'}\t{row.event_id or '-'}\t"
                              f"{row.failed_at:%Y-%m-%dT%H:%M:%SZ}\t{row.attempts}\t"
                              f"{' '.join(row.error.split())[:300]}")

    asyncio.run(run())
    return 0


def cmd_dlq_redrive(args: argparse.Namespace) -> int:
    from services import definitions
    from shared.consumer import redrive
    from shared.runtime import open_runtime

    async def run() -> int:
        total = 0
        for definition in definitions([args.service] if args.service else None):
            async with open_runtime(definition, Settings()) as runtime:
                done = await redrive(runtime, dead_letter_id=args.id)
                await runtime.relay.publish_once()
                print(f"{definition.name}: {done} redriven")
                total += done
        return total

    asyncio.run(run())
    return 0


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    from services import definitions
    from shared.keys import rotate
    from shared.runtime import open_runtime

    async def run() -> None:
        for definition in definitions([args.service] if args.service else None):
            if not definition.encrypted_columns:
                continue
            async with open_runtime(definition, Settings()) as runtime:
                count = await rotate(runtime)
                print(f"{definition.name}: {count} values re-encrypted under key "
                      f"{runtime.cipher.current_id}")

    asyncio.run(run())
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from services import definitions
    from shared.replay import replay_projection
    from shared.runtime import open_runtime

    async def run() -> None:
        (definition,) = definitions([args.service])
        async with open_runtime(definition, Settings()) as runtime:
            for projection in definition.projections:
                count = await replay_projection(runtime, projection)
                print(f"{args.service}: {count} events replayed into "
                      f"{', '.join(projection.tables)}")

    asyncio.run(run())
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    settings = Settings()
    scopes = [s.strip() for s in args.scopes.split(",") if s.strip()]
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        print(f"unknown scopes: {', '.join(unknown)}", file=sys.stderr)
        return 2
    print(TokenCodec(settings.jwt_secret).mint(sub=args.sub, scopes=scopes, region=args.region,
                                               ttl=_hours(args.hours)))
    return 0


def _hours(h: float):
    import datetime as dt

    return dt.timedelta(hours=h)


if __name__ == "__main__":
    sys.exit(main())
