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
    """One dated row in docs/benchmarks.md (created with its header when missing)."""
    if not RESULTS.exists():
        RESULTS.write_text(HEADER, encoding="utf-8")
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")
    text = f"{figures}; {ratios}" if ratios else figures
    cells = [now, benchmark, machine(), f"`{command}`", text]
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |\n")
