"""The README's run command and its tour, executed from a clean clone of the repository."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tour_script(readme: str, token: str, port: int) -> str:
    tour = readme.split("## A short tour", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", tour, flags=re.S)
    script = "\n".join(blocks)
    script = script.replace("TOKEN=<the token make run printed>", f"TOKEN={token}")
    return "set -euo pipefail\n" + script.replace("localhost:8000", f"127.0.0.1:{port}")


def _wait_for_token(proc: subprocess.Popen, deadline: float) -> str:
    lines: list[str] = []
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "admin token" in line:
            return proc.stdout.readline().strip()
    raise AssertionError("make run printed no token:\n" + "".join(lines[-40:]))


def test_make_run_and_the_tour_from_a_clean_clone(tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUPIN_")}
    env.pop("VIRTUAL_ENV", None)
    proc = subprocess.Popen(["make", "run", f"PORT={port}"], cwd=clone, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        token = _wait_for_token(proc, time.monotonic() + 900)
        _wait_for_port(port, time.monotonic() + 60)
        script = _tour_script((clone / "README.md").read_text(), token, port)
        result = subprocess.run(["bash", "-c", script], cwd=clone, env=env, text=True,
                                capture_output=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        assert '"household_no":"43090210020100001"' in result.stdout
        assert '"cn.fupin.registry.household.registered"' in result.stdout
        assert "11010519491231002X" not in result.stdout.splitlines()[-1]  # the event line
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def _wait_for_port(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError("make run never listened")
