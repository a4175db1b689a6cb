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

Figures measured by the scripts in `bench/` (run them with `.venv/bin/python bench/<name>.py`).
Each run appends one row; compare rows of the same machine only.

| date (UTC) | benchmark | machine | command | figures | ratios |
|---|---|---|---|---|---|
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
    return f"{os.cpu_count()} CPU, {memory}, {model}"


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def append_result(benchmark: str, command: str, figures: str, ratios: str) -> None:
    if not RESULTS.exists():
        RESULTS.write_text(HEADER, encoding="utf-8")
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")
    cells = [now, benchmark, machine(), f"`{command}`", figures, ratios]
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |\n")
