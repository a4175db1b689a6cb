"""Poverty lines (扶贫标准) and village exit thresholds: rules kept as data, longest prefix wins."""

import pytest

from tests.registry.helpers import API, as_json, error_code, snapshot_counts
from tests.support.db import rows


async def _put_line(p, year, region_code, amount, **auth):
    return await p.client("registry").put(f"{API}/poverty-lines/{year}", headers=p.auth(**auth),
                                          json={"region_code": region_code, "amount": amount})


class TestPovertyLines:
    async def test_longest_prefix_wins(self, registry):
        p = registry
        assert (await _put_line(p, 2020, "", "4000")).status_code == 200
        r = await _put_line(p, 2020, "4309", "4300.00")
        assert r.json() == {**r.json(), "year": 2020, "region_code": "4309", "amount": "4300.00",
                            "version": 1}
        c, h = p.client("registry"), p.auth(scopes=["registry:read"])
        got = await c.get(f"{API}/poverty-lines/2020", params={"region": "430902100201"}, headers=h)
        assert got.json() == {"year": 2020, "region_code": "430902100201", "matched_prefix": "4309",
                              "amount": "4300.00"}
        got = await c.get(f"{API}/poverty-lines/2020", params={"region": "440101"}, headers=h)
        assert got.json()["matched_prefix"] == ""
        assert got.json()["amount"] == "4000.00"
        national = await c.get(f"{API}/poverty-lines/2020", headers=h)
        assert national.json()["amount"] == "4000.00"

    async def test_replacing_bumps_version_and_is_audited(self, registry):
        p = registry
        await _put_line(p, 2019, "", "3000")
        r = await _put_line(p, 2019, "", 3218.5)
        assert r.json()["amount"] == "3218.50"
        assert r.json()["version"] == 2
        audit = await rows(p.runtime("registry"), "SELECT before, after FROM audit_log "
                                                  "WHERE action = 'poverty_line.set' ORDER BY at")
        assert len(audit) == 2
        assert as_json(audit[1].after)["amount_fen"] == 321850
        assert as_json(audit[1].before)["amount_fen"] == 300000

    async def test_no_line_is_404(self, registry):
        r = await registry.client("registry").get(f"{API}/poverty-lines/2018",
                                                  headers=registry.auth())
        assert r.status_code == 404

    @pytest.mark.parametrize(("amount", "code"), [
        ("-1.00", "negative_amount"), ("4300.001", "too_many_decimals"), ("abc", "invalid_amount"),
        (4300.125, "too_many_decimals"), ("0", "invalid_amount")])
    async def test_bad_amount_stores_nothing(self, registry, amount, code):
        before = await snapshot_counts(registry, "poverty_lines", "audit_log")
        r = await _put_line(registry, 2020, "43", amount)
        assert r.status_code == 422
        assert error_code(r) == code
        assert await snapshot_counts(registry, "poverty_lines", "audit_log") == before

    async def test_bad_region_code_422(self, registry):
        before = await snapshot_counts(registry, "poverty_lines")
        r = await _put_line(registry, 2020, "4309021", "4300")
        assert r.status_code == 422
        assert error_code(r) == "invalid_region_code"
        assert await snapshot_counts(registry, "poverty_lines") == before

    async def test_county_user_cannot_set_national_line(self, registry):
        r = await _put_line(registry, 2020, "", "4300", region="430902",
                            scopes=["registry:write"])
        assert r.status_code == 403
        assert error_code(r) == "region_forbidden"
        ok = await _put_line(registry, 2020, "430902", "4300", region="430902",
                             scopes=["registry:write"])
        assert ok.status_code == 200


class TestExitThresholds:
    async def test_default_is_two_percent(self, registry):
        r = await registry.client("registry").get(f"{API}/exit-thresholds/430902100201",
                                                  headers=registry.auth())
        assert r.json() == {"region_code": "430902100201", "matched_prefix": None,
                            "threshold_percent": "2.00"}

    async def test_longest_prefix_override(self, registry):
        c, h = registry.client("registry"), registry.auth()
        assert (await c.put(f"{API}/exit-thresholds/national", json={"threshold_percent": "3"},
                            headers=h)).status_code == 200
        assert (await c.put(f"{API}/exit-thresholds/430902", json={"threshold_percent": 1.5},
                            headers=h)).status_code == 200
        here = await c.get(f"{API}/exit-thresholds/430902100201", headers=h)
        assert here.json()["matched_prefix"] == "430902"
        assert here.json()["threshold_percent"] == "1.50"
        there = await c.get(f"{API}/exit-thresholds/430903100201", headers=h)
        assert there.json()["matched_prefix"] == ""
        assert there.json()["threshold_percent"] == "3.00"

    @pytest.mark.parametrize(("value", "code"), [("0", "invalid_percent"), ("101", "invalid_percent"),
                                                 ("1.234", "too_many_decimals"), ("-2", "invalid_percent")])
    async def test_bad_threshold_422(self, registry, value, code):
        before = await snapshot_counts(registry, "exit_thresholds")
        r = await registry.client("registry").put(f"{API}/exit-thresholds/43",
                                                  json={"threshold_percent": value},
                                                  headers=registry.auth())
        assert r.status_code == 422
        assert error_code(r) == code
        assert await snapshot_counts(registry, "exit_thresholds") == before
