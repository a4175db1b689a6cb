"""`fupin import plan FILE --region CODE`: the plan import, against the configured database."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
from pathlib import Path


def add_import_commands(import_sub) -> None:
    plan = import_sub.add_parser("plan", help="import a plan and its tasks from a document's text")
    plan.add_argument("file", type=Path, help="UTF-8 plain text of the policy document")
    plan.add_argument("--region", required=True, help="region code the plan belongs to")
    plan.add_argument("--document-no", default=None, help="文号; default: found in the text")
    plan.add_argument("--issued-on", type=dt.date.fromisoformat, default=None,
                      help="YYYY-MM-DD; default today (Asia/Shanghai)")
    plan.add_argument("--title", default=None)
    plan.set_defaults(func=cmd_import_plan)


def cmd_import_plan(args: argparse.Namespace) -> int:
    from shared.errors import Problem
    from shared.regions import is_region_code

    if not is_region_code(args.region):
        print(f"invalid region code: {args.region}", file=sys.stderr)
        return 2
    text = args.file.read_text(encoding="utf-8-sig")
    try:
        summary = asyncio.run(_import(text, args))
    except Problem as problem:
        print(json.dumps(problem.body(), ensure_ascii=False), file=sys.stderr)
        return 1
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    return 0


async def _publish(runtime) -> None:
    """Publish the import's events now; if the bus is down the service's relay sends them."""
    from shared.bus.base import BusUnavailable

    try:
        while await runtime.relay.publish_once():
            pass
    except (BusUnavailable, OSError) as exc:
        print(f"events left in the outbox for the service's relay: {exc}", file=sys.stderr)


async def _import(text: str, args: argparse.Namespace) -> dict:
    from services.tasks.domain import plans
    from services.tasks.domain.calendar import today
    from services.tasks.service import definition
    from shared.runtime import open_runtime
    from shared.settings import Settings

    async with open_runtime(definition, Settings()) as runtime:
        async with runtime.sessionmaker() as session:
            tx = runtime.new_tx(session, actor="cli:import-plan")
            result = await plans.import_plan(tx, text=text, region_code=args.region,
                                             document_no=args.document_no,
                                             issued_on=args.issued_on or today(), title=args.title)
            await tx.flush()
            await session.commit()
        await _publish(runtime)
    return {
        "plan_id": result.plan.id, "title": result.plan.title,
        "document_no": result.plan.document_no, "tasks": len(result.tasks),
        "units_created": result.units_created, "officials_created": result.officials_created,
        "unplaced": [{"line": u.line, "reason": u.reason, "text": u.text[:80]}
                     for u in result.unplaced],
    }
