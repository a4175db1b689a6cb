"""PostgreSQL imports a batch before looking its 户编号 and people up (inside a savepoint):
the common case skips two lookups per batch, and a batch the unique indexes refuse is rolled
back to the savepoint and checked and written the careful way, with the same findings."""

import io

import pytest

from services.registry.api.imports import batch_unit
from services.registry.domain import import_store, imports
from services.registry.domain.tabular_io import open_table
from tests.support.db import count
from tests.support.factories import OTHER_COUNTY_VILLAGE, VILLAGE, household, region_tree
from tests.support.p3b_imports import csv_file, household_rows, row

TABLES = ("households", "members")


@pytest.fixture
async def registry(platform):
    await platform.start("registry")
    await region_tree(platform.client("registry"), platform.auth())
    await region_tree(platform.client("registry"), platform.auth(), OTHER_COUNTY_VILLAGE)
    return platform


@pytest.fixture
def lookups(monkeypatch):
    """How often each registry lookup of the careful path ran."""
    calls = {"existing_households": 0, "registered_hashes": 0}
    for name in calls:
        original = getattr(import_store, name)

        async def counted(*args, _name=name, _original=original, **kwargs):
            calls[_name] += 1
            return await _original(*args, **kwargs)

        monkeypatch.setattr(import_store, name, counted)
    return calls


async def _import(rt, data, *, batch: int = 2):
    return await imports.import_households(
        lambda: batch_unit(rt, "tester"), table=open_table(io.BytesIO(csv_file(data))),
        mode="partial", file_name="x.csv", cipher=rt.cipher, batch_households=batch)


async def _counts(rt) -> dict[str, int]:
    counts = {t: await count(rt, t) for t in TABLES}
    counts["audit_log"] = await count(rt, "audit_log", "WHERE action = 'household.import'")
    counts["registered"] = await count(rt, "outbox", "WHERE type LIKE '%household.registered'")
    return counts


async def test_batches_without_conflicts_skip_the_lookups_on_postgresql(registry, lookups):
    rt = registry.runtime("registry")
    data = [r for _ in range(5) for r in household_rows(size=2)]
    report = await _import(rt, data)
    assert (report.imported, report.people, report.errors) == (5, 10, [])
    assert await _counts(rt) == {"households": 5, "members": 10, "audit_log": 5,
                                 "registered": 5}
    careful = 3 if rt.engine.dialect.name == "sqlite" else 0  # 3 batches of up to 2
    assert lookups == {"existing_households": careful, "registered_hashes": careful}


async def test_a_refused_batch_is_rolled_back_and_checked_row_by_row(registry, lookups):
    client, rt = registry.client("registry"), registry.runtime("registry")
    existing = household()
    created = await client.post("/api/v1/registry/households", json=existing,
                                headers=registry.auth())
    assert created.status_code == 201
    taken_no = created.json()["household_no"]
    before = await _counts(rt)
    good, clash, good_too = household_rows(size=2), household_rows(size=2), household_rows(size=1)
    clash[1]["身份证号"] = existing["members"][0]["id_number"]  # row 5: already registered
    data = good + clash + [row(taken_no)] + good_too  # row 6: number of another household
    report = await _import(rt, data, batch=3)
    assert [(e.row, e.code) for e in report.errors] == [
        (5, "person_already_registered"), (6, "household_no_taken")]
    assert (report.imported, report.rejected, report.people) == (2, 2, 3)
    after = await _counts(rt)
    # Only the two good households, once each: nothing of the refused COPY is left behind.
    assert {k: after[k] - before[k] for k in after} == {
        "households": 2, "members": 3, "audit_log": 2, "registered": 2}
    # The first batch (3 households) was refused and checked; the second had no conflict.
    expected = 2 if rt.engine.dialect.name == "sqlite" else 1
    assert lookups == {"existing_households": expected, "registered_hashes": expected}
    # A re-run: every household is found already imported or refused, none written twice.
    again = await _import(rt, data, batch=3)
    assert (again.imported, again.already_imported, again.rejected) == (0, 2, 2)
    assert await _counts(rt) == after


@pytest.mark.parametrize("mode", ["strict", "partial"])
async def test_statistics_counters_increased_once_in_strict_mode_per_batch_in_partial(
        registry, monkeypatch, mode):
    from services.registry.domain import counters

    rt = registry.runtime("registry")
    added: list[dict] = []
    original = counters.add_households

    async def spy(tx, tally):
        added.append({k: tuple(v) for k, v in tally.items()})
        await original(tx, tally)

    monkeypatch.setattr(counters, "add_households", spy)
    # Households already registered in the villages: an import adds to their counts.
    await _import(rt, [r for i in range(2) for r in household_rows(village=VILLAGE)])
    added.clear()
    other = OTHER_COUNTY_VILLAGE
    data = [r for i in range(5) for r in household_rows(village=(VILLAGE, other)[i % 2])]
    table = open_table(io.BytesIO(csv_file(data)))
    if mode == "strict":
        async with rt.sessionmaker() as session:
            tx = rt.new_tx(session, actor="tester")
            report = await imports.import_households(
                lambda: imports.shared_unit(tx), table=table, mode="strict", file_name="x.csv",
                cipher=rt.cipher, batch_households=2)
            await tx.flush()
            await session.commit()
    else:
        report = await _import(rt, data)
    assert report.imported == 5
    # Strict: one transaction, the whole file's tally once; partial: each batch's own.
    villages = [{key[0]: counts[0] for key, counts in tally.items()} for tally in added]
    assert villages == ([{VILLAGE: 3, other: 2}] if mode == "strict"
                        else [{VILLAGE: 1, other: 1}, {VILLAGE: 1, other: 1}, {VILLAGE: 1}])
    async with rt.sessionmaker() as session:
        assert await counters.differences(rt.new_tx(session, actor="tester")) == []


async def test_village_sequences_are_raised_never_lowered(registry):
    """`raise_counters` (one statement compiled once, many rows): a number above a village's
    sequence raises it, one below leaves it, a new village starts at its number."""
    import sqlalchemy as sa

    rt = registry.runtime("registry")
    counters = import_store._COUNTERS
    async with rt.sessionmaker() as session:
        tx = rt.new_tx(session, actor="tester")
        await import_store.raise_counters(tx, {"430902100201": 5, "430902100202": 7})
        await import_store.raise_counters(tx, {"430902100201": 3, "430902100202": 9,
                                               "430902100203": 1})
        await import_store.raise_counters(tx, {})
        stored = dict((await session.execute(
            sa.select(counters.c.region_code, counters.c["last"]))).all())
        await session.commit()
    assert stored == {"430902100201": 5, "430902100202": 9, "430902100203": 1}
