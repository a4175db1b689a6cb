"""Regions (行政区划): the five-level hierarchy derived from 12-digit codes."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import select

from services.registry.db.tables import Household, Member, Region
from services.registry.domain import rules
from services.registry.domain.enums import HouseholdStatus
from shared.errors import Conflict, NotFound, Unprocessable
from shared.events.registry import RegionCreated, RegionExited, RegionUpdated
from shared.regions import level_of, parent_of
from shared.tx import Tx


async def create_region(tx: Tx, *, code: str, name: str, parent_code: str | None) -> Region:
    expected_parent = parent_of(code)
    if parent_code is not None and parent_code != expected_parent:
        raise Unprocessable("parent_mismatch",
                            f"上级区划应为 {expected_parent} (parent must be the code's prefix)",
                            field="parent_code")
    if await tx.session.get(Region, code) is not None:
        raise Conflict("region_exists", "该区划代码已存在 (region already exists)", field="code")
    if expected_parent is not None and await tx.session.get(Region, expected_parent) is None:
        raise Unprocessable("unknown_parent", "上级区划不存在 (parent region does not exist)",
                            field="parent_code")
    region = Region(code=code, name=name, level=level_of(code).value, parent_code=expected_parent)
    tx.session.add(region)
    tx.emit(RegionCreated(code=code, level=region.level, parent_code=expected_parent),
            subject=code, region_code=code)
    tx.audit("region.create", "region", code, region_code=code, after=_snapshot(region))
    return region


async def get_region(tx: Tx, code: str, *, for_update: bool = False) -> Region:
    region = await tx.session.get(Region, code, with_for_update=for_update or None,
                                  populate_existing=for_update)
    if region is None:
        raise NotFound("行政区划")
    return region


async def list_children(tx: Tx, *, parent: str | None, within: str, limit: int,
                        after: str | None) -> list[Region]:
    query = select(Region).where(Region.code.startswith(within)).order_by(Region.code)
    if parent is not None:
        query = query.where(Region.parent_code == parent) if parent else query.where(
            Region.parent_code.is_(None))
    if after:
        query = query.where(Region.code > after)
    return list((await tx.session.execute(query.limit(limit + 1))).scalars().all())


POOR_STATUSES = (HouseholdStatus.poor.value, HouseholdStatus.relapsed.value)
"""Statuses whose current members count as poor people in 贫困发生率."""


async def update_village(tx: Tx, region: Region, *, changes: dict) -> Region:
    """Set village attributes (贫困村 flag, registered rural population)."""
    if region.level != "village":
        raise Unprocessable("not_a_village", "只有村级区划有这些属性 (only villages have these)",
                            field="code")
    if changes.get("is_poor_village", False) is None:
        raise Unprocessable("invalid_value", "贫困村标志不能为空 (is_poor_village must be a boolean)",
                            field="is_poor_village")
    before = _snapshot(region)
    for name, value in changes.items():
        setattr(region, name, value)
    region.version += 1
    tx.session.add(region)
    tx.emit(RegionUpdated(code=region.code, is_poor_village=region.is_poor_village,
                          population=region.population, version=region.version),
            subject=region.code, region_code=region.code)
    tx.audit("region.update", "region", region.code, region_code=region.code, before=before,
             after=_snapshot(region))
    return region


async def poor_people(tx: Tx, village_code: str) -> int:
    """Current members of the village's poor and relapsed households."""
    value = await tx.session.scalar(
        sa.select(sa.func.count(Member.id))
        .join(Household, Household.id == Member.household_id)
        .where(Household.region_code == village_code, Household.status.in_(POOR_STATUSES),
               Member.removed_on.is_(None)))
    return int(value or 0)


async def exit_village(tx: Tx, *, code: str, year: int) -> Region:
    """贫困村出列: the poverty incidence must be below the region's threshold."""
    region = await get_region(tx, code, for_update=True)
    _ensure_can_exit(region)
    assert region.population is not None
    poor = await poor_people(tx, code)
    threshold = await rules.exit_threshold(tx, region_code=code)
    # incidence < threshold  <=>  poor / population < bp / 10000, kept in integers.
    if poor * 10_000 >= threshold.value * region.population:
        raise Unprocessable(
            "incidence_above_threshold",
            f"贫困发生率 {poor}/{region.population} 未低于 {threshold.value / 100:.2f}% "
            "(poverty incidence not below the threshold)", field="population")
    before = _snapshot(region)
    region.exited_year = year
    region.version += 1
    tx.session.add(region)
    tx.emit(RegionExited(code=code, year=year, poor_people=poor, population=region.population,
                         threshold_bp=threshold.value), subject=code, region_code=code)
    tx.audit("region.exit", "region", code, region_code=code, before=before,
             after=_snapshot(region))
    return region


def _ensure_can_exit(region: Region) -> None:
    if region.level != "village":
        raise Unprocessable("not_a_village", "只有村可以出列 (only villages exit)", field="code")
    if not region.is_poor_village:
        raise Unprocessable("not_a_poor_village", "该村不是贫困村 (not a poor village)",
                            field="code")
    if region.exited_year is not None:
        raise Unprocessable("already_exited", "该村已出列 (village already exited)", field="code")
    if not region.population:
        raise Unprocessable("population_unknown",
                            "未登记农村户籍人口，无法计算贫困发生率 (population not set)",
                            field="population")


def _snapshot(region: Region) -> dict:
    return region.model_dump(mode="json", exclude={"created_at"})
