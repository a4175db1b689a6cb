"""What every service serves besides its domain: probes, metrics, enums, OpenAPI, errors."""

import pytest

from shared.settings import Settings


@pytest.fixture
async def all_four(platform):
    await platform.start("registry", "monitoring", "funds", "tasks")
    return platform.client("registry")


async def test_probes(all_four):
    assert (await all_four.get("/healthz")).json() == {"status": "ok"}
    ready = await all_four.get("/readyz")
    assert ready.status_code == 200
    assert set(ready.json()["checks"]) == {
        "registry.database", "monitoring.database", "funds.database", "tasks.database", "bus"}


async def test_metrics_and_request_id(all_four):
    r = await all_four.get("/healthz", headers={"X-Request-ID": "req-123"})
    assert r.headers["x-request-id"] == "req-123"
    metrics = (await all_four.get("/metrics")).text
    assert "fupin_http_requests_total" in metrics
    assert 'fupin_outbox_backlog{service="registry"}' in metrics


@pytest.mark.parametrize("service", ["registry", "monitoring", "funds", "tasks"])
async def test_enums_with_chinese_labels(all_four, service):
    r = await all_four.get(f"/api/v1/{service}/enums")
    assert r.status_code == 200
    catalog = r.json()
    assert catalog and all(labels for labels in catalog.values())
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in label)
               for labels in catalog.values() for label in labels.values())


async def test_openapi_publishes_enum_labels(all_four):
    doc = (await all_four.get("/openapi.json")).json()
    assert "`head` 户主" in doc["components"]["schemas"]["Relation"]["description"]
    assert all(p.startswith(("/api/v1/", "/healthz", "/readyz", "/metrics")) for p in doc["paths"])


async def test_unknown_route_is_problem_json(all_four):
    r = await all_four.get("/api/v1/registry/nothing-here")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == 404


def test_production_refuses_default_secrets():
    from services import definitions
    from shared.app import create_app

    with pytest.raises(SystemExit) as info:
        create_app(definitions(["registry"]), settings=Settings(env="production"))
    assert "FUPIN_JWT_SECRET" in str(info.value)


@pytest.mark.parametrize("secret", ["CHANGE-ME-generate-a-random-secret", "short-secret"])
def test_production_refuses_placeholder_or_short_secrets(secret):
    from services import definitions
    from shared.app import create_app

    key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
    with pytest.raises(SystemExit):
        create_app(definitions(["registry"]), settings=Settings(
            env="production", jwt_secret=secret, pii_key=key, blind_index_key=key))


def test_with_a_public_key_hs256_tokens_are_refused():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from shared.auth import TokenCodec
    from shared.errors import Unauthorized
    from shared.settings import DEV_JWT_SECRET

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    codec = TokenCodec(DEV_JWT_SECRET, public_pem)
    forged = TokenCodec(DEV_JWT_SECRET).mint(sub="x", scopes=["admin"])
    with pytest.raises(Unauthorized):
        codec.verify(forged)
    import jwt

    good = jwt.encode({"sub": "p", "scopes": ["registry:read"], "region": "43"}, private,
                      algorithm="RS256")
    assert codec.verify(good).region == "43"


async def test_domain_gauges_and_dead_letters_come_from_the_database(platform):
    from tests.support.db import count
    from tests.support.factories import household, region_tree
    from tests.support.platform import eventually

    await platform.start("registry", "monitoring")
    client = platform.client("registry")
    await region_tree(client, platform.auth())
    hid = (await client.post("/api/v1/registry/households", json=household(),
                             headers=platform.auth())).json()["id"]
    mon = platform.runtime("monitoring")
    await eventually(lambda: count(mon, "household_view"))
    r = await client.post("/api/v1/monitoring/signals", headers=platform.auth(), json={
        "household_id": hid, "source": "cadre_visit", "kind": "serious_illness",
        "occurred_on": "2020-01-02"})
    assert r.status_code == 201, r.text
    metrics = (await client.get("/metrics")).text
    assert 'fupin_monitoring_open_alerts{region="430902"} 1.0' in metrics
    assert 'fupin_dead_letters{group="monitoring.registry"} 0.0' in metrics


async def test_every_domain_gauge_is_exported(platform):
    await platform.start("registry", "monitoring", "funds", "tasks")
    client = platform.client("registry")
    hb = platform.auth()
    unit = (await client.post("/api/v1/tasks/units", headers=hb,
                              json={"name": "县扶贫办", "region_code": "430902"}))
    if unit.status_code == 422:  # the region must exist first
        from tests.support.factories import region_tree

        await region_tree(client, hb)
        unit = await client.post("/api/v1/tasks/units", headers=hb,
                                 json={"name": "县扶贫办", "region_code": "430902"})
    assert unit.status_code == 201, unit.text
    task = await client.post("/api/v1/tasks/tasks", headers=hb, json={
        "title": "完成危房改造", "region_code": "430902", "lead_unit_id": unit.json()["id"],
        "cooperating_unit_ids": [], "due_on": "2020-01-01"})
    assert task.status_code == 201, task.text
    metrics = (await client.get("/metrics")).text
    assert 'fupin_tasks_overdue_tasks{region="430902"} 1.0' in metrics
    for name in ("fupin_funds_stagnant_allocations", "fupin_monitoring_overdue_alerts"):
        assert f"# TYPE {name} gauge" in metrics


async def test_database_outage_is_503_with_retry_after(platform, tmp_path):
    """SQLite file made unreadable is the embedded stand-in for a database that refuses."""
    await platform.start("registry")
    client = platform.client("registry")
    runtime = platform.runtime("registry")
    await runtime.engine.dispose()
    if platform.backend == "embedded":
        real = platform.database_urls["registry"]
        from shared.db import create_engine, sessionmaker

        # A directory is not a database file: SQLite refuses to open it.
        runtime.engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}")
    else:
        from shared.db import create_engine, sessionmaker

        real = platform.database_urls["registry"]
        runtime.engine = create_engine(real.rsplit(":", 1)[0] + ":1/none")
    runtime.sessionmaker = sessionmaker(runtime.engine)
    r = await client.get("/api/v1/registry/regions/43", headers=platform.auth())
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"] == "5"
    assert r.json()["errors"][0]["code"] == "service_unavailable"
    assert real
