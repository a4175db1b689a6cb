"""Bad input to the household import: the status, the first error's code and row, and that
strict mode stores nothing and publishes nothing."""

import pytest

from shared.idnumber import check_digit
from tests.support.db import count
from tests.support.factories import OTHER_COUNTY_VILLAGE, VILLAGE, household, region_tree
from tests.support.p3b_imports import csv_file, household_rows, row, upload

TABLES = ("households", "members", "outbox", "audit_log")


@pytest.fixture
async def registry(platform):
    await platform.start("registry")
    client = platform.client("registry")
    await region_tree(client, platform.auth())
    await region_tree(client, platform.auth(), OTHER_COUNTY_VILLAGE)
    return platform


async def _counts(platform) -> dict[str, int]:
    rt = platform.runtime("registry")
    return {t: await count(rt, t) for t in TABLES}


def _wrong_check_digit(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


def _impossible_birth_date() -> str:
    first17 = "430902" + "19800231" + "123"
    return first17 + check_digit(first17)


def _with(rows: list[dict], index: int, **changes: str) -> list[dict]:
    rows[index].update(changes)
    return rows


def _two_heads() -> list[dict]:
    rows = household_rows(size=2)
    rows[1]["与户主关系"] = "户主"
    return rows


def _split() -> list[dict]:
    first, other, again = household_rows(size=2), household_rows(size=1), household_rows(size=1)
    for r in again:
        r["户编号"] = first[0]["户编号"]
    return first + other + again


def _duplicate_in_file() -> list[dict]:
    first, second = household_rows(size=2), household_rows(size=2)
    second[1]["身份证号"] = first[0]["身份证号"]
    return first + second


# (rows after one good household, expected code, row of the first error, field)
CASES = {
    "invalid_check_digit": (lambda: (r := household_rows(size=2)) and _with(
        r, 1, 身份证号=_wrong_check_digit(r[1]["身份证号"])), "invalid_id_number", 5, "身份证号"),
    "impossible_birth_date": (lambda: _with(household_rows(size=2), 0,
                                            身份证号=_impossible_birth_date()),
                              "invalid_id_number", 4, "身份证号"),
    "duplicate_in_file": (_duplicate_in_file, "person_already_registered", 7, "身份证号"),
    "no_head": (lambda: _with(household_rows(size=2), 0, 与户主关系="配偶"), "head_count", 4,
                "与户主关系"),
    "two_heads": (_two_heads, "head_count", 5, "与户主关系"),
    "unknown_village": (lambda: household_rows(village="430902100299"), "unknown_village", 4,
                        "所在村代码"),
    "not_a_village_code": (lambda: household_rows(village="4309021002"), "invalid_region_code",
                           4, "所在村代码"),
    "unknown_enum": (lambda: _with(household_rows(size=2), 1, 健康状况="很好"), "invalid_enum", 5,
                     "健康状况"),
    "unknown_cause": (lambda: _with(household_rows(size=1), 0, 致贫原因="因懒"), "invalid_enum", 4,
                      "致贫原因"),
    "inconsistent_household": (lambda: _with(household_rows(size=2), 1, 贫困户属性="04"),
                               "inconsistent_household", 5, "贫困户属性"),
    "missing_name": (lambda: _with(household_rows(size=1), 0, 姓名=""), "required", 4, "姓名"),
    "household_split": (lambda: _split(), "household_split", 7, "户编号"),
}


class TestStrictRejectsEverything:
    @pytest.mark.parametrize("case", sorted(CASES))
    async def test_bad_row(self, registry, case):
        make, code, row_number, field = CASES[case]
        before = await _counts(registry)
        data = household_rows(size=2) + make()
        r = await upload(registry.client("registry"), registry.auth(), csv_file(data))
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"
        first = r.json()["errors"][0]
        assert (first["code"], first["row"], first["field"]) == (code, row_number, field)
        assert r.json()["imported"] == 0
        assert await _counts(registry) == before

    async def test_person_already_in_the_registry(self, registry):
        client = registry.client("registry")
        existing = household()
        assert (await client.post("/api/v1/registry/households", json=existing,
                                  headers=registry.auth())).status_code == 201
        before = await _counts(registry)
        data = household_rows(size=2)
        data[1]["身份证号"] = existing["members"][1]["id_number"]
        r = await upload(client, registry.auth(), csv_file(data))
        assert r.status_code == 422
        first = r.json()["errors"][0]
        assert (first["code"], first["row"]) == ("person_already_registered", 3)
        assert existing["members"][1]["id_number"] not in r.text
        assert await _counts(registry) == before

    async def test_household_number_already_used(self, registry):
        client = registry.client("registry")
        taken = (await client.post("/api/v1/registry/households", json=household(),
                                   headers=registry.auth())).json()["household_no"]
        before = await _counts(registry)
        r = await upload(client, registry.auth(), csv_file([row(taken)]))
        assert r.status_code == 422
        assert r.json()["errors"][0]["code"] == "household_no_taken"
        assert await _counts(registry) == before

    async def test_village_outside_the_callers_region(self, registry):
        before = await _counts(registry)
        r = await upload(registry.client("registry"),
                         registry.auth(region="430902", scopes=["registry:write"]),
                         csv_file(household_rows(village=OTHER_COUNTY_VILLAGE)))
        assert r.status_code == 422
        assert r.json()["errors"][0]["code"] == "region_forbidden"
        assert await _counts(registry) == before

    async def test_every_error_is_reported(self, registry):
        bad_one = _with(household_rows(size=1), 0, 健康状况="很好")
        bad_two = _with(household_rows(size=1), 0, 劳动能力="强")
        r = await upload(registry.client("registry"), registry.auth(),
                         csv_file(bad_one + household_rows() + bad_two))
        assert [(e["row"], e["code"]) for e in r.json()["errors"]] == [
            (2, "invalid_enum"), (5, "invalid_enum")]
        assert r.json()["rejected"] == 2


class TestBadFiles:
    @pytest.mark.parametrize(("content", "code"), [
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "unsupported_file"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "unsupported_file"),
        (b"PK\x03\x04not really a zip", "unsupported_file"),
        ("户编号,姓名\n".encode() + b"\xff\xfe\x80\x80,\xff\n", "bad_encoding"),
        ("户编号,姓名\n".encode("utf-16"), "bad_encoding"),
        (b"", "empty_file"),
        ("姓名,身份证号\n张三,1\n".encode(), "missing_column"),
        ("户编号,姓名,身份证号\n1,张三,2\n".encode(), "missing_column"),
    ], ids=["png", "pdf", "broken_zip", "undecodable", "utf16", "empty", "no_header",
            "columns_missing"])
    @pytest.mark.parametrize("mode", ["strict", "partial"])
    async def test_rejected_whole(self, registry, content, code, mode):
        before = await _counts(registry)
        r = await upload(registry.client("registry"), registry.auth(), content, mode=mode)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["code"] == code
        assert await _counts(registry) == before

    async def test_needs_write_scope(self, registry):
        before = await _counts(registry)
        r = await upload(registry.client("registry"), registry.auth(scopes=["registry:read"]),
                         csv_file(household_rows()))
        assert r.status_code == 403
        assert r.json()["errors"][0]["code"] == "missing_scope"
        assert await _counts(registry) == before


