"""Request examples published in the OpenAPI document (validated against the models by a test)."""

from shared.idnumber import synthetic

HOUSEHOLD = "01a2081e-a189-7000-95a6-edb600f56b3e"
STEP = {"step": "village_review", "decided_on": "2024-03-08", "note": "村民代表会议评议通过",
        "notice_from": "2024-03-08", "notice_to": "2024-03-13"}

EXAMPLES = {
    ("put", "/api/v1/monitoring/lines/{year}"): {"region_code": "43", "amount": "7500.00"},
    ("put", "/api/v1/monitoring/rules/{year}"): {
        "region_code": "43", "due_days": 15, "working_days": False, "min_monitoring_months": 6,
        "county_approval_required": True, "min_notice_days": 5},
    ("post", "/api/v1/monitoring/signals"): {
        "id_number": synthetic("43090219800517001"), "source": "department",
        "department": "medical_insurance", "kind": "high_medical_expense",
        "amount": "38000.00", "occurred_on": "2024-03-01", "detail": "住院自付费用较高"},
    ("post", "/api/v1/monitoring/signals/{signal_id}/match"): {"household_id": HOUSEHOLD},
    ("post", "/api/v1/monitoring/alerts/{alert_id}/steps"): STEP,
    ("post", "/api/v1/monitoring/alerts/{alert_id}/enroll"): {
        "category": "sudden_hardship", "risk_types": ["illness"], "decided_on": "2024-03-14"},
    ("post", "/api/v1/monitoring/alerts/{alert_id}/dismiss"): {
        "reason": "核实后收入稳定，医疗费用已由大病保险报销", "decided_on": "2024-03-10"},
    ("post", "/api/v1/monitoring/cases/{case_id}/measures"): {
        "kind": "health", "description": "落实医疗救助，签约家庭医生", "started_on": "2024-03-20"},
    ("post", "/api/v1/monitoring/cases/{case_id}/steps"): {**STEP, "step": "verification"},
    ("post", "/api/v1/monitoring/cases/{case_id}/eliminate"): {"decided_on": "2024-12-20",
                                                               "year": 2024},
    ("post", "/api/v1/monitoring/sweeps"): {"year": 2024, "region": "430902"},
}
