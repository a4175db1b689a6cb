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


def test_dlq_list_and_redrive(tmp_path):
    """A poison registry event parked by monitoring's consumer shows up and stays parked."""
    import asyncio

    from services import definitions
    from shared.bus.base import Outgoing
    from shared.consumer import EventConsumer
    from shared.events.envelope import CloudEvent
    from shared.events.topics import HOUSEHOLDS
    from shared.runtime import open_runtime
    from shared.settings import Settings

    poison = CloudEvent(source="/fupin/registry", type="cn.fupin.registry.household.registered",
                        subject="h-1", regioncode="430902100201", data={"household_id": "h-1"})

    async def park() -> None:
        (definition,) = definitions(["monitoring"])
        settings = Settings(data_dir=tmp_path)
        async with open_runtime(definition, settings) as runtime:
            await runtime.bus.publish([Outgoing(HOUSEHOLDS, "h-1", poison.to_bytes())])
            sub = definition.all_subscriptions()[0]
            consumer = EventConsumer(runtime=runtime, subscription=sub, bus=runtime.bus,
                                     max_attempts=2, retry_delay=0.01)
            await consumer.handle((await runtime.bus.read_topic(HOUSEHOLDS))[0])

    asyncio.run(park())
    listed = subprocess.run([*FUPIN, "dlq", "list", "--service", "monitoring"],
                            env=_env(tmp_path), capture_output=True, text=True, check=True)
    (line,) = listed.stdout.splitlines()
    assert poison.id in line and "parked" in line and "ValidationError" in line
    again = subprocess.run([*FUPIN, "dlq", "redrive", "--service", "monitoring"],
                           env=_env(tmp_path), capture_output=True, text=True, check=True)
    assert "monitoring: 0 redriven" in again.stdout  # still broken: stays parked
    still = subprocess.run([*FUPIN, "dlq", "list", "--service", "monitoring"],
                           env=_env(tmp_path), capture_output=True, text=True, check=True)
    assert poison.id in still.stdout


def test_one_service_serves_the_combined_openapi(tmp_path):
    from fastapi.testclient import TestClient

    from services import definitions
    from shared.app import create_app
    from shared.settings import Settings

    app = create_app(definitions(["funds"]), settings=Settings(data_dir=tmp_path),
                     catalogue=definitions, background=False)
    client = TestClient(app)
    own = client.get("/openapi.json").json()["paths"]
    combined = client.get("/api/v1/openapi.json").json()["paths"]
    assert not any(p.startswith("/api/v1/registry/") for p in own)
    for service in ("registry", "monitoring", "funds", "tasks"):
        assert any(p.startswith(f"/api/v1/{service}/") for p in combined), service
    assert "swagger" in client.get("/api/v1/docs").text.lower()


def test_events_prints_the_last_events_of_a_topic(tmp_path):
    import asyncio

    from shared.bus import bus_from_settings
    from shared.bus.base import Outgoing
    from shared.events.topics import HOUSEHOLDS
    from shared.settings import Settings

    async def publish() -> None:
        bus = bus_from_settings(Settings(data_dir=tmp_path, bus="embedded"))
        await bus.start()
        try:
            await bus.publish([Outgoing(HOUSEHOLDS, f"h-{i}", b'{"n": %d}' % i)
                               for i in range(2_500)])
        finally:
            await bus.stop()

    asyncio.run(publish())
    out = subprocess.run([*FUPIN, "events", "--topic", HOUSEHOLDS, "--limit", "3"],
                         env=_env(tmp_path), capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ['{"n": 2497}', '{"n": 2498}', '{"n": 2499}']
