"""Scope matrix generated from the OpenAPI document: every non-public operation refuses a
missing token (401), and every write refuses a token that may only read (403)."""

from __future__ import annotations

import re

import pytest

from shared.auth import SCOPES

PUBLIC = ("/healthz", "/readyz", "/metrics", "/openapi.json")
WRITES = {"post", "put", "patch", "delete"}
READ_ONLY = [s for s in SCOPES if s.endswith(":read")]  # every read scope and pii:read


@pytest.fixture
async def everything(platform):
    await platform.start("registry", "monitoring", "funds", "tasks")
    doc = (await platform.client("registry").get("/openapi.json")).json()
    platform.operations = [
        (method, path) for path, ops in doc["paths"].items() for method in ops
        if path.startswith("/api/v1/") and not path.endswith(("/enums", "/asyncapi.json"))
    ]
    return platform


def _concrete(path: str) -> str:
    def fill(match: re.Match) -> str:
        name = match.group(1)
        return "2020" if name == "year" else "430902100201" if "code" in name else "x1"

    return re.sub(r"\{([^}]+)\}", fill, path)


async def test_every_operation_needs_a_token(everything):
    client = everything.client("registry")
    seen = []
    for method, path in everything.operations:
        r = await client.request(method.upper(), _concrete(path), json={})
        seen.append((method, path, r.status_code))
    wrong = [s for s in seen if s[2] != 401]
    assert not wrong, wrong
    assert len(seen) >= 80


async def test_every_write_refuses_a_read_only_token(everything):
    client = everything.client("registry")
    headers = everything.auth(scopes=READ_ONLY)
    writes = [(m, p) for m, p in everything.operations if m in WRITES]
    wrong = []
    for method, path in writes:
        r = await client.request(method.upper(), _concrete(path), json={}, headers=headers)
        if r.status_code != 403 or r.json()["errors"][0]["code"] != "missing_scope":
            wrong.append((method, path, r.status_code))
    assert not wrong, wrong
    assert len(writes) >= 40


async def test_each_service_write_needs_its_own_scope(everything):
    """A token that may write one service cannot write another."""
    client = everything.client("registry")
    for service in ("registry", "monitoring", "funds", "tasks"):
        others = [f"{s}:write" for s in ("registry", "monitoring", "funds", "tasks")
                  if s != service]
        headers = everything.auth(scopes=others + READ_ONLY)
        for method, path in everything.operations:
            if method in WRITES and path.startswith(f"/api/v1/{service}/"):
                r = await client.request(method.upper(), _concrete(path), json={},
                                         headers=headers)
                assert r.status_code == 403, (method, path, r.status_code)
