"""The import's per-row fast paths against the plain ones they replace: a row the quick parser
accepts is the row the full parser makes of it, and the records and JSON texts written
directly are what the dicts and JSON encoders made before, byte for byte."""

import datetime as dt
import io
import json
import random

import pytest

from services.registry.db.tables import infra
from services.registry.domain import import_store as store
from services.registry.domain import imports
from services.registry.domain.import_rows import RowParser, households
from services.registry.domain.tabular_io import open_table
from shared.crypto import PiiCipher
from shared.events.registry import HouseholdRegistered
from shared.idnumber import check_digit
from tests.support.p3b_imports import EN, ZH, csv_file, household_rows, id_number, row

CIPHER = PiiCipher(current=bytes(range(32)), blind_key=bytes(range(32, 64)))

# Cell values a county spreadsheet may hold, good and bad, per column.
VARIANTS = {
    "与户主关系": ["户主", "配偶", "之子", "之女", "妻", "HEAD", "spouse", "", " 户主 ", "老板"],
    "劳动能力": ["普通劳动力", "弱劳动力", "半劳动力", "normal", "", "很强"],
    "健康状况": ["健康", "大病", "残疾人", "Healthy", "", "很好", "\u3000健康"],
    "在校生状况": ["非在校生", "学龄前儿童", "本科", "", "博士后"],
    "姓名": ["王建国", "  李 四 ", "", "长" * 50, "长" * 51],
    "致贫原因": ["因病", "因病致贫", "illness", "", "因懒"],
    "次要致贫原因": ["", "缺技术", "缺技术、因残", "缺技术,因残,因学", "因懒"],
    "贫困户属性": ["一般贫困户", "04", "低保户", "", "富户"],
    "识别年度": ["2016", "2013", "2012", "20x6", ""],
    "所在村代码": ["430902100201", "4309021002", "", "43090210020a"],
    "脱贫状态": ["", "未脱贫", "1", "返贫户", "完了"],
}


def _id_variants(rng: random.Random) -> str:
    good = id_number()
    first17 = "430902" + "19800231" + "123"
    return rng.choice([
        good, good.lower(), f" {good} ", good[:17] + ("0" if good[17] != "0" else "1"),
        first17 + check_digit(first17), "0" + good[1:], good[:-1], "",
        "430902" + "21000101" + "123" + check_digit("430902" + "21000101" + "123"),
        "430902" + "18991231" + "123" + check_digit("430902" + "18991231" + "123")])


def _rows(rng: random.Random, count: int) -> list[dict]:
    rows = []
    for _ in range(count):
        r = row(f"H{rng.randrange(10**6)}", 身份证号=_id_variants(rng))
        for header, values in VARIANTS.items():
            if rng.random() < 0.3:
                r[header] = rng.choice(values)
        rows.append(r)
    return rows


@pytest.mark.parametrize("headers", [ZH, EN], ids=["zh", "en"])
def test_quick_parse_is_the_full_parse_of_a_valid_row(headers):
    rng = random.Random(7)
    data = _rows(rng, 600)
    if headers is EN:
        data = [dict(zip(EN, (r[h] for h in ZH), strict=True)) for r in data]
    table = open_table(io.BytesIO(csv_file(data, headers=headers)))
    quick = RowParser(table.positions, table.headers)
    full = RowParser(table.positions, table.headers)
    full._quick = None  # the plain path only
    accepted = 0
    for number, cells in table.records:
        expected = full.parse(number, cells)
        assert quick.parse(number, cells) == expected
        member = quick._quick_parse(number, cells)
        if member is not None:
            accepted += 1
            assert expected == (member, [])
        else:
            assert expected[1] or expected[0] is not None
        # A row the full parser accepts is taken by the quick path, except for spellings
        # only `parse_id_number` normalises (blanks around the number).
        if expected[0] is not None and expected[0].id_number in cells:
            assert member is not None
    assert 50 < accepted < 600  # both paths were exercised


