"""整改台账: each problem has a responsible unit, a named person and a deadline (定人限时),
and is closed out (销号) only with evidence."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from services.tasks.db.tables import Rectification
from services.tasks.domain import units
from services.tasks.domain.calendar import today as shanghai_today
from services.tasks.domain.enums import RectificationStatus
from shared.errors import NotFound, Unprocessable
from shared.events.tasks import RectificationClosed, RectificationOpened
from shared.ids import new_id
from shared.tx import Tx


async def open_rectification(tx: Tx, *, title: str, source: str, region_code: str,
                             responsible_unit_id: str, responsible_person: str, due_on: dt.date,
                             source_key: str | None = None) -> Rectification:
    if source_key is not None:
        existing = (await tx.session.execute(sa.select(Rectification).where(
            Rectification.source_key == source_key))).scalar_one_or_none()
        if existing is not None:
            return existing
    await units.unit_in_region(tx, responsible_unit_id, region_code, field="responsible_unit_id")
    item = Rectification(id=new_id(), title=title, source=source, region_code=region_code,
                         responsible_unit_id=responsible_unit_id,
                         responsible_person=responsible_person, due_on=due_on,
                         status=RectificationStatus.open.value, source_key=source_key)
    tx.session.add(item)
    await tx.session.flush()
    tx.emit(RectificationOpened(rectification_id=item.id, region_code=region_code, source=source,
                                responsible_unit_id=responsible_unit_id, due_on=due_on),
            subject=item.id, region_code=region_code)
    tx.audit("rectification.open", "rectification", item.id, region_code=region_code,
             after=snapshot(item))
    return item


async def get_rectification(tx: Tx, rectification_id: str, *, lock: bool = False) -> Rectification:
    item = await tx.session.get(Rectification, rectification_id, with_for_update=lock,
                                populate_existing=lock)
    if item is None:
        raise NotFound("整改事项")
    return item


async def update_rectification(tx: Tx, *, item: Rectification, responsible_person: str | None,
                               due_on: dt.date | None) -> Rectification:
    """Name the person or move the deadline of an open item."""
    _ensure_open(item)
    before = snapshot(item)
    if responsible_person is not None:
        item.responsible_person = responsible_person
    if due_on is not None:
        item.due_on = due_on
    _touch(item)
    await tx.session.flush()
    tx.audit("rectification.update", "rectification", item.id, region_code=item.region_code,
             before=before, after=snapshot(item))
    return item


async def close_rectification(tx: Tx, *, item: Rectification, evidence: str | None,
                              closed_on: dt.date | None = None) -> Rectification:
    _ensure_open(item)
    if not evidence or not evidence.strip():
        raise Unprocessable("evidence_required", "整改销号须提供佐证材料 (evidence is required "
                            "to close a rectification)", field="evidence")
    before = snapshot(item)
    item.status, item.evidence = RectificationStatus.closed.value, evidence
    item.closed_on = closed_on or shanghai_today()
    _touch(item)
    await tx.session.flush()
    tx.emit(RectificationClosed(rectification_id=item.id, region_code=item.region_code,
                                closed_on=item.closed_on), subject=item.id,
            region_code=item.region_code)
    tx.audit("rectification.close", "rectification", item.id, region_code=item.region_code,
             before=before, after=snapshot(item))
    return item


async def search(tx: Tx, *, region: str, status: str | None, overdue: bool | None,
                 today: dt.date, limit: int, after: str | None) -> list[Rectification]:
    query = (sa.select(Rectification).where(Rectification.region_code.startswith(region))
             .order_by(Rectification.id))
    if status:
        query = query.where(Rectification.status == status)
    if overdue is not None:
        late = sa.and_(Rectification.due_on < today,
                       Rectification.status == RectificationStatus.open.value)
        query = query.where(late if overdue else sa.not_(late))
    if after:
        query = query.where(Rectification.id > after)
    return list((await tx.session.execute(query.limit(limit + 1))).scalars())


def snapshot(item: Rectification) -> dict:
    """Audit snapshot without the responsible person's name."""
    return item.model_dump(mode="json", exclude={"created_at", "updated_at", "evidence",
                                                 "responsible_person"})


def _ensure_open(item: Rectification) -> None:
    if item.status != RectificationStatus.open.value:
        raise Unprocessable("rectification_closed", "整改事项已销号 (already closed)")


def _touch(item: Rectification) -> None:
    item.version += 1
    item.updated_at = dt.datetime.now(dt.UTC)
