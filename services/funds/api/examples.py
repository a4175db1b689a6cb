"""Request examples published in the OpenAPI document (validated against the models by a test)."""

SOURCE = "01a2081e-a189-7000-95a6-edb600f56b3e"
PROJECT = "01a2081e-b2c4-7000-8a11-3c5d2e7f9a10"
ALLOCATION = "01a2081e-c3d5-7000-9b22-4d6e3f8a0b21"

EXAMPLES = {
    ("post", "/api/v1/funds/sources"): {
        "name": "中央财政衔接推进乡村振兴补助资金", "level": "central", "kind": "fiscal_special",
        "fiscal_year": 2024, "document_no": "湘财农指〔2024〕1号", "region_code": "430902",
        "amount": "12000000.00", "permitted_categories": ["industry", "infrastructure"],
        "nature": "专项转移支付", "expenditure_class": "2130505 生产发展"},
    ("post", "/api/v1/funds/projects"): {
        "name": "村级光伏产业项目", "region_code": "430902100201", "category": "industry",
        "budget": "500000.00", "planned_start": "2024-03-01", "planned_end": "2024-12-31",
        "beneficiary_household_ids": [], "fiscal_year": 2024,
        "content": "建设 100kW 村级光伏电站", "implementing_unit": "某某村村民委员会",
        "targets": "村集体年增收 5 万元"},
    ("post", "/api/v1/funds/projects/rollover"): {"from_year": 2023, "region": "430902"},
    ("post", "/api/v1/funds/allocations"): {
        "source_id": SOURCE, "project_id": PROJECT, "amount": "300000.00",
        "document_no": "资扶发〔2024〕5号", "allocated_on": "2024-04-10"},
    ("post", "/api/v1/funds/disbursements"): {
        "allocation_id": ALLOCATION, "amount": "120000.00", "payee": "某某新能源工程有限公司",
        "paid_on": "2024-06-18", "voucher_no": "记-0618-003"},
    ("post", "/api/v1/funds/disbursements/{disbursement_id}/reverse"): {
        "reason": "收款账户有误，冲正后重新支付"},
    ("put", "/api/v1/funds/rules/{fiscal_year}"): {
        "region_code": "43", "stagnant_days": 90, "require_township_review": True,
        "min_shares": {"industry": "55.00"}, "share_kinds": ["fiscal_special"]},
}
