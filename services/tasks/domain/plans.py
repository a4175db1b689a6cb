"""Plans (实施方案) and importing one, with its tasks, from a policy document's text."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import sqlalchemy as sa

from services.tasks.db.tables import Official, Plan, Task, Unit
from services.tasks.domain import tasks as task_rules
from services.tasks.domain.plan_import import ExtractedTask, Unplaced, extract_plan
from shared.db import insert_ignore
from shared.errors import NotFound, Unprocessable
from shared.ids import new_id
from shared.tx import Tx

# A 牵头领导 value is a person's name when it is 2-4 Han characters that do not end like a
# post (区长, 副书记, 主任 ...); otherwise it is a title and no official is created for it.
_NAME = re.compile(r"[\u4e00-\u9fff·]{2,4}")
_TITLE_ENDINGS = ("长", "书记", "主任", "领导", "委员", "主席", "负责人", "同志", "干部", "区级",
                  "县级", "市级", "镇级", "乡级", "局", "办", "委", "部")


def is_person_name(value: str) -> bool:
    return bool(_NAME.fullmatch(value)) and not value.endswith(_TITLE_ENDINGS)


async def create_plan(tx: Tx, *, title: str, document_no: str | None, issued_on: dt.date,
                      region_code: str) -> Plan:
    plan = Plan(id=new_id(), title=title, document_no=document_no, issued_on=issued_on,
                region_code=region_code)
    tx.session.add(plan)
    await tx.session.flush()
    tx.audit("plan.create", "plan", plan.id, region_code=region_code,
             after=plan.model_dump(mode="json", exclude={"created_at"}))
    return plan


async def get_plan(tx: Tx, plan_id: str) -> Plan:
    plan = await tx.session.get(Plan, plan_id)
    if plan is None:
        raise NotFound("实施方案")
    return plan


@dataclass
class ImportedTask:
    task: Task
    extracted: ExtractedTask
    lead_unit: str
    cooperating_units: list[str]
    lead_official: str | None
    lead_official_titles: list[str]


@dataclass
class ImportResult:
    plan: Plan
    tasks: list[ImportedTask] = field(default_factory=list)
    unplaced: list[Unplaced] = field(default_factory=list)
    units_created: list[str] = field(default_factory=list)
    officials_created: list[str] = field(default_factory=list)


async def import_plan(tx: Tx, *, text: str, region_code: str, document_no: str | None,
                      issued_on: dt.date, title: str | None = None) -> ImportResult:
    """Store the plan, its units, named leaders and tasks; 422 `no_tasks_found` when the
    document holds no importable task (then nothing is stored). A task without 完成时限 is due
    on 31 December of the issue year; one due before the issue date is reported, not stored."""
    extracted = extract_plan(text, default_year=issued_on.year)
    unplaced = list(extracted.unplaced)
    placeable: list[tuple[ExtractedTask, dt.date]] = []
    for item in extracted.tasks:
        due_on = item.due_on or dt.date(issued_on.year, 12, 31)
        if any(len(n) > 100 for n in (*item.lead_units, *item.cooperating_units)):
            unplaced.append(Unplaced(item.line, item.title, "unit_name_too_long"))
        elif item.lead_units and due_on < issued_on:
            unplaced.append(Unplaced(item.line, item.title, "due_before_issue"))
        elif item.lead_units:
            placeable.append((item, due_on))
    if not placeable:
        raise Unprocessable("no_tasks_found", "文件中未找到可导入的任务（须有牵头/责任单位） "
                            "(no recognisable task in the document)", field="body")
    plan = await create_plan(tx, title=title or extracted.title or "未命名实施方案",
                             document_no=document_no or extracted.document_no,
                             issued_on=issued_on, region_code=region_code)
    result = ImportResult(plan=plan, unplaced=unplaced)
    names = {n for t, _ in placeable for n in (*t.lead_units, *t.cooperating_units)}
    unit_ids = await _ensure_units(tx, sorted(names), region_code, result)
    leaders = {n for t, _ in placeable for n in t.lead_officials if is_person_name(n)}
    official_ids = await _ensure_officials(tx, sorted(leaders), region_code, result)
    for item, due_on in placeable:
        result.tasks.append(await _import_task(tx, plan, item, due_on, unit_ids, official_ids))
    result.unplaced.sort(key=lambda u: u.line)
    return result


async def _import_task(tx: Tx, plan: Plan, item: ExtractedTask, due_on: dt.date,
                       unit_ids: dict[str, str], official_ids: dict[str, str]) -> ImportedTask:
    lead, *more_leads = item.lead_units
    cooperating = list(dict.fromkeys([*more_leads, *item.cooperating_units]))
    named = [n for n in item.lead_officials if n in official_ids]
    titles = [n for n in item.lead_officials if n not in official_ids]
    description = item.detail
    if item.lead_officials[1:] or titles:
        description += "\n牵头领导：" + "、".join(item.lead_officials)
    task = await task_rules.create_task(
        tx, plan_id=plan.id, title=item.title[:300], description=description,
        region_code=plan.region_code, lead_unit_id=unit_ids[lead],
        lead_official_id=official_ids[named[0]] if named else None,
        cooperating_unit_ids=[unit_ids[n] for n in cooperating], due_on=due_on,
        category=f"{item.section or ''}{item.number}"[:50] or None, source="plan_import")
    return ImportedTask(task, item, lead, cooperating, named[0] if named else None, titles)


async def _ensure_units(tx: Tx, names: list[str], region_code: str,
                        result: ImportResult) -> dict[str, str]:
    """Unit ids by name in the region, creating the missing ones in one statement."""
    found = dict((await tx.session.execute(sa.select(Unit.name, Unit.id).where(
        Unit.region_code == region_code, Unit.name.in_(names)))).all())
    missing = [n for n in names if n not in found]
    if missing:
        rows = [{"id": new_id(), "name": n, "region_code": region_code,
                 "created_at": dt.datetime.now(dt.UTC)} for n in missing]
        # a concurrent import may create the same name first: keep its row, not a 500
        await tx.session.execute(insert_ignore(tx.dialect, Unit.__table__, rows))
        found = dict((await tx.session.execute(sa.select(Unit.name, Unit.id).where(
            Unit.region_code == region_code, Unit.name.in_(names)))).all())
        for row in rows:
            if found.get(row["name"]) == row["id"]:
                tx.audit("unit.create", "unit", row["id"], region_code=region_code,
                         after={"id": row["id"], "name": row["name"], "source": "plan_import"})
        result.units_created = missing
    return found


async def _ensure_officials(tx: Tx, names: list[str], region_code: str,
                            result: ImportResult) -> dict[str, str]:
    """Named leaders of the region, matched by name; new ones are created without a unit."""
    found = dict((await tx.session.execute(
        sa.select(Official.name, sa.func.min(Official.id)).where(
            Official.region_code == region_code, Official.name.in_(names))
        .group_by(Official.name))).all())
    missing = [n for n in names if n not in found]
    if missing:
        rows = [{"id": new_id(), "name": n, "title": "牵头领导", "unit_id": None,
                 "region_code": region_code, "created_at": dt.datetime.now(dt.UTC)}
                for n in missing]
        await tx.session.execute(sa.insert(Official), rows)
        for row in rows:
            found[row["name"]] = row["id"]
            tx.audit("official.create", "official", row["id"], region_code=region_code,
                     after={"id": row["id"], "title": "牵头领导", "source": "plan_import"})
        result.officials_created = missing
    return found
