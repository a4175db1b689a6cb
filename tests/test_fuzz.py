"""schemathesis against the combined OpenAPI of all four services, served by `fupin dev`.

Seeded (derandomized), so CI is stable. Checks: no 5xx, every response matches its
documented schema, status code and content type. At least 1,000 cases per service."""

from __future__ import annotations

import collections
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shared.auth import SCOPES, TokenCodec

ROOT = Path(__file__).resolve().parents[1]
SECRET = "fuzzing-secret-of-at-least-thirty-two-bytes"
CASES: collections.Counter[str] = collections.Counter()
PER_OPERATION = int(os.environ.get("FUPIN_FUZZ_EXAMPLES", "60"))


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUPIN_")}
    env["FUPIN_JWT_SECRET"] = SECRET
    data = tmp_path_factory.mktemp("fuzz")
    proc = subprocess.Popen([sys.executable, "-m", "shared.cli", "dev", "--port", str(port),
                             "--data-dir", str(data)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.2)
    yield f"http://127.0.0.1:{port}"
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def api_schema(dev_server):
    return schemathesis.openapi.from_url(f"{dev_server}/api/v1/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")
TOKEN = TokenCodec(SECRET).mint(sub="fuzzer", scopes=list(SCOPES), region="")


@schema.parametrize()
@settings(max_examples=PER_OPERATION, derandomize=True, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_api_conforms(case, dev_server):
    service = case.path.split("/")[3] if case.path.startswith("/api/v1/") else "ops"
    CASES[service] += 1
    case.call_and_validate(
        base_url=dev_server, headers={"Authorization": f"Bearer {TOKEN}"},
        checks=[not_a_server_error, response_schema_conformance, status_code_conformance,
                content_type_conformance])


def test_zz_enough_cases_per_service():
    """Runs after the parametrized cases of this module."""
    report = ROOT / ".cache" / "fuzz-report.json"
    report.parent.mkdir(exist_ok=True)
    report.write_text(json.dumps(dict(CASES), indent=2))
    for service in ("registry", "monitoring", "funds", "tasks"):
        assert CASES[service] >= 1000, dict(CASES)