def test_remembered_household_values_are_the_values_parsed_afresh():
    """RowParser remembers the household-level texts it parsed without error: a text met
    again gives the same value (a list not shared with earlier households), and a bad text
    is reported every time."""
    rng = random.Random(11)
    data = _rows(rng, 400)
    table = open_table(io.BytesIO(csv_file(data)))
    remembering = RowParser(table.positions, table.headers)
    members = []
    for number, cells in table.records:
        member, _ = remembering.parse(number, cells)
        if member is not None:
            members.append(member)
    assert len(members) > 50
    bad = 0
    for _ in range(2):  # the second pass finds every valid text remembered
        for member in members:
            fresh = RowParser(table.positions, table.headers)
            errors, expected_errors = [], []
            values = remembering.household_values(member, errors)
            assert values == fresh.household_values(member, expected_errors)
            assert errors == expected_errors
            bad += bool(errors)
            if isinstance(values.get("secondary_causes"), list):
                values["secondary_causes"].append("changed")  # must not reach the next one
    assert bad > 10 and remembering._known_values


def test_short_rows_and_missing_optional_columns_take_the_full_path():
    headers = [h for h in ZH if h not in ("脱贫状态", "次要致贫原因")]
    data = household_rows(size=2)
    table = open_table(io.BytesIO(csv_file(data, headers=headers)))
    parser = RowParser(table.positions, table.headers)
    records = list(table.records)
    assert all(parser._quick_parse(n, c) is not None for n, c in records)
    number, cells = records[0]
    assert parser._quick_parse(number, cells[:-1]) is None  # short: the full path pads it
    member, errors = parser.parse(number, cells[:-1])
    assert (member, errors) == parser.parse(number, cells[:-1] + [""])
    assert errors == [] and "village_code" not in member.household


def _drafts(count: int):
    data = [r for i in range(count) for r in household_rows(size=1 + i % 4)]
    data[0]["次要致贫原因"] = "缺技术、因残"
    data[1]["次要致贫原因"] = data[2]["次要致贫原因"] = ""
    data[2]["姓名"] = '王"\\建国'
    table = open_table(io.BytesIO(csv_file(data)))
    batch = list(households(RowParser(table.positions, table.headers), table.records))
    assert not any(d.errors for d in batch)
    return batch


def _reference(draft, household_id, member_ids, event_id, audit_id, sealed, now, import_id,
               request_id):
    """The rows as the import built them before: dicts, then the JSON encoders."""
    values = draft.values
    household = {
        "id": household_id, "household_no": draft.household_no,
        "region_code": draft.village_code, "status": values["status"],
        "attribute": values["attribute"], "identified_year": values["identified_year"],
        "primary_cause": values["primary_cause"], "secondary_causes": values["secondary_causes"],
        "version": 1, "created_at": now, "updated_at": now,
    }
    members = [{
        "id": member_id, "household_id": household_id, "name": m.name, "id_cipher": cipher,
        "id_hash": m.id_hash, "relation": m.relation, "labor_ability": m.labor_ability,
        "health": m.health, "schooling": m.schooling, "sex": m.sex, "birth_date": m.birth_date,
        "removed_on": None, "removed_reason": None, "created_at": now,
    } for m, member_id, cipher in zip(draft.members, member_ids, sealed, strict=True)]
    data = {k: household[k] for k in ("household_no", "region_code", "status", "attribute",
                                      "identified_year", "primary_cause", "secondary_causes")}
    data["household_id"] = household_id
    data["members"] = [{
        "member_id": m["id"], "relation": m["relation"], "labor_ability": m["labor_ability"],
        "health": m["health"], "schooling": m["schooling"], "sex": m["sex"],
        "birth_year": m["birth_date"].year, "id_hash": m["id_hash"]} for m in members]
    envelope = {
        "specversion": "1.0", "id": event_id, "source": "/fupin/registry",
        "type": HouseholdRegistered.type, "subject": household_id,
        "time": now.isoformat().replace("+00:00", "Z"), "datacontenttype": "application/json",
        "regioncode": household["region_code"], "data": data,
    }
    compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    column = json.JSONEncoder(ensure_ascii=False, default=str).encode
    event = {"event_id": event_id, "topic": HouseholdRegistered.topic, "key": household_id,
             "type": HouseholdRegistered.type, "created_at": now, "published_at": None,
             "payload": compact(envelope)}
    after = {**{k: v for k, v in household.items() if k not in ("created_at", "updated_at")},
             "import_id": import_id,
             "members": [{"id": m["id"], "relation": m["relation"],
                          "id_hash": m["id_hash"][:12]} for m in members]}
    audit = {"id": audit_id, "at": now, "actor": None, "action": "household.import",
             "resource_type": "household", "resource_id": household_id,
             "region_code": draft.village_code, "before": None, "request_id": request_id,
             "after": column(after)}
    household["secondary_causes"] = column(household["secondary_causes"])
    return ({k: household[k] for k in store.HOUSEHOLD_COLUMNS},
            [{k: m[k] for k in store.MEMBER_COLUMNS} for m in members],
            {k: event[k] for k in store.OUTBOX_COLUMNS},
            {k: audit[k] for k in store.AUDIT_COLUMNS})


