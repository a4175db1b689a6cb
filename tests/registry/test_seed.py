"""`fupin seed` data and the `fupin import households` command."""

import collections
import csv
import itertools

import pytest

from services.registry.domain.seed import region_plan, seed_rows
from services.registry.domain.tabular import HEADERS
from shared.cli import main
from shared.idnumber import parse_id_number
from tests.support.db import count


class TestSeedData:
    def test_rows_are_valid_plausible_and_reproducible(self):
        rows = list(seed_rows(households=2000, region="430902", seed=5))
        assert rows == list(seed_rows(households=2000, region="430902", seed=5))
        assert rows != list(seed_rows(households=2000, region="430902", seed=6))
        infos = [parse_id_number(r[2]) for r in rows]
        assert all(i.region_prefix == "430902" for i in infos)
        assert len({i.normalized for i in infos}) == len(rows)
        households = [list(g) for _, g in itertools.groupby(rows, key=lambda r: r[0])]
        assert len(households) == 2000
        assert 3.2 <= len(rows) / 2000 <= 3.8
        for members in households:
            relations = [m[3] for m in members]
            assert relations.count("户主") == 1
            assert len({m[7:] for m in map(tuple, members)}) == 1
            head = parse_id_number(members[0][2])
            for member in members[1:]:
                info = parse_id_number(member[2])
                if member[3] == "配偶":
                    assert info.sex != head.sex
                if member[3] == "子女":
                    assert info.birth_date > head.birth_date
        assert all(2 <= len(r[1]) <= 3 for r in rows)
        causes = collections.Counter(r[7] for r in rows)
        assert causes.most_common(1)[0][0] == "因病"

    def test_region_plan_from_county_down_to_villages(self):
        plan = dict(region_plan("430902", 1000))
        villages = [c for c in plan if len(c) == 12]
        assert len(villages) == 9
        assert {"43", "4309", "430902", "430902100"} <= plan.keys()
        assert all(plan[v].endswith("村") for v in villages)
        assert [c for c, _ in region_plan("430902100201", 50)] == [
            "43", "4309", "430902", "430902100", "430902100201"]
        with pytest.raises(ValueError, match="county"):
            region_plan("43", 10)


class TestImportCommand:
    async def test_seed_then_import_on_either_backend(self, platform, tmp_path):
        from services.registry.cli import create_regions, import_file
        from services.registry.domain.seed import write_seed_csv

        await platform.start("registry")
        rt = platform.runtime("registry")
        path = tmp_path / "seed.csv"
        summary = write_seed_csv(path, households=300, region="430902", seed=2)
        assert await create_regions("430902", 300, rt) == 7
        assert await create_regions("430902", 300, rt) == 0
        shown = []
        report = await import_file(rt, path, mode="partial", batch=100, actor="cli:test",
                                   progress=lambda r: shown.append(r.imported))
        assert shown == [100, 200, 300]
        assert (report.imported, report.people) == (300, summary.people)
        assert await count(rt, "members") == summary.people
        assert await count(rt, "outbox", "WHERE type LIKE '%household.registered'") == 300
        again = await import_file(rt, path, mode="strict", batch=100, actor="cli:test")
        assert (again.imported, again.already_imported) == (0, 300)

    def test_cli_reports_errors_and_stores_nothing(self, tmp_path, monkeypatch, capsys):
        monkeypatch.setenv("FUPIN_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.setenv("FUPIN_BUS", "embedded")
        monkeypatch.delenv("FUPIN_REGISTRY_DATABASE_URL", raising=False)
        good = tmp_path / "good.csv"
        assert main(["seed", "--households", "40", "--region", "430902", "--out", str(good),
                     "--create-regions"]) == 0
        with good.open(encoding="utf-8") as f:
            rows = list(csv.reader(f))
        assert rows[0] == HEADERS
        rows[2][2] = rows[2][2][:17] + ("0" if rows[2][2][17] != "0" else "1")
        bad = tmp_path / "bad.csv"
        with bad.open("w", encoding="gb18030", newline="") as f:
            csv.writer(f).writerows(rows)
        capsys.readouterr()
        assert main(["import", "households", str(bad)]) == 1
        out = capsys.readouterr()
        assert "row 3 [身份证号] invalid_id_number" in out.err
        assert '"imported": 0' in out.out
        assert main(["import", "households", str(good), "--mode", "partial"]) == 0
        out = capsys.readouterr()
        assert '"imported": 40' in out.out
        assert "people/s" in out.err
