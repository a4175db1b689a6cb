"""Bulk import of households (批量导入贫困户) from a CSV or XLSX member list.

The file is read as a stream and processed in batches of households: rows are checked,
grouped by 户编号, checked against the registry with one query per kind of check, then
written with bulk statements together with their `household.registered` events and audit
entries. `strict` runs in one unit of work and fails as a whole; `partial` commits each batch
so a crashed import can be re-run: households already imported from the same file are
skipped and counted as `already_imported`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import functools
import json
import json.encoder
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError

from services.registry.domain import counters
from services.registry.domain import import_store as store
from services.registry.domain.import_rows import HouseholdDraft, RowError, RowParser, households
from services.registry.domain.tabular_io import Table
from shared.crypto import PiiCipher
from shared.errors import Conflict, Unprocessable
from shared.events.registry import HouseholdRegistered
from shared.ids import new_id, new_ids
from shared.logs import request_id_var
from shared.tx import Tx

Mode = Literal["strict", "partial"]
Units = Callable[[], contextlib.AbstractAsyncContextManager[Tx]]
BATCH_HOUSEHOLDS = 1000
MAX_ERRORS = 1000
ATTEMPTS = 3


@dataclass
class ImportReport:
    mode: str
    file_name: str
    imported: int = 0  # households
    people: int = 0
    rejected: int = 0  # households
    already_imported: int = 0  # households
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    errors_truncated: bool = False
    import_id: str = field(default_factory=new_id)

    def add_errors(self, errors: list[RowError]) -> None:
        room = MAX_ERRORS - len(self.errors)
        self.errors.extend(errors[:max(room, 0)])
        self.errors_truncated = self.errors_truncated or len(errors) > room

    def body(self) -> dict[str, Any]:
        return {"imported": self.imported, "rejected": self.rejected,
                "already_imported": self.already_imported, "people": self.people,
                "rows": self.rows, "mode": self.mode, "import_id": self.import_id,
                "errors": [dataclasses.asdict(e) for e in self.errors],
                "errors_truncated": self.errors_truncated}


class ImportRejected(Unprocessable):
    """Strict mode with at least one bad row: nothing is stored; every error has its row."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__(report.errors[0].code,
                         f"导入失败：{report.rejected} 户有错误，未导入任何数据 "
                         f"(strict import rejected, nothing stored)")
        self.errors = report.errors  # type: ignore[assignment]
        self.report = report

    def body(self) -> dict[str, Any]:
        counts = {k: v for k, v in self.report.body().items() if k != "errors"}
        # Nothing was stored; `valid` says how many households had no error.
        counts.update(imported=0, people=0, valid=self.report.imported)
        return {**super().body(), **counts}


@dataclass
class _Batch:
    """One batch's outcome, merged into the report only once its unit of work commits."""

    imported: int = 0
    people: int = 0
    rejected: int = 0
    already_imported: int = 0
    errors: list[RowError] = field(default_factory=list)


async def import_households(units: Units, *, table: Table, mode: Mode, file_name: str,
                            cipher: PiiCipher, scope: str = "",
                            batch_households: int = BATCH_HOUSEHOLDS,
                            on_progress: Callable[[ImportReport], None] | None = None
                            ) -> ImportReport:
    """Import every household of `table`; each batch runs in a unit of work from `units`.

    Reading, checking rows and preparing the next batch (hashing, encryption, events) run on
    the event loop in slices (`_next_batch`) while the current batch is with the database."""
    report = ImportReport(mode=mode, file_name=file_name)
    context = _Context(started=dt.datetime.now(dt.UTC), scope=scope, import_id=report.import_id)
    parser = RowParser(table.positions, table.headers)
    drafts = households(parser, _counted(table, report))

    def produce() -> asyncio.Future[list[HouseholdDraft] | None]:
        return asyncio.ensure_future(_next_batch(drafts, batch_households, context, cipher))

    pending = produce()
    try:
        while (batch := await pending) is not None:
            pending = produce()
            _merge(report, await _run_batch(units, context, batch, strict=mode == "strict"))
            if on_progress is not None:
                on_progress(report)
    finally:
        pending.cancel()
        await asyncio.gather(pending, return_exceptions=True)
    if mode == "strict" and report.rejected:
        raise ImportRejected(report)
    async with units() as tx:
        if context.tally:  # strict: once, for every batch's households
            await counters.add_households(tx, context.tally)
        tx.audit("household.import_file", "import", report.import_id, region_code=scope or None,
                 after={k: v for k, v in report.body().items() if k != "errors"}
                 | {"file_name": file_name[:200], "error_count": len(report.errors)})
    return report


