"""`GET /api/v1/<service>/audit`: the service's audit log for administrators."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query
from pydantic import BaseModel

from shared.auth import Principal, require
from shared.service import ServiceDefinition
from shared.web import Page, PageDep, TxDep, page_of, service_router


class AuditEntry(BaseModel):
    id: str
    at: dt.datetime
    actor: str
    action: str
    resource_type: str
    resource_id: str
    region_code: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None


def audit_router(definition: ServiceDefinition) -> APIRouter:
    router = service_router(definition.name, tags=[f"{definition.name}: audit 审计"])
    table = definition.infra.audit

    @router.get("/audit", response_model=Page[AuditEntry],
                summary="审计日志 / audit log (admin)",
                description="谁在何时改了什么（前后快照）。需要 admin 权限，只返回调用方辖区内的记录。"
                            " Who changed what and when, with before/after snapshots.")
    async def list_audit(
        tx: TxDep, page: PageDep, principal: Annotated[Principal, require("admin")],
        resource_type: Annotated[str | None, Query(max_length=50)] = None,
        resource_id: Annotated[str | None, Query(max_length=100)] = None,
        since: dt.datetime | None = None, until: dt.datetime | None = None,
    ) -> Page[AuditEntry]:
        query = sa.select(table).order_by(table.c.id).limit(page.limit + 1)
        if principal.region:
            query = query.where(table.c.region_code.startswith(principal.region))
        if resource_type:
            query = query.where(table.c.resource_type == resource_type)
        if resource_id:
            query = query.where(table.c.resource_id == resource_id)
        if since:
            query = query.where(table.c.at >= since)
        if until:
            query = query.where(table.c.at < until)
        if page.after:
            query = query.where(table.c.id > page.after)
        found = [AuditEntry.model_validate(r, from_attributes=True)
                 for r in (await tx.session.execute(query)).all()]
        return page_of(found, page.limit, key=lambda e: e.id)

    return router
