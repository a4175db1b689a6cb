"""Request examples published in the OpenAPI document (validated against the models by a test)."""

from shared.idnumber import synthetic

HEAD = {"name": "张三", "id_number": synthetic("43090219800517001"), "relation": "head",
        "labor_ability": "normal", "health": "chronic", "schooling": "none"}

EXAMPLES = {
    ("post", "/api/v1/registry/regions"): {"code": "430902100201", "name": "某某村",
                                           "parent_code": "430902100"},
    ("patch", "/api/v1/registry/regions/{code}"): {"is_poor_village": True, "population": 1860},
    ("post", "/api/v1/registry/regions/{code}/exit"): {"year": 2019},
    ("post", "/api/v1/registry/households"): {
        "village_code": "430902100201", "attribute": "general", "identified_year": 2016,
        "primary_cause": "illness", "secondary_causes": ["lack_skills"],
        "members": [HEAD, {**HEAD, "name": "李四", "id_number": synthetic("43090219820303002"),
                           "relation": "spouse", "health": "healthy"}]},
    ("patch", "/api/v1/registry/households/{household_id}"): {
        "attribute": "dibao", "secondary_causes": ["lack_labor"]},
    ("post", "/api/v1/registry/households/{household_id}/members"): {
        **HEAD, "name": "张小明", "id_number": synthetic("43090220100901003"), "relation": "child",
        "labor_ability": "none", "health": "healthy", "schooling": "primary"},
    ("put", "/api/v1/registry/households/{household_id}/incomes/{year}"): {
        "wage": "9600.00", "business": "2400.00", "property": "0.00", "transfer": "1800.00",
        "business_cost": "600.00"},
    ("put", "/api/v1/registry/households/{household_id}/guarantees"): {
        "food": True, "clothing": True, "compulsory_education": True, "basic_medical": True,
        "housing_safety": True, "drinking_water": True, "assessed_on": "2019-10-15"},
    ("post", "/api/v1/registry/households/{household_id}/exit"): {"year": 2019},
    ("post", "/api/v1/registry/households/{household_id}/relapse"): {
        "reason": "illness", "occurred_on": "2021-04-02"},
    ("put", "/api/v1/registry/poverty-lines/{year}"): {"region_code": "430902",
                                                       "amount": "4300.00"},
    ("put", "/api/v1/registry/exit-thresholds/{region_code}"): {"threshold_percent": "3.00"},
}
