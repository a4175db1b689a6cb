"""Benchmark of the registry statistics for a province of 10^6 people (issue 7, item 5).

    .venv/bin/python bench/registry_stats.py [--households 290000 --people 1000000]

Bulk-fills a fresh, migrated registry database by COPY (no domain logic: the import
benchmark measures that): one province (43), 10 cities, 60 counties, 600 townships, 7,200
villages (20 % poor villages, with their registered population), ~290,000 households (25 %
poor, 70 % exited, 5 % relapsed; three attributes, twelve causes) and 10^6 members (2 %
removed), registered village after village with time-ordered ids, as imports county by
county leave them. The COPY bypasses the registry's writes, so the maintained statistics counters
(`household_stats`) are then rebuilt from those rows with `counters.rebuild` - what the
migration's backfill does on an existing database - and timed. Then times the registry's own
`search.stats` domain function - what `GET /api/v1/registry/stats?region=` runs, in one
transaction, summing the counters - for the province and for one county (median and max of
repeated runs, after one warm-up), the same for `search.stats_from_base` (the aggregate over
every member row that `stats` ran before the counters: the "before" figure, same run, fewer
runs) after checking that both give the same answer, and `EXPLAIN ANALYZE`-style timings of
the statements for the explanation. Goal ≤ 200 ms.

Beside the statistics, the first page (50 households with their members) of the county
registered last, through `search.find_households` - what `GET /api/v1/registry/households
?region=<county>` runs - and the server time of its household statement as the code before
the region-level indexes wrote it (`region_code LIKE '431006%' ORDER BY id`, which walks the
primary key through every household registered before that county) and as it is now
(`substr(region_code, 1, 6) = '431006'`, the county index).

Creates and drops its own database; appends a row to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    PG_DSN,
    append_result,
    create_database,
    drop_database,
    load,
    sa_url,
)
from shared.ids import new_ids  # noqa: E402

CAUSES = ["illness", "disability", "education", "disaster", "lack_land", "lack_water",
          "lack_skills", "lack_labor", "lack_capital", "poor_transport", "low_motivation",
          "other"]
RELATIONS = ["head", "spouse", "child", "parent", "grandchild", "sibling", "other"]


def plan() -> tuple[list[tuple], list[str]]:
    """Region rows (code, name, level, parent, is_poor_village, population) and villages."""
    rng = random.Random(1)
    now = dt.datetime.now(dt.UTC)
    rows = [("43", "湖南省", "province", None, False, None, now)]
    villages = []
    for c in range(1, 11):
        city = f"43{c:02d}"
        rows.append((city, f"市{c}", "city", "43", False, None, now))
        for k in range(1, 7):
            county = f"{city}{k:02d}"
            rows.append((county, f"县{county}", "county", city, False, None, now))
            for t in range(10):
                town = f"{county}{100 + t:03d}"
                rows.append((town, f"镇{town}", "township", county, False, None, now))
                for v in range(12):
                    code = f"{town}{201 + v:03d}"
                    villages.append(code)
                    rows.append((code, f"村{code}", "village", town, rng.random() < 0.2,
                                 rng.randrange(600, 3000), now))
    return rows, villages


async def fill(database: str, households: int, people: int) -> dict:
    rng = random.Random(7)
    regions, villages = plan()
    now = dt.datetime.now(dt.UTC)
    conn = await asyncpg.connect(f"{PG_DSN}/{database}")
    started = time.perf_counter()
    try:
        await conn.copy_records_to_table(
            "regions", records=[(*r[:5], r[5], 1, r[6]) for r in regions],
            columns=["code", "name", "level", "parent_code", "is_poor_village", "population",
                     "version", "created_at"])
        # Members per household: the first `people - households` extra members spread
        # so that the total is exactly `people`.
        extra = people - households
        per = [1 + extra // households + (1 if i < extra % households else 0)
               for i in range(households)]
        person = 0
        chunk_h, chunk_m = [], []
        for i in range(households):
            hid = new_ids(1)[0]
            village = villages[i * len(villages) // households]
            r = rng.random()
            status = "poor" if r < 0.25 else "relapsed" if r < 0.30 else "exited"
            chunk_h.append((hid, f"{village}{i:06d}", village, status,
                            rng.choice(("general", "general", "dibao", "tekun")),
                            rng.randrange(2014, 2021), rng.choice(CAUSES), "[]", 1, now, now))
            for k in range(per[i]):
                removed = rng.random() < 0.02
                chunk_m.append((new_ids(1)[0], hid,
                                f"成员{person}", "v1:bench", f"{person:064x}",
                                "head" if k == 0 else rng.choice(RELATIONS[1:]),
                                "normal", "healthy", "none", "male" if k % 2 else "female",
                                dt.date(1950 + person % 60, 1 + person % 12, 1 + person % 28),
                                dt.date(2022, 1, 1) if removed else None,
                                "moved_out" if removed else None, now))
                person += 1
            if len(chunk_m) >= 100_000 or i == households - 1:
                await conn.copy_records_to_table(
                    "households", records=chunk_h,
                    columns=["id", "household_no", "region_code", "status", "attribute",
                             "identified_year", "primary_cause", "secondary_causes", "version",
                             "created_at", "updated_at"])
                await conn.copy_records_to_table(
                    "members", records=chunk_m,
                    columns=["id", "household_id", "name", "id_cipher", "id_hash", "relation",
                             "labor_ability", "health", "schooling", "sex", "birth_date",
                             "removed_on", "removed_reason", "created_at"])
                chunk_h, chunk_m = [], []
        await conn.execute("VACUUM ANALYZE households")
        await conn.execute("VACUUM ANALYZE members")
        await conn.execute("ANALYZE regions")
    finally:
        await conn.close()
    return {"households": households, "people": person, "villages": len(villages),
            "fill_s": time.perf_counter() - started}


async def rebuild_counters(runtime, database: str) -> dict:
    """Fill `household_stats` from the COPY-filled rows (as the migration's backfill would)."""
    from services.registry.domain import counters

    started = time.perf_counter()
    async with runtime.sessionmaker() as session:
        tx = runtime.new_tx(session, actor="bench")
        rows = await counters.rebuild(tx)
        await session.commit()
    seconds = time.perf_counter() - started
    conn = await asyncpg.connect(f"{PG_DSN}/{database}")
    try:
        await conn.execute("VACUUM ANALYZE household_stats")
    finally:
        await conn.close()
    return {"counter_rows": rows, "rebuild_s": round(seconds, 2)}


async def time_stats(runtime, region: str, runs: int, *, from_base: bool = False) -> dict:
    from services.registry.domain import search

    function = search.stats_from_base if from_base else search.stats

    async def once() -> tuple[float, dict]:
        started = time.perf_counter()
        async with runtime.sessionmaker() as session:
            tx = runtime.new_tx(session, actor="bench")
            result = await function(tx, region=region)
            await session.rollback()
        return (time.perf_counter() - started) * 1000, result

    _, result = await once()  # warm-up (connection, statement cache)
    times = [(await once())[0] for _ in range(runs)]
    return {"region": region, "median_ms": statistics.median(times), "max_ms": max(times),
            "households": result["households"]["total"], "people": result["people"]["total"],
            "villages_listed": len(result["villages"]), "runs": runs, "load": load(),
            "result": result}


LAST_COUNTY = "431006"


async def time_page(runtime, region: str, runs: int) -> dict:
    """The first page of a region's households with their members (`find_households`)."""
    from services.registry.domain.search import HouseholdFilter, find_households

    async def once() -> tuple[float, int]:
        started = time.perf_counter()
        async with runtime.sessionmaker() as session:
            tx = runtime.new_tx(session, actor="bench")
            found, _ = await find_households(tx, where=HouseholdFilter(region=region),
                                             limit=50, after=None)
            await session.rollback()
        return (time.perf_counter() - started) * 1000, len(found)

    _, items = await once()
    if items != 51:  # the page and the one that says there is a next page
        raise SystemExit(f"a page of {region} has {items} households")
    times = [(await once())[0] for _ in range(runs)]
    return {"region": region, "median_ms": statistics.median(times), "max_ms": max(times),
            "runs": runs, "load": load()}


async def explain_page(database: str, county: str) -> dict:
    """Server time of a county's first page of households: by LIKE on the region code (the
    code before the region-level indexes) and by the county index (now)."""
    conn = await asyncpg.connect(f"{PG_DSN}/{database}")
    try:
        out = {}
        for name, sql, param in (
                ("like", "SELECT id FROM households WHERE region_code LIKE $1 ORDER BY id "
                         "LIMIT 51", f"{county}%"),
                ("county_index", "SELECT id FROM households WHERE substr(region_code, 1, 6) "
                                 "= $1 ORDER BY id LIMIT 51", county)):
            doc = json.loads((await conn.fetch("EXPLAIN (ANALYZE, FORMAT JSON) " + sql,
                                               param))[0][0])[0]
            out[name] = doc["Execution Time"]
            out[f"{name}_index"] = doc["Plan"]["Plans"][0].get("Index Name", "")
        return out
    finally:
        await conn.close()


async def explain(database: str, region: str) -> dict:
    """Server-side execution time of the statements (for the report): the two that `stats`
    runs over the counters, and the member-row tally it ran before them."""
    conn = await asyncpg.connect(f"{PG_DSN}/{database}")
    try:
        out = {}
        for name, sql in {
            "counters": (
                "SELECT status, attribute, primary_cause, sum(households), sum(people) "
                "FROM county_stats WHERE county_code >= $1 AND county_code LIKE $2 "
                "GROUP BY 1, 2, 3 HAVING sum(households) > 0"),
            "villages": (
                "SELECT r.code, p.poor_people FROM regions r LEFT JOIN village_poor_people p "
                "ON p.village_code = r.code WHERE r.level = 'village' AND r.code >= $1 AND "
                "r.code LIKE $2 AND (r.is_poor_village OR p.poor_people IS NOT NULL)"),
            "tally_from_members": (
                "SELECT h.status, h.attribute, h.primary_cause, count(*), coalesce(sum(s.n), 0) "
                "FROM households h LEFT JOIN (SELECT household_id, count(*) AS n FROM members "
                "WHERE removed_on IS NULL AND household_id IN (SELECT id FROM households "
                "WHERE region_code LIKE $1) GROUP BY household_id) s ON s.household_id = h.id "
                "WHERE h.region_code LIKE $1 GROUP BY 1, 2, 3"),
        }.items():
            params = [region, f"{region}%"] if "$2" in sql else [f"{region}%"]
            plan_rows = await conn.fetch("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, *params)
            doc = json.loads(plan_rows[0][0])[0]
            out[name] = round(doc["Execution Time"], 1)
        return out
    finally:
        await conn.close()


async def run(args) -> dict:
    from services.registry.service import definition
    from shared.runtime import open_runtime
    from shared.settings import Settings

    database = await create_database("bench_regstats")
    try:
        settings = Settings(registry_database_url=sa_url(database), bus="embedded",
                            data_dir=Path(tempfile.mkdtemp()), log_level="WARNING")
        async with open_runtime(definition, settings) as runtime:
            out = {"fill": await fill(database, args.households, args.people)}
            out["fill"].update(await rebuild_counters(runtime, database))
            print(json.dumps(out["fill"]), flush=True)
            for key, region, runs in (("province", "43", args.runs),
                                      ("county", "430102", args.runs * 3)):
                new = await time_stats(runtime, region, runs)
                old = await time_stats(runtime, region, max(1, runs // 3), from_base=True)
                if new.pop("result") != old.pop("result"):
                    raise SystemExit(f"stats from the counters differ from the base tables "
                                     f"for {region}")
                out[key], out[f"{key}_from_members"] = new, old
                print(json.dumps({key: new, "from_members": old}), flush=True)
            out["county_page"] = await time_page(runtime, LAST_COUNTY, args.runs * 3)
            out["explain_county_page_ms"] = await explain_page(database, LAST_COUNTY)
            print(json.dumps({"county_page": out["county_page"],
                              "explain": out["explain_county_page_ms"]}), flush=True)
            out["explain_province_ms"] = await explain(database, "43")
            out["explain_county_ms"] = await explain(database, "430102")
        return out
    finally:
        await drop_database(database)


def record(command: str, out: dict) -> str:
    f, p, c = out["fill"], out["province"], out["county"]
    po, co = out["province_from_members"], out["county_from_members"]
    e, ec = out["explain_province_ms"], out["explain_county_ms"]
    figures = (f"registry COPY-filled with {f['households']:,} households / {f['people']:,} "
               f"people in {f['villages']:,} villages ({f['fill_s']:.0f} s; counters rebuilt "
               f"in {f['rebuild_s']:.1f} s, {f['counter_rows']:,} rows); `search.stats` (GET "
               f"/registry/stats, maintained counters) province 43: **median "
               f"{p['median_ms']:.1f} ms** (max {p['max_ms']:.1f}, {p['runs']} runs; server "
               f"time: counters {e['counters']:.0f} ms, village incidence {e['villages']:.0f} "
               f"ms) ({p['load']}); county 430102 ({c['households']:,} households): **median "
               f"{c['median_ms']:.1f} ms** (max {c['max_ms']:.1f}, {c['runs']} runs) "
               f"({c['load']}); same answer summed from the member rows (the code before the "
               f"counters): province {po['median_ms']:.0f} ms ({po['runs']} runs; tally "
               f"{e['tally_from_members']:.0f} ms on the server), county {co['median_ms']:.0f} "
               f"ms ({co['runs']} runs; tally {ec['tally_from_members']:.0f} ms)")
    g, ep = out["county_page"], out["explain_county_page_ms"]
    figures += (f"; first page of the county registered last ({LAST_COUNTY}, 50 households "
                f"with members, `find_households`): median {g['median_ms']:.1f} ms (max "
                f"{g['max_ms']:.1f}, {g['runs']} runs); its household statement on the server: "
                f"{ep['county_index']:.2f} ms by the county index ({ep['county_index_index']}) "
                f"vs {ep['like']:.1f} ms by LIKE ({ep['like_index']}, the code before)")
    ratios = (f"province {p['median_ms'] / 200:.0%} of the 200 ms goal "
              f"({po['median_ms'] / p['median_ms']:.0f}x faster than from the members), county "
              f"{c['median_ms'] / 200:.0%} ({co['median_ms'] / c['median_ms']:.0f}x)")
    append_result("registry statistics, 10^6 people", command, figures, ratios)
    return figures + "; " + ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=290_000)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    out = asyncio.run(run(args))
    print(json.dumps(out, indent=1))
    if not args.no_record:
        print(record("python bench/registry_stats.py " + " ".join(sys.argv[1:]), out))


if __name__ == "__main__":
    main()
