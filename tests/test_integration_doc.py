"""docs/integration.md: every curl example, run in order against `fupin dev`."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECRET = "a-development-secret-of-at-least-32-bytes"


def _script(port: int) -> str:
    text = (ROOT / "docs" / "integration.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    script = "\n".join(blocks).replace("BASE=http://127.0.0.1:8000", f"BASE=http://127.0.0.1:{port}")
    return "set -euo pipefail\n" + script


def test_every_example_runs_against_fupin_dev(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUPIN_")}
    env["FUPIN_JWT_SECRET"] = SECRET
    server = subprocess.Popen([sys.executable, "-m", "shared.cli", "dev", "--port", str(port),
                               "--data-dir", str(tmp_path / "data")], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        result = subprocess.run(["bash", "-c", _script(port)], cwd=ROOT, env=env, text=True,
                                capture_output=True, timeout=180)
        assert result.returncode == 0, result.stdout + result.stderr
        lines = result.stdout.split()
        assert lines[:8] == ["401", "province", "404", "110105********002X", "True", "430902",
                             "same", "household"], result.stdout
        assert lines[8:12] == ["2", "412", "6900.00", "too_many_decimals"], result.stdout
        assert "no_poverty_line" in lines[12:], result.stdout
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
