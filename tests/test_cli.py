"""The `fupin` command: token, migrate and serve, as an operator runs them."""

import os
import socket
import subprocess
import sys
import time

import httpx
import jwt

FUPIN = [sys.executable, "-m", "shared.cli"]


def _env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUPIN_")}
    env.update(FUPIN_DATA_DIR=str(tmp_path), FUPIN_JWT_SECRET="cli-test-secret-0123456789abcdef",
               **extra)
    return env


def test_token_carries_the_claims(tmp_path):
    out = subprocess.run([*FUPIN, "token", "--sub", "clerk", "--region", "430902", "--scopes",
                          "registry:read,pii:read"], env=_env(tmp_path), capture_output=True,
                         text=True, check=True).stdout.strip()
    claims = jwt.decode(out, "cli-test-secret-0123456789abcdef", algorithms=["HS256"])
    assert (claims["sub"], claims["region"], claims["scopes"]) == (
        "clerk", "430902", ["registry:read", "pii:read"])


def test_token_refuses_unknown_scope(tmp_path):
    r = subprocess.run([*FUPIN, "token", "--sub", "x", "--scopes", "root"], env=_env(tmp_path),
                       capture_output=True, text=True)
    assert r.returncode == 2 and "unknown scopes" in r.stderr


def test_migrate_every_service(tmp_path):
    r = subprocess.run([*FUPIN, "migrate"], env=_env(tmp_path), capture_output=True, text=True,
                       check=True)
    assert [line.split(":")[0] for line in r.stdout.splitlines()] == [
        "registry", "monitoring", "funds", "tasks"]
    assert all((tmp_path / f"{s}.db").exists() for s in ("registry", "monitoring"))


def test_serve_one_service(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([*FUPIN, "serve", "funds", "--port", str(port)], env=_env(tmp_path),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert r.status_code == 200
        assert set(r.json()["checks"]) == {"funds.database", "bus"}
        paths = httpx.get(f"http://127.0.0.1:{port}/openapi.json").json()["paths"]
        assert not any(p.startswith("/api/v1/registry/") for p in paths)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
