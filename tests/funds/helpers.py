"""Building blocks for the funds tests: bodies, a household in the funds projection,
row counts that prove a rejected request wrote nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from services.funds.domain.common import today
from shared.bus.base import Outgoing
from shared.events.envelope import CloudEvent
from shared.events.registry import MemberRemoved
from shared.events.topics import HOUSEHOLDS
from tests.support.db import count, rows
from tests.support.factories import VILLAGE, household
from tests.support.platform import eventually

F = "/api/v1/funds"
COUNTY = VILLAGE[:6]
YEAR = today().year
LEDGER_TABLES = ("sources", "projects", "project_beneficiaries", "allocations",
                 "disbursements", "reversals", "alerts", "fund_rules")


def source_body(**overrides: Any) -> dict[str, Any]:
    body = {"name": "中央财政衔接推进乡村振兴补助资金", "level": "central",
            "kind": "fiscal_special", "fiscal_year": YEAR, "document_no": "湘财农指〔2026〕1号",
            "region_code": COUNTY, "amount": "100000.00",
            "permitted_categories": ["industry", "infrastructure"], "nature": "专项转移支付",
            "expenditure_class": "2130505 生产发展"}
    body.update(overrides)
    return body


def project_body(**overrides: Any) -> dict[str, Any]:
    start = dt.date(YEAR, 3, 1)
    body = {"name": "村级光伏产业项目", "region_code": VILLAGE, "category": "industry",
            "budget": "50000.00", "planned_start": start.isoformat(),
            "planned_end": dt.date(YEAR, 12, 31).isoformat(), "beneficiary_household_ids": [],
            "content": "建设 100kW 村级光伏电站", "implementing_unit": "某某村村民委员会",
            "targets": "村集体年增收 5 万元"}
    body.update(overrides)
    return body


async def post(p, path: str, body: dict, **auth: Any):
    return await p.client("funds").post(F + path, json=body, headers=p.auth(**auth))


async def get(p, path: str, **auth: Any):
    return await p.client("funds").get(F + path, headers=p.auth(**auth))


async def new_source(p, **overrides: Any) -> dict:
    r = await post(p, "/sources", source_body(**overrides))
    assert r.status_code == 201, r.text
    return r.json()


async def new_project(p, *, approve: bool = True, **overrides: Any) -> dict:
    r = await post(p, "/projects", project_body(**overrides))
    assert r.status_code == 201, r.text
    if approve:
        r = await post(p, f"/projects/{r.json()['id']}/approve", {})
        assert r.status_code == 200, r.text
    return r.json()


async def new_allocation(p, source: dict, project: dict, amount: str = "10000.00",
                         allocated_on: dt.date | None = None) -> dict:
    r = await post(p, "/allocations", {
        "source_id": source["id"], "project_id": project["id"], "amount": amount,
        "document_no": "县扶贫办〔2026〕5号",
        "allocated_on": (allocated_on or dt.date(YEAR, 1, 15)).isoformat()})
    assert r.status_code == 201, r.text
    return r.json()


def disbursement_body(allocation: dict, amount: str = "1000.00", **overrides: Any) -> dict:
    body = {"allocation_id": allocation["id"], "amount": amount, "payee": "某某建筑公司",
            "paid_on": dt.date(YEAR, 2, 1).isoformat(), "voucher_no": "记-0001"}
    body.update(overrides)
    return body


async def new_disbursement(p, allocation: dict, amount: str = "1000.00", **overrides) -> dict:
    r = await post(p, "/disbursements", disbursement_body(allocation, amount, **overrides))
    assert r.status_code == 201, r.text
    return r.json()


async def registered_household(p, village: str = VILLAGE) -> str:
    """Register through the registry API, then wait until funds' projection has it."""
    r = await p.client("registry").post("/api/v1/registry/households",
                                        json=household(village), headers=p.auth())
    assert r.status_code == 201, r.text
    hid = r.json()["id"]
    await eventually(lambda: rows(p.runtime("funds"),
                                  "SELECT 1 FROM household_view WHERE household_id = :h", h=hid))
    return hid


async def household_leaves(p, household_id: str, village: str = VILLAGE) -> None:
    """The registry's API cannot empty a household (the head cannot be removed), so the
    `member_removed` event that drops the count to 0 is put on the registry topic directly."""
    event = CloudEvent.of(MemberRemoved(household_id=household_id, region_code=village,
                                        member_id="m-last", reason="death", member_count=0),
                          service="registry", subject=household_id, region_code=village)
    await p.runtime("registry").bus.publish([Outgoing(topic=HOUSEHOLDS, key=household_id,
                                                      value=event.to_bytes())])
    await eventually(lambda: rows(p.runtime("funds"), "SELECT 1 FROM household_view WHERE "
                                  "household_id = :h AND NOT in_registry", h=household_id))


async def counts(p) -> dict[str, int]:
    rt = p.runtime("funds")
    return {t: await count(rt, t) for t in (*LEDGER_TABLES, "outbox")}


def error_code(r) -> str:
    assert r.headers["content-type"] == "application/problem+json", r.text
    return r.json()["errors"][0]["code"]
