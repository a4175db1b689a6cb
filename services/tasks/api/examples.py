"""Request examples published in the OpenAPI document (validated against the models by a test)."""

UNIT = "01a2081e-a189-7000-95a6-edb600f56b3e"

EXAMPLES = {
    ("post", "/api/v1/tasks/units"): {"name": "区扶贫办", "region_code": "430902"},
    ("post", "/api/v1/tasks/officials"): {"name": "周军", "title": "区委常委、副区长",
                                          "unit_id": UNIT},
    ("post", "/api/v1/tasks/plans"): {
        "title": "全面巩固提升脱贫成果实施方案", "document_no": "大扶办发〔2019〕23号",
        "issued_on": "2019-05-20", "region_code": "430902"},
    ("post", "/api/v1/tasks/tasks"): {
        "title": "新改建农村公路", "description": "完成通村通组公路建设", "category": "infrastructure",
        "region_code": "430902", "lead_unit_id": UNIT, "cooperating_unit_ids": [],
        "due_on": "2020-10-31", "target": {"metric": "新改建农村公路", "unit": "公里", "value": 35}},
    ("post", "/api/v1/tasks/tasks/{task_id}/progress"): {
        "note": "已完成路基 20 公里", "value": 20, "reported_on": "2020-06-30"},
    ("post", "/api/v1/tasks/tasks/{task_id}/complete"): {
        "evidence": "交工验收报告（区交通局〔2020〕18号）", "completed_on": "2020-10-20"},
    ("post", "/api/v1/tasks/tasks/{task_id}/verify"): {"verified_on": "2020-11-05"},
    ("post", "/api/v1/tasks/tasks/{task_id}/cancel"): {"reason": "任务已并入上级统一部署"},
    ("post", "/api/v1/tasks/rectifications"): {
        "title": "扶贫资金滞留超过 90 天", "source": "inspection", "region_code": "430902",
        "responsible_unit_id": UNIT, "responsible_person": "孙功伟", "due_on": "2019-08-31"},
    ("patch", "/api/v1/tasks/rectifications/{item_id}"): {"responsible_person": "梁学军",
                                                           "due_on": "2019-09-15"},
    ("post", "/api/v1/tasks/rectifications/{item_id}/close"): {
        "evidence": "资金已拨付到项目，附支付凭证", "closed_on": "2019-08-28"},
    ("put", "/api/v1/tasks/pairings/{household_id}"): {"official_id": UNIT},
    ("put", "/api/v1/tasks/rules/{year}"): {"region_code": "430902", "case_task_due_days": 15,
                                            "rectification_due_days": 30},
}
