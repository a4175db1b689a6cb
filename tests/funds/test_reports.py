"""Trace of every fen, household benefits, statistics with category shares against the rule,
and the public notice without personal data."""

import csv
import io

from openpyxl import load_workbook

from tests.funds.helpers import (
    COUNTY,
    YEAR,
    F,
    counts,
    error_code,
    get,
    new_allocation,
    new_disbursement,
    new_project,
    new_source,
    post,
    registered_household,
)
from tests.support.factories import VILLAGE


async def _ledger(p):
    """One source, two projects, payments to a household and a contractor, one reversal."""
    hid = await registered_household(p)
    source = await new_source(p, amount="10000.00")
    industry = await new_project(p, beneficiary_household_ids=[hid])
    roads = await new_project(p, name="通村道路硬化", category="infrastructure")
    a1 = await new_allocation(p, source, industry, "6000.00")
    a2 = await new_allocation(p, source, roads, "3000.00")
    to_household = await new_disbursement(p, a1, "2000.00", household_id=hid, payee="王五",
                                           voucher_no="记-0002")
    wrong = await new_disbursement(p, a1, "500.00", payee="某合作社")
    await post(p, f"/disbursements/{wrong['id']}/reverse", {"reason": "收款账户错误"})
    await new_disbursement(p, a2, "3000.00", payee="某路桥公司")
    return {"hid": hid, "source": source, "industry": industry, "roads": roads, "a1": a1,
            "a2": a2, "paid": to_household}


async def test_flow_traces_every_fen_with_running_balances(funds):
    led = await _ledger(funds)
    r = await get(funds, f"/sources/{led['source']['id']}/flow")
    assert r.status_code == 200, r.text
    flow = r.json()
    assert flow["amount"] == "10000.00" and flow["unallocated"] == "1000.00"
    first, second = flow["allocations"]
    assert (first["project_id"], first["source_balance"]) == (led["industry"]["id"], "4000.00")
    assert second["source_balance"] == "1000.00" and second["undisbursed"] == "0.00"
    assert [(e["type"], e["amount"], e["allocation_balance"]) for e in first["entries"]] == [
        ("disbursement", "2000.00", "4000.00"), ("disbursement", "500.00", "3500.00"),
        ("reversal", "500.00", "4000.00")]
    assert first["entries"][0]["household_id"] == led["hid"]
    assert first["entries"][1]["reversed"] is True
    assert first["undisbursed"] == "4000.00"


async def test_flow_outside_region_404(funds):
    source = await new_source(funds)
    r = await get(funds, f"/sources/{source['id']}/flow", region="430903",
                  scopes=["funds:read"])
    assert r.status_code == 404


async def test_household_benefits(funds):
    led = await _ledger(funds)
    r = await get(funds, f"/households/{led['hid']}/benefits")
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["received"] == "2000.00" and data["in_registry"] is True
    assert [p["id"] for p in data["projects"]] == [led["industry"]["id"]]
    assert [(d["id"], d["amount"]) for d in data["disbursements"]] == [
        (led["paid"]["id"], "2000.00")]
    outside = await get(funds, f"/households/{led['hid']}/benefits", region="430903",
                        scopes=["funds:read"])
    assert outside.status_code == 404
    assert (await get(funds, "/households/unknown/benefits")).status_code == 404


async def test_stats_by_level_kind_category_with_progress(funds):
    await _ledger(funds)
    await new_source(funds, level="provincial", kind="integrated_agri", amount="5000.00")
    r = await get(funds, f"/stats?region={COUNTY}&fiscal_year={YEAR}")
    assert r.status_code == 200, r.text
    stats = r.json()
    assert stats["totals"] == {"amount": "15000.00", "allocated": "9000.00",
                               "disbursed": "5000.00", "available": "6000.00",
                               "progress_percent": "33.33"}
    levels = {row["level"]: row for row in stats["by_level"]}
    assert levels["central"]["progress_percent"] == "50.00"
    assert levels["provincial"]["amount"] == "5000.00"
    categories = {row["category"]: row for row in stats["by_category"]}
    assert categories["industry"]["allocated"] == "6000.00"
    assert categories["industry"]["disbursed"] == "2000.00"
    assert categories["infrastructure"]["progress_percent"] == "100.00"
    assert {row["kind"] for row in stats["by_kind"]} == {"fiscal_special", "integrated_agri"}
    assert [(row["fiscal_year"], row["amount"]) for row in stats["by_fiscal_year"]] == [
        (YEAR, "15000.00")]
    regions = {row["region"]: row for row in stats["by_region"]}
    assert regions[COUNTY]["amount"] == "15000.00"  # received by the county itself
    township = regions[VILLAGE[:9]]  # spent in the township's village projects
    assert (township["allocated"], township["disbursed"]) == ("9000.00", "5000.00")
    assert township["progress_percent"] == "55.56"
    province = (await get(funds, f"/stats?region=43&fiscal_year={YEAR}")).json()
    assert [row["region"] for row in province["by_region"]] == ["4309"]


