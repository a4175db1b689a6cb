"""Units (单位) and officials (干部), both bound to a region."""

from __future__ import annotations

import sqlalchemy as sa

from services.tasks.db.tables import Official, Unit
from shared.errors import Conflict, NotFound, Unprocessable
from shared.ids import new_id
from shared.regions import within
from shared.tx import Tx


def related(a: str, b: str) -> bool:
    """Two regions on one branch of the tree: one contains the other."""
    return within(a, b) or within(b, a)


async def create_unit(tx: Tx, *, name: str, region_code: str) -> Unit:
    existing = await find_unit(tx, name=name, region_code=region_code)
    if existing is not None:
        raise Conflict("unit_exists", "该区域已有同名单位 (a unit of that name exists here)",
                       field="name")
    unit = Unit(id=new_id(), name=name, region_code=region_code)
    tx.session.add(unit)
    await tx.session.flush()
    tx.audit("unit.create", "unit", unit.id, region_code=region_code,
             after={"id": unit.id, "name": name, "region_code": region_code})
    return unit


async def find_unit(tx: Tx, *, name: str, region_code: str) -> Unit | None:
    return (await tx.session.execute(sa.select(Unit).where(
        Unit.region_code == region_code, Unit.name == name))).scalar_one_or_none()


async def get_unit(tx: Tx, unit_id: str) -> Unit:
    unit = await tx.session.get(Unit, unit_id)
    if unit is None:
        raise NotFound("单位")
    return unit


async def list_units(tx: Tx, *, region: str, limit: int, after: str | None) -> list[Unit]:
    query = sa.select(Unit).where(Unit.region_code.startswith(region)).order_by(Unit.id)
    if after:
        query = query.where(Unit.id > after)
    return list((await tx.session.execute(query.limit(limit + 1))).scalars())


async def known_unit(tx: Tx, unit_id: str, *, field: str = "unit_id") -> Unit:
    """The unit a body refers to: 422 `unknown_unit` when there is none."""
    unit = await tx.session.get(Unit, unit_id)
    if unit is None:
        raise Unprocessable("unknown_unit", "单位不存在 (unknown unit)", field=field)
    return unit


async def create_official(tx: Tx, *, name: str, title: str | None, unit_id: str) -> Official:
    unit = await known_unit(tx, unit_id)
    official = Official(id=new_id(), name=name, title=title, unit_id=unit.id,
                        region_code=unit.region_code)
    tx.session.add(official)
    await tx.session.flush()
    tx.audit("official.create", "official", official.id, region_code=unit.region_code,
             after={"id": official.id, "unit_id": unit.id, "title": title})
    return official


async def get_official(tx: Tx, official_id: str) -> Official:
    official = await tx.session.get(Official, official_id)
    if official is None:
        raise NotFound("干部")
    return official


async def unit_in_region(tx: Tx, unit_id: str, region_code: str, *, field: str) -> Unit:
    """A unit that may work in `region_code`: 422 `unknown_unit` / `region_mismatch`."""
    unit = await tx.session.get(Unit, unit_id)
    if unit is None:
        raise Unprocessable("unknown_unit", f"单位不存在 (unknown unit {unit_id})", field=field)
    if not related(unit.region_code, region_code):
        raise Unprocessable("region_mismatch",
                            "单位不属于该区域 (the unit belongs to another region)", field=field)
    return unit


async def official_in_region(tx: Tx, official_id: str, region_code: str, *,
                             field: str) -> Official:
    """An official who may lead in `region_code`: 422 `unknown_official` / `region_mismatch`."""
    official = await tx.session.get(Official, official_id)
    if official is None:
        raise Unprocessable("unknown_official", "干部不存在 (unknown official)", field=field)
    if not related(official.region_code, region_code):
        raise Unprocessable("region_mismatch",
                            "干部不属于该区域 (the official belongs to another region)",
                            field=field)
    return official


async def nearest_unit(tx: Tx, *, region_codes: list[str]) -> Unit | None:
    """The first-created unit of the first region in `region_codes` that has any."""
    if not region_codes:
        return None
    found = (await tx.session.execute(
        sa.select(Unit).where(Unit.region_code.in_(region_codes))
        .order_by(Unit.created_at, Unit.id))).scalars().all()
    by_region = {}
    for unit in found:
        by_region.setdefault(unit.region_code, unit)
    return next((by_region[c] for c in region_codes if c in by_region), None)
