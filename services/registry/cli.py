"""Registry commands for `fupin`: `fupin import households FILE`, `fupin seed` and
`fupin stats check|rebuild`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
import time
from pathlib import Path


def add_import_commands(import_sub: argparse._SubParsersAction) -> None:
    p = import_sub.add_parser("households", help="bulk import households from CSV or XLSX "
                                                 "(see docs/imports.md)")
    p.add_argument("file", type=Path)
    p.add_argument("--mode", choices=("strict", "partial"), default="strict",
                   help="strict: all or nothing (default); partial: commit every batch, keep "
                        "the good households, re-run to resume")
    p.add_argument("--batch", type=int, default=1000, help="households per batch")
    p.add_argument("--actor", default=None, help="recorded in the audit log (default cli:<user>)")
    p.set_defaults(func=cmd_import_households)


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("seed", help="write a CSV of synthetic households (and their regions)")
    p.add_argument("--households", type=int, required=True)
    p.add_argument("--region", required=True, help="county, township or village code")
    p.add_argument("--out", type=Path, default=Path("households-seed.csv"))
    p.add_argument("--seed", type=int, default=1, help="same seed, same file")
    p.add_argument("--create-regions", action="store_true",
                   help="also register the province-to-village regions in the registry database")
    p.set_defaults(func=cmd_seed)

    stats = sub.add_parser("stats", help="the registry's statistics counters (household_stats, "
                                         "county_stats, village_poor_people)")
    stats_sub = stats.add_subparsers(dest="stats_command", required=True)
    stats_sub.add_parser("check", help="compare the counters with the households and members; "
                                       "exit 1 when any differs").set_defaults(func=cmd_stats_check)
    stats_sub.add_parser("rebuild", help="recompute every counter from the households and "
                                         "members (repair)").set_defaults(func=cmd_stats_rebuild)


def cmd_import_households(args: argparse.Namespace) -> int:
    actor = args.actor or f"cli:{getpass.getuser()}"
    return asyncio.run(run_import(args.file, mode=args.mode, batch=args.batch, actor=actor))


async def run_import(path: Path, *, mode: str, batch: int, actor: str) -> int:
    from services.registry.domain.imports import ImportRejected
    from services.registry.service import definition
    from shared.errors import Problem
    from shared.runtime import open_runtime
    from shared.settings import Settings

    started = time.monotonic()
    async with open_runtime(definition, Settings()) as runtime:
        try:
            report = await import_file(runtime, path, mode=mode, batch=batch, actor=actor,
                                       progress=_progress(started))
        except ImportRejected as exc:
            _print_errors(exc.report.errors)
            print(json.dumps(exc.body(), ensure_ascii=False, indent=1))
            return 1
        except Problem as exc:
            print(json.dumps(exc.body(), ensure_ascii=False, indent=1))
            return 1
    _print_errors(report.errors)
    print(json.dumps(report.body(), ensure_ascii=False, indent=1))
    return 0


async def import_file(runtime, path: Path, *, mode: str, batch: int, actor: str,
                      progress=None):
    """Import a file into the runtime's database: strict in one transaction, partial in one
    per batch (the same units of work the HTTP route uses)."""
    from services.registry.api.imports import batch_unit
    from services.registry.domain import imports
    from services.registry.domain.tabular_io import open_table

    with path.open("rb") as stream:
        table = open_table(stream)
        try:
            if mode == "partial":
                return await imports.import_households(
                    lambda: batch_unit(runtime, actor), table=table, mode="partial",
                    file_name=path.name, cipher=runtime.cipher, batch_households=batch,
                    on_progress=progress)
            async with runtime.sessionmaker() as session:
                tx = runtime.new_tx(session, actor=actor)
                report = await imports.import_households(
                    lambda: imports.shared_unit(tx), table=table, mode="strict",
                    file_name=path.name, cipher=runtime.cipher, batch_households=batch,
                    on_progress=progress)
                await tx.flush()
                await session.commit()
            return report
        finally:
            table.close()


def _progress(started: float):
    def show(report) -> None:
        elapsed = max(time.monotonic() - started, 1e-6)
        print(f"import: {report.rows} rows, {report.imported} households "
              f"({report.people} people) imported, {report.already_imported} already imported, "
              f"{report.rejected} rejected; {report.people / elapsed:,.0f} people/s",
              file=sys.stderr, flush=True)

    return show


def _print_errors(errors) -> None:
    for e in errors:
        print(f"row {e.row} [{e.field}] {e.code}: {e.detail}", file=sys.stderr)


def cmd_seed(args: argparse.Namespace) -> int:
    from services.registry.domain.seed import write_seed_csv

    summary = write_seed_csv(args.out, households=args.households, region=args.region,
                             seed=args.seed,
                             progress=lambda n: print(f"seed: {n} people", file=sys.stderr))
    print(f"seed: {summary.households} households, {summary.people} people in "
          f"{summary.villages} villages -> {args.out}", file=sys.stderr)
    if args.create_regions:
        created = asyncio.run(create_regions(args.region, args.households))
        print(f"seed: {created} regions created in the registry", file=sys.stderr)
    return 0


async def create_regions(region: str, households: int, runtime=None) -> int:
    """Register the seed's regions through the registry's domain function, in one transaction."""
    from services.registry.domain.seed import ensure_regions, region_plan

    if runtime is None:
        from services.registry.service import definition
        from shared.runtime import open_runtime
        from shared.settings import Settings

        async with open_runtime(definition, Settings()) as opened:
            return await create_regions(region, households, opened)
    async with runtime.sessionmaker() as session:
        tx = runtime.new_tx(session, actor=f"cli:{getpass.getuser()}")
        created = await ensure_regions(tx, region_plan(region, households))
        await tx.flush()
        await session.commit()
    return created


def cmd_stats_check(args: argparse.Namespace) -> int:
    from services.registry.domain import counters

    differences = asyncio.run(_with_tx("cli:stats-check", counters.differences))
    for table, key, stored, expected in differences[:50]:
        print(f"{table} {'/'.join(map(str, key))}: stored {stored}, expected {expected}")
    if len(differences) > 50:
        print(f"... and {len(differences) - 50} more")
    print(f"stats: {len(differences)} counters differ from the base tables"
          + ("; run `fupin stats rebuild`" if differences else ""))
    return 1 if differences else 0


def cmd_stats_rebuild(args: argparse.Namespace) -> int:
    from services.registry.domain import counters

    rows = asyncio.run(_with_tx(f"cli:{getpass.getuser()}", counters.rebuild, commit=True))
    print(f"stats: rebuilt, {rows} village counter rows")
    return 0


async def _with_tx(actor: str, work, *, commit: bool = False):
    """Run `work(tx)` in one transaction of the registry database (from FUPIN_* settings)."""
    from services.registry.service import definition
    from shared.runtime import open_runtime
    from shared.settings import Settings

    async with open_runtime(definition, Settings()) as runtime:
        async with runtime.sessionmaker() as session:
            tx = runtime.new_tx(session, actor=actor)
            result = await work(tx)
            if commit:
                await tx.flush()
                await session.commit()
            return result