def _merge(report: ImportReport, outcome: _Batch) -> None:
    report.imported += outcome.imported
    report.people += outcome.people
    report.rejected += outcome.rejected
    report.already_imported += outcome.already_imported
    report.add_errors(outcome.errors)


def _counted(table: Table, report: ImportReport) -> Iterator[tuple[int, list[str]]]:
    for number, cells in table.records:
        report.rows += 1
        yield number, cells


# The next batch is read, checked and prepared on the event loop, giving the loop a turn at
# least every SLICE_SECONDS (and every PREPARE_SLICE households while preparing), so the batch
# with the database is streamed and answered as soon as the server is ready and the
# preparation fills the time the loop would otherwise wait for the server. It used to run in
# a thread; both need the interpreter lock, and a thread hands it back to the event loop only
# every `sys.getswitchinterval()` (5 ms), which the COPY streaming, answer by answer, waited
# for. A worker process was measured too (one batch ahead, records and prepared rows through
# pipes): on 2 cores shared with PostgreSQL it was slower, its start-up (~0.8 s) and the
# pickling both ways cost more CPU than the interpreter lock did.
SLICE_SECONDS = 0.001
PREPARE_SLICE = 25  # households (~0.5 ms)


async def _next_batch(drafts: Iterator[HouseholdDraft], size: int, context: _Context,
                      cipher: PiiCipher) -> list[HouseholdDraft] | None:
    """The next `size` households, read, checked and prepared in slices; None at the end."""
    clock = time.perf_counter
    batch: list[HouseholdDraft] = []
    deadline = clock() + SLICE_SECONDS
    for draft in drafts:
        batch.append(draft)
        if len(batch) >= size:
            break
        if clock() >= deadline:
            await asyncio.sleep(0)
            deadline = clock() + SLICE_SECONDS
    if not batch:
        return None
    for start in range(0, len(batch), PREPARE_SLICE):
        await asyncio.sleep(0)
        prepare_batch(batch[start:start + PREPARE_SLICE], context, cipher)
    return batch


async def _run_batch(units: Units, context: _Context, batch: list[HouseholdDraft], *,
                     strict: bool) -> _Batch:
    """Partial mode retries a batch that lost a race with a concurrent registration."""
    attempt = 1
    while True:
        try:
            async with units() as tx:
                return await _import_batch(tx, context, batch, refresh_now=not strict)
        except Exception as exc:
            if not _unique_violation(exc):
                raise
            if strict or attempt >= ATTEMPTS:
                raise Conflict("person_already_registered",
                               "导入期间有人员或户编号被同时登记，请重新导入 (registered "
                               "concurrently; re-run the import)", field="file") from None
        attempt += 1


def _unique_violation(exc: Exception) -> bool:
    """SQLAlchemy's IntegrityError, or asyncpg's UniqueViolationError raised by COPY."""
    return isinstance(exc, IntegrityError) or type(exc).__name__ == "UniqueViolationError"


@dataclass
class _Context:
    started: dt.datetime
    scope: str
    import_id: str
    villages: dict[str, str | None] = field(default_factory=dict)
    # Strict mode: the households written, tallied for the statistics counters, which are
    # increased once, at the end.
    tally: dict[tuple[str, str, str, str], list[int]] = field(default_factory=dict)