async def test_category_share_against_the_rule(funds):
    r = await funds.client("funds").put(f"{F}/rules/{YEAR}", headers=funds.auth(), json={
        "region_code": COUNTY, "min_shares": {"industry": "60"}})
    assert r.status_code == 200 and r.json()["min_shares"] == {"industry": "60.00"}
    await _ledger(funds)  # industry got 6000 of 10000 衔接 (fiscal_special) funds
    stats = (await get(funds, f"/stats?region={COUNTY}&fiscal_year={YEAR}")).json()
    share = next(s for s in stats["category_shares"] if s["category"] == "industry")
    assert share["share_percent"] == "60.00" and share["minimum_percent"] == "60.00"
    assert share["met"] is True and share["rule_region"] == COUNTY


async def test_rule_bad_inputs(funds):
    before = await counts(funds)
    client = funds.client("funds")
    r = await client.put(f"{F}/rules/{YEAR + 2}", headers=funds.auth(), json={})
    assert r.status_code == 422 and error_code(r) == "fiscal_year_out_of_range"
    r = await client.put(f"{F}/rules/{YEAR}", headers=funds.auth(),
                         json={"min_shares": {"industry": "101"}})
    assert r.status_code == 422
    r = await client.put(f"{F}/rules/{YEAR}", headers=funds.auth(region=COUNTY),
                         json={"region_code": "430903"})
    assert r.status_code == 403
    assert await counts(funds) == before


PERSONAL = ("王五", "张三", "李四", "某合作社", "某路桥公司", "household_id", "payee",
            "id_number", "phone", "bank", "health")


async def test_disclosure_json_has_no_personal_data(funds):
    led = await _ledger(funds)
    r = await get(funds, f"/disclosures?region={COUNTY}&fiscal_year={YEAR}&format=json")
    assert r.status_code == 200, r.text
    assert not any(word in r.text for word in PERSONAL)
    assert led["hid"] not in r.text
    data = r.json()
    project = next(p for p in data["projects"] if p["name"] == "村级光伏产业项目")
    assert project["beneficiary_count"] == 1 and project["region_code"] == VILLAGE
    assert project["allocated"] == "6000.00" and project["disbursed"] == "2000.00"
    assert project["sources"][0]["document_no"] == led["source"]["document_no"]
    fund = data["funds"][0]
    assert fund["amount"] == "10000.00" and fund["nature"] == "专项转移支付"
    assert {u["category"] for u in fund["uses"]} == {"industry", "infrastructure"}


async def test_disclosure_csv_and_xlsx(funds):
    led = await _ledger(funds)
    r = await get(funds, f"/disclosures?region={COUNTY}&fiscal_year={YEAR}&format=csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert table[0][0] == "项目名称" and len(table) == 3
    assert not any(word in r.text for word in PERSONAL) and led["hid"] not in r.text
    funds_csv = await get(funds, f"/disclosures?region={COUNTY}&fiscal_year={YEAR}"
                                 "&format=csv&section=funds")
    assert "湘财农指" in funds_csv.text
    x = await get(funds, f"/disclosures?region={COUNTY}&fiscal_year={YEAR}&format=xlsx")
    assert x.status_code == 200
    book = load_workbook(io.BytesIO(x.content))
    assert book.sheetnames == ["项目公示", "资金公示"]
    cells = [str(c.value) for sheet in book for row in sheet.iter_rows() for c in row]
    assert "村级光伏产业项目" in cells and "10000.00" in cells
    assert not any(word in cell for cell in cells for word in PERSONAL)
    assert led["hid"] not in cells


async def test_disclosure_year_out_of_range(funds):
    r = await get(funds, f"/disclosures?fiscal_year={YEAR + 2}")
    assert r.status_code == 422 and error_code(r) == "fiscal_year_out_of_range"
