"""`fupin stats check|rebuild`: an operator finds counters that disagree with the households and
members, and repairs them."""

import os
import sqlite3
import subprocess
import sys

FUPIN = [sys.executable, "-m", "shared.cli"]


def _fupin(tmp_path, *args, check=True):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUPIN_")}
    env.update(FUPIN_DATA_DIR=str(tmp_path), FUPIN_JWT_SECRET="cli-test-secret-0123456789abcdef")
    return subprocess.run([*FUPIN, *args], env=env, capture_output=True, text=True, check=check,
                          cwd=tmp_path)


def test_check_finds_a_wrong_counter_and_rebuild_repairs_it(tmp_path):
    _fupin(tmp_path, "migrate")
    csv = tmp_path / "seed.csv"
    _fupin(tmp_path, "seed", "--households", "60", "--region", "430902", "--out", str(csv),
           "--create-regions")
    _fupin(tmp_path, "import", "households", str(csv))

    clean = _fupin(tmp_path, "stats", "check")
    assert clean.stdout.strip().endswith("stats: 0 counters differ from the base tables")

    with sqlite3.connect(tmp_path / "registry.db") as db:
        village, status, attribute, cause = db.execute(
            "SELECT village_code, status, attribute, primary_cause FROM household_stats "
            "ORDER BY village_code LIMIT 1").fetchone()
        db.execute("UPDATE household_stats SET households = households + 5 WHERE village_code = ? "
                   "AND status = ? AND attribute = ? AND primary_cause = ?",
                   (village, status, attribute, cause))

    wrong = _fupin(tmp_path, "stats", "check", check=False)
    assert wrong.returncode == 1
    assert f"household_stats {village}/{status}/{attribute}/{cause}" in wrong.stdout
    assert "stats: 1 counters differ" in wrong.stdout

    rebuilt = _fupin(tmp_path, "stats", "rebuild")
    assert "stats: rebuilt" in rebuilt.stdout
    assert _fupin(tmp_path, "stats", "check").returncode == 0
