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
