"""SIGKILL of `fupin import households` half-way through a file from `fupin seed`.

strict: one transaction, so a kill leaves nothing - no household, no member, no outbox row
(no event can ever be published for what was not stored). partial: every batch commits on its
own, so a kill leaves whole batches; running the same file again imports only what is missing,
ending with every household exactly once and one `household.registered` outbox row each.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from pathlib import Path

from tests.faults.conftest import (
    FUPIN,
    Db,
    create_database,
    drop_database,
    new_prefix,
    pg_dump,
    pii_leaks,
    run_fupin,
    service_env,
    write_report,
)

HOUSEHOLDS = 20_000
BATCH = 1_000
REGISTERED = "cn.fupin.registry.household.registered"
_PROGRESS = re.compile(r"import: (\d+) rows, (\d+) households")


def _import_until(env: dict, cwd: Path, csv: Path, mode: str, *, kill_after: int) -> dict:
    """Run an import and SIGKILL it once it reports `kill_after` households processed."""
    err_path = cwd / f"import-{mode}.err"
    with err_path.open("wb") as err:
        proc = subprocess.Popen([str(FUPIN), "import", "households", str(csv), "--mode", mode,
                                 "--batch", str(BATCH)], env=env, cwd=cwd,
                                stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + 180
    reported = 0
    try:
        while time.monotonic() < deadline:
            text = err_path.read_text(errors="replace")
            counts = [int(m.group(2)) for m in _PROGRESS.finditer(text)]
            reported = max(counts, default=0)
            # strict reports households as "imported" in its running report; partial too.
            if reported >= kill_after or proc.poll() is not None:
                break
            time.sleep(0.05)
        running = proc.poll() is None
        if running:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    return {"killed_while_running": running, "reported_households_at_kill": reported,
            "stderr_tail": err_path.read_text(errors="replace")[-500:]}


async def _counts(db: Db) -> dict:
    return {
        "households": await db.value("SELECT count(*) FROM households"),
        "distinct_household_no": await db.value(
            "SELECT count(DISTINCT household_no) FROM households"),
        "members": await db.value("SELECT count(*) FROM members"),
        "registered_outbox_rows": await db.value(
            "SELECT count(*) FROM outbox WHERE type = $1", REGISTERED),
        "registered_outbox_subjects": await db.value(
            "SELECT count(DISTINCT key) FROM outbox WHERE type = $1", REGISTERED),
        "orphan_outbox_rows": await db.value(
            "SELECT count(*) FROM outbox o WHERE o.type = $1 AND NOT EXISTS "
            "(SELECT 1 FROM households h WHERE h.id = o.key)", REGISTERED),
        "households_without_event": await db.value(
            "SELECT count(*) FROM households h WHERE NOT EXISTS (SELECT 1 FROM outbox o "
            "WHERE o.type = $1 AND o.key = h.id)", REGISTERED),
    }


async def _settled(db: Db, name: str) -> None:
    """Wait until the killed client's backend is gone (PostgreSQL rolls its work back)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        busy = await db.value("SELECT count(*) FROM pg_stat_activity WHERE datname = $1 "
                              "AND pid <> pg_backend_pid()", name)
        if not busy:
            return
        time.sleep(0.2)
    raise AssertionError("the killed import's connection is still open after 30 s")


async def test_kill_strict_then_partial_import_and_resume(fault_servers, tmp_path):
    name = await create_database("import")
    db = Db(name)
    env = service_env(new_prefix(), {"registry": name})
    figures: dict = {"households_in_file": HOUSEHOLDS, "batch": BATCH}
    try:
        csv = tmp_path / "seed.csv"
        seeded = run_fupin(["seed", "--households", str(HOUSEHOLDS), "--region", "430902",
                            "--out", str(csv), "--seed", "8", "--create-regions"], env, tmp_path,
                           timeout=300)
        assert seeded.returncode == 0, seeded.stderr[-2000:]
        people = int(re.search(r"(\d+) people in", seeded.stderr).group(1))
        figures["people_in_file"] = people
        used = {m.decode() for m in re.findall(rb"\b\d{17}[\dX]\b", csv.read_bytes())}

        # strict: killed after several batches were written inside its one transaction.
        strict = _import_until(env, tmp_path, csv, "strict", kill_after=3 * BATCH)
        await _settled(db, name)
        after_strict = await _counts(db)
        figures["strict"] = {**{k: v for k, v in strict.items() if k != "stderr_tail"},
                             **after_strict}

        # partial: killed after some batches committed, then the same file again.
        partial = _import_until(env, tmp_path, csv, "partial", kill_after=5 * BATCH)
        await _settled(db, name)
        after_kill = await _counts(db)
        resumed = run_fupin(["import", "households", str(csv), "--mode", "partial",
                             "--batch", str(BATCH)], env, tmp_path, timeout=300)
        after_resume = await _counts(db)
        figures["partial"] = {**{k: v for k, v in partial.items() if k != "stderr_tail"},
                              "after_kill": after_kill, "resume_exit": resumed.returncode,
                              "resume_report": _json_tail(resumed.stdout), **after_resume}
        leaks = pii_leaks(used, await pg_dump(name), "import database")
        leaks += pii_leaks(used, (resumed.stdout + resumed.stderr).encode(), "import output")
        figures["id_numbers_in_file"] = len(used)
        figures["pii_leaks"] = len(leaks)
        write_report("import_kill", figures)

        assert strict["killed_while_running"], strict["stderr_tail"]
        assert strict["reported_households_at_kill"] >= 3 * BATCH, strict
        assert after_strict["households"] == 0 and after_strict["members"] == 0, after_strict
        assert after_strict["registered_outbox_rows"] == 0, after_strict

        assert partial["killed_while_running"], partial["stderr_tail"]
        assert 0 < after_kill["households"] < HOUSEHOLDS, after_kill
        assert after_kill["households"] % BATCH == 0, after_kill  # whole batches only
        assert after_kill["registered_outbox_rows"] == after_kill["households"], after_kill
        assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
        report = figures["partial"]["resume_report"]
        assert report["already_imported"] == after_kill["households"], report
        assert report["imported"] == HOUSEHOLDS - after_kill["households"], report
        assert after_resume["households"] == HOUSEHOLDS, after_resume
        assert after_resume["distinct_household_no"] == HOUSEHOLDS, after_resume
        assert after_resume["members"] == people, after_resume
        assert after_resume["registered_outbox_rows"] == HOUSEHOLDS, after_resume
        assert after_resume["registered_outbox_subjects"] == HOUSEHOLDS, after_resume
        assert after_resume["orphan_outbox_rows"] == 0, after_resume
        assert after_resume["households_without_event"] == 0, after_resume
        assert not leaks, leaks[:5]
    finally:
        await drop_database(name)


def _json_tail(stdout: str) -> dict:
    import json

    start = stdout.find("{")
    return json.loads(stdout[start:]) if start >= 0 else {}