async def _import_batch(tx: Tx, context: _Context, batch: list[HouseholdDraft], *,
                        refresh_now: bool = True) -> _Batch:
    for draft in batch:
        draft.reset_checks()
    await _check_villages(tx, context, batch)
    collected = await _insert_unchecked(tx, batch) if tx.dialect == "postgresql" else None
    if collected is None:
        await _check_numbers(tx, context, batch)
        await _check_people(tx, batch)
        collected = _collect(tx, batch)
        await store.insert_batch(tx, collected[1])
    outcome, records, numbers, _ = collected
    await store.raise_counters(tx, numbers)
    # Statistics counters, increased by the households written (`counters.add_households`):
    # partial mode in the batch's transaction; strict mode, one transaction for the whole
    # file, once after the last batch, so the counters' lock is held only at the end.
    if refresh_now:
        await counters.add_households(tx, _tally(records, {}))
    else:
        _tally(records, context.tally)
    return outcome


_H_KEY = tuple(store.HOUSEHOLD_COLUMNS.index(c)
               for c in ("region_code", "status", "attribute", "primary_cause"))
_H_ID = store.HOUSEHOLD_COLUMNS.index("id")
_M_HOUSEHOLD = store.MEMBER_COLUMNS.index("household_id")


def _tally(records: store.BatchRows, into: dict[tuple[str, str, str, str], list[int]]
           ) -> dict[tuple[str, str, str, str], list[int]]:
    """Add the batch's households to `into`: (village, status, attribute, primary cause) ->
    [households, people] (every imported member is current)."""
    people = Counter(m[_M_HOUSEHOLD] for m in records.members)
    for h in records.households:
        counts = into.setdefault(tuple(h[i] for i in _H_KEY), [0, 0])  # type: ignore[arg-type]
        counts[0] += 1
        counts[1] += people[h[_H_ID]]
    return into


async def _insert_unchecked(tx: Tx, batch: list[HouseholdDraft]) -> _Collected | None:
    """The common case in one step: write the batch before asking whether its 户编号 and
    people are already registered, inside a savepoint. The unique indexes on household_no
    and on the active members' id_hash refuse exactly what `_check_numbers` and
    `_check_people` would report (or skip as already imported); when they refuse anything,
    the savepoint is rolled back and None says to check and write the batch the careful way,
    which names every such row. PostgreSQL only (COPY; SQLite's savepoints are not used)."""
    collected = _collect(tx, batch)
    try:
        async with tx.session.begin_nested():
            await store.insert_batch(tx, collected[1])
    except Exception as exc:
        if not _unique_violation(exc):
            raise
        return None
    return collected


_Collected = tuple[_Batch, store.BatchRows, dict[str, int], set[str]]


def _collect(tx: Tx, batch: list[HouseholdDraft]) -> _Collected:
    """The batch's outcome and, for the households to write, their records, the 户编号
    sequences to raise and their villages."""
    outcome, records = _Batch(), store.BatchRows()
    numbers: dict[str, int] = {}
    villages: set[str] = set()
    actor = (tx.actor,)
    for draft in batch:
        if draft.errors:
            outcome.rejected += 1
            outcome.errors.extend(draft.errors)
        elif draft.already_imported:
            outcome.already_imported += 1
        else:
            household, members, event, audit = draft.prepared
            records.households.append(household)
            records.members.extend(members)
            records.outbox.append(event)
            records.audit.append(audit[:2] + actor + audit[3:])  # this unit's actor
            _remember_number(draft, numbers)
            villages.add(draft.village_code)
            outcome.imported += 1
            outcome.people += len(members)
    return outcome, records, numbers, villages