class TestPartialStoresOnlyGoodHouseholds:
    async def test_each_bad_case_leaves_the_good_ones(self, registry):
        rt = registry.runtime("registry")
        good = household_rows(size=2) + household_rows(size=1)
        bad = [r for case in ("invalid_check_digit", "no_head", "unknown_village", "unknown_enum",
                              "impossible_birth_date") for r in CASES[case][0]()]
        r = await upload(registry.client("registry"), registry.auth(), csv_file(bad + good),
                         mode="partial")
        assert r.status_code == 201, r.text
        body = r.json()
        assert (body["imported"], body["rejected"]) == (2, 5)
        assert {e["code"] for e in body["errors"]} == {
            "invalid_id_number", "head_count", "unknown_village", "invalid_enum"}
        assert await count(rt, "households") == 2
        assert await count(rt, "members") == 3
        assert await count(rt, "outbox", "WHERE type LIKE '%household.registered'") == 2

    async def test_duplicates_across_batches_in_partial_mode(self, registry):
        rt = registry.runtime("registry")
        first = household_rows(size=2)
        filler = [r for _ in range(3) for r in household_rows(size=1)]
        again = household_rows(size=2)
        again[1]["身份证号"] = first[1]["身份证号"]
        import io

        from services.registry.api.imports import batch_unit
        from services.registry.domain import imports
        from services.registry.domain.tabular_io import open_table

        report = await imports.import_households(
            lambda: batch_unit(rt, "tester"),
            table=open_table(io.BytesIO(csv_file(first + filler + again))), mode="partial",
            file_name="x.csv", cipher=rt.cipher, batch_households=2)
        assert (report.imported, report.rejected) == (4, 1)
        assert [(e.code, e.row) for e in report.errors] == [("person_already_registered", 8)]
        assert VILLAGE in first[0]["户编号"]
        assert await count(rt, "outbox", "WHERE type LIKE '%household.registered'") == 4
