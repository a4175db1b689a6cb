"""Regions (行政区划): the five-level hierarchy derived from 12-digit codes."""

from __future__ import annotations

from sqlalchemy import select

from services.registry.db.tables import Region
from shared.errors import Conflict, NotFound, Unprocessable
from shared.events.registry import RegionCreated
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


async def get_region(tx: Tx, code: str) -> Region:
    region = await tx.session.get(Region, code)
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


def _snapshot(region: Region) -> dict:
    return region.model_dump(mode="json", exclude={"created_at"})