async def _check_villages(tx: Tx, context: _Context, batch: list[HouseholdDraft]) -> None:
    """Each distinct village code is looked up once per import."""
    unknown = {d.village_code for d in batch if not d.errors} - context.villages.keys()
    found = await store.region_levels(tx, unknown)
    for code in unknown:
        context.villages[code] = found.get(code)
    for draft in batch:
        if draft.errors:
            continue
        level = context.villages.get(draft.village_code)
        row = draft.members[0].row
        if level is None:
            draft.errors.append(RowError("unknown_village", "所在村不存在 (unknown village)",
                                         "所在村代码", row))
        elif level != "village":
            draft.errors.append(RowError("not_a_village", "所在村代码必须是村级区划 "
                                         "(not a village code)", "所在村代码", row))
        elif not draft.village_code.startswith(context.scope):
            draft.errors.append(RowError("region_forbidden", "无权导入该行政区域的数据 "
                                         "(outside your region)", "所在村代码", row))


async def _check_numbers(tx: Tx, context: _Context, batch: list[HouseholdDraft]) -> None:
    """户编号 already used: the same household (same head) from an earlier run is skipped."""
    seen: set[str] = set()
    existing = await store.existing_households(tx, [d.household_no for d in batch
                                                    if not d.errors])
    for draft in batch:
        if draft.errors:
            continue
        found = existing.get(draft.household_no)
        row = draft.first_row
        if draft.household_no in seen or (found and found.created_at >= context.started):
            draft.errors.append(RowError(
                "household_split", "户编号在文件中重复出现，同一户的成员行须连续排列 (household "
                "number appears twice; rows of one household must be adjacent)", "户编号", row))
        elif found and found.head_hash == draft.head_hash:
            draft.already_imported = True
        elif found:
            draft.errors.append(RowError("household_no_taken", "户编号已被其他贫困户使用 "
                                         "(household number already used)", "户编号", row))
        seen.add(draft.household_no)


async def _check_people(tx: Tx, batch: list[HouseholdDraft]) -> None:
    """A person may belong to one household: neither in the registry nor twice in the file."""
    live = [d for d in batch if not d.errors and not d.already_imported]
    taken = await store.registered_hashes(tx, [m.id_hash for d in live for m in d.members])
    seen: set[str] = set()
    for draft in live:
        for member in draft.members:
            if member.id_hash in taken or member.id_hash in seen:
                draft.errors.append(RowError(
                    "person_already_registered", "该人员已在其他贫困户中登记或在文件中重复 "
                    "(person already registered, or listed twice)", "身份证号", member.row))
            seen.add(member.id_hash)


def prepare_batch(batch: list[HouseholdDraft], context: _Context, cipher: PiiCipher) -> None:
    """Blind indexes for the checks, and the rows a household would be stored as: COPY
    records in import_store's column order, JSON texts already encoded."""
    for draft in batch:
        for member in draft.members:
            member.id_hash = cipher.blind_index(member.id_number)
            if member.relation == "head":
                draft.head_hash = member.id_hash
    live = [d for d in batch if not d.errors]
    if not live:
        return
    people = sum(len(d.members) for d in live)
    now = dt.datetime.now(dt.UTC)
    batch_values = _BatchValues(now=now, time=_ENCODE(now.isoformat().replace("+00:00", "Z")),
                                import_id=_ENCODE(context.import_id),
                                request_id=request_id_var.get(),
                                ids=iter(new_ids(3 * len(live) + people)),
                                sealed=iter(cipher.encrypt_many(
                                    [m.id_number for d in live for m in d.members])))
    for draft in live:
        draft.prepared = _rows_of(draft, batch_values)


@dataclass(slots=True)
class _BatchValues:
    """What every household of a batch shares, and its supply of ids and ciphertexts (taken
    in the order `new_id` was called before: household, members, event, audit entry)."""

    now: dt.datetime
    time: str  # JSON text
    import_id: str  # JSON text
    request_id: str | None
    ids: Iterator[str]
    sealed: Iterator[str]


