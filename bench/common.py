"""Small helpers shared by the benchmark scripts: the machine, peak memory, the results file."""

from __future__ import annotations

import datetime as dt
import os
import platform
import resource
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "benchmarks.md"
HEADER = """# Benchmarks

| date | benchmark | machine | command | figures |
|---|---|---|---|---|
"""


def machine() -> str:
    """CPU count, memory and CPU model, from /proc where available."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    load = f", load average {os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else ""
    return f"{os.cpu_count()} CPU, {memory}, {model}{load}"


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def append_result(benchmark: str, command: str, figures: str, ratios: str = "") -> None:
    """One dated row in docs/benchmarks.md (created with its header when missing).

    FUPIN_BENCH_NO_RECORD=1 only prints it: for trial runs while changing the code."""
    if os.environ.get("FUPIN_BENCH_NO_RECORD") == "1":
        print(f"(not recorded) {benchmark}: {figures}; {ratios}")
        return
    if not RESULTS.exists():
        RESULTS.write_text(HEADER, encoding="utf-8")
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")
    text = f"{figures}; {ratios}" if ratios else figures
    cells = [now, benchmark, machine(), f"`{command}`", text]
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |\n")


# --- shared by the pipeline, REST, statistics and scale-out scripts ----------------------

PG_DSN = "postgresql://" + os.environ.get("FUPIN_BENCH_PG", "fupin:fupin@127.0.0.1:25432")
KAFKA = os.environ.get("FUPIN_BENCH_KAFKA", "127.0.0.1:29092")


def load() -> str:
    """The 1-minute load average now, for the figures (the machine is shared)."""
    return f"load {os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "load ?"


def sa_url(database: str) -> str:
    return PG_DSN.replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{database}"


async def create_database(prefix: str) -> str:
    """A fresh database on the shared server (the caller drops it)."""
    import uuid

    import asyncpg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(PG_DSN + "/postgres")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


async def drop_database(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_DSN + "/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def delete_topics(prefix: str) -> int:
    """Delete every topic whose name starts with `prefix` (a benchmark's own prefix)."""
    from aiokafka.admin import AIOKafkaAdminClient

    if not prefix:
        raise ValueError("refusing to delete topics without a prefix")
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await admin.start()
    try:
        mine = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if mine:
            await admin.delete_topics(mine)
        return len(mine)
    finally:
        await admin.close()


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of a list (q in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered))) - 1))
    return ordered[rank]