def test_prepared_records_are_the_dicts_and_json_of_before():
    batch = _drafts(40)
    context = imports._Context(started=dt.datetime.now(dt.UTC), scope="", import_id="imp-1")
    imports.prepare_batch(batch, context, CIPHER)
    assert sum(len(d.members) for d in batch) > 60
    for draft in batch:
        household, members, event, audit = draft.prepared
        assert [m.id_hash for m in draft.members] == [CIPHER.blind_index(m.id_number)
                                                      for m in draft.members]
        assert [CIPHER.decrypt(m[3]) for m in members] == [m.id_number for m in draft.members]
        now = household[9]
        expected = _reference(draft, household[0], [m[0] for m in members], event[0], audit[0],
                              [m[3] for m in members], now, "imp-1", None)
        assert dict(zip(store.HOUSEHOLD_COLUMNS, household, strict=True)) == expected[0]
        assert [dict(zip(store.MEMBER_COLUMNS, m, strict=True)) for m in members] == expected[1]
        assert dict(zip(store.OUTBOX_COLUMNS, event, strict=True)) == expected[2]
        assert dict(zip(store.AUDIT_COLUMNS, audit, strict=True)) == expected[3]
    # Ids in the order new_id gave them: household, members, event, audit entry; batch-wide.
    ids = [i for d in batch for i in (d.prepared[0][0], *(m[0] for m in d.prepared[1]),
                                      d.prepared[2][0], d.prepared[3][0])]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_drafts_with_errors_get_no_records():
    data = household_rows(size=2) + household_rows(size=1)
    data[1]["健康状况"] = "很好"
    table = open_table(io.BytesIO(csv_file(data)))
    batch = list(households(RowParser(table.positions, table.headers), table.records))
    context = imports._Context(started=dt.datetime.now(dt.UTC), scope="", import_id="i")
    imports.prepare_batch(batch, context, CIPHER)
    assert [bool(d.errors) for d in batch] == [True, False]
    assert batch[0].prepared is None and batch[1].prepared is not None
    assert batch[0].head_hash == CIPHER.blind_index(batch[0].members[0].id_number)


def test_copy_columns_are_the_tables_and_a_mismatch_is_refused():
    for table, columns in ((store._HOUSEHOLDS, store.HOUSEHOLD_COLUMNS),
                           (store._MEMBERS, store.MEMBER_COLUMNS),
                           (infra.outbox, store.OUTBOX_COLUMNS),
                           (infra.audit, store.AUDIT_COLUMNS)):
        assert store.copy_columns(table, columns) == columns
        with pytest.raises(RuntimeError):
            store.copy_columns(table, columns[1:])


def test_sqlite_parameters_decode_the_json_columns():
    record = ("a", "n", "v", "poor", "general", 2016, "illness", '["disability"]', 1, None, None)
    (row_,) = store._as_dicts(store._HOUSEHOLDS, store.HOUSEHOLD_COLUMNS, [record])
    assert row_["secondary_causes"] == ["disability"] and row_["household_no"] == "n"