def _rows_of(draft: HouseholdDraft, batch: _BatchValues) -> tuple[tuple, list[tuple], tuple,
                                                                   tuple]:
    """(household, members, outbox event, audit entry) as COPY records; the audit entry's
    actor (third) is filled in by the unit of work.

    The event payload and the audit `after` are written as JSON text directly, byte for byte
    what `_EVENT_JSON` / `import_store`'s JSON column encoder make of the dicts
    `tests/registry/test_import_rows.py` builds (every string through the JSON encoder's own
    escaping): encoding a dict per household cost more than the rest of its preparation."""
    values, now, ids, e = draft.values, batch.now, batch.ids, _ENCODE
    household_id = next(ids)
    status, attribute, cause = values["status"], values["attribute"], values["primary_cause"]
    year, causes, village = values["identified_year"], values["secondary_causes"], \
        draft.village_code
    causes_json, causes_compact = _causes_json(tuple(causes))
    household = (household_id, draft.household_no, village, status, attribute, year, cause,
                 causes_json, 1, now, now)
    members = [(next(ids), household_id, m.name, next(batch.sealed), m.id_hash, m.relation,
                m.labor_ability, m.health, m.schooling, m.sex, m.birth_date, None, None, now)
               for m in draft.members]
    j_id, j_no, j_village = e(household_id), e(draft.household_no), e(village)
    j_status, j_attribute, j_cause, j_year = e(status), e(attribute), e(cause), str(int(year))
    event_id = next(ids)
    event_members = ",".join(
        f'{{"member_id":{e(m[0])},"relation":{e(m[5])},"labor_ability":{e(m[6])},'
        f'"health":{e(m[7])},"schooling":{e(m[8])},"sex":{e(m[9])},'
        f'"birth_year":{m[10].year:d},"id_hash":{e(m[4])}}}' for m in members)
    payload = (
        f'{{"specversion":"1.0","id":{e(event_id)},"source":"/fupin/registry",'
        f'"type":{_EVENT_TYPE},"subject":{j_id},"time":{batch.time},'
        f'"datacontenttype":"application/json","regioncode":{j_village},"data":{{'
        f'"household_no":{j_no},"region_code":{j_village},"status":{j_status},'
        f'"attribute":{j_attribute},"identified_year":{j_year},"primary_cause":{j_cause},'
        f'"secondary_causes":{causes_compact},"household_id":{j_id},'
        f'"members":[{event_members}]}}}}')
    event = (event_id, HouseholdRegistered.topic, household_id, HouseholdRegistered.type,
             payload, now, None)
    audit_members = ", ".join(
        f'{{"id": {e(m[0])}, "relation": {e(m[5])}, "id_hash": {e(m[4][:12])}}}'
        for m in members)
    after = (
        f'{{"id": {j_id}, "household_no": {j_no}, "region_code": {j_village}, '
        f'"status": {j_status}, "attribute": {j_attribute}, "identified_year": {j_year}, '
        f'"primary_cause": {j_cause}, "secondary_causes": {causes_json}, "version": 1, '
        f'"import_id": {batch.import_id}, "members": [{audit_members}]}}')
    audit = (next(ids), now, None, "household.import", "household", household_id, village,
             None, after, batch.request_id)
    return household, members, event, audit


_ENCODE = json.encoder.encode_basestring  # type: ignore[attr-defined]  # a str as JSON text
_EVENT_TYPE = _ENCODE(HouseholdRegistered.type)


@functools.lru_cache(maxsize=1024)
def _causes_json(causes: tuple[str, ...]) -> tuple[str, str]:
    """Secondary causes as the JSON column stores them, and as the event carries them."""
    return store.json_text(list(causes)), _EVENT_JSON(list(causes))


_EVENT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


_OWN_SHAPE = re.compile(r"^(\d{12})(\d{5})$")


def _remember_number(draft: HouseholdDraft, numbers: dict[str, int]) -> None:
    match = _OWN_SHAPE.match(draft.household_no)
    if match and match.group(1) == draft.village_code:
        numbers[draft.village_code] = max(numbers.get(draft.village_code, 0),
                                          int(match.group(2)))


@contextlib.asynccontextmanager
async def shared_unit(tx: Tx) -> AsyncIterator[Tx]:
    """Strict mode: every batch in the caller's one transaction."""
    yield tx
