"""Test fixtures. Every service test runs on both runtimes unless it says otherwise:
`embedded` (SQLite + embedded log) and `real` (PostgreSQL + Kafka started by deploy/).

FUPIN_TEST_BACKENDS=embedded limits a local run to the embedded runtime; CI runs both, and a
missing server is an error, never a skip.
"""

from __future__ import annotations

import os

import pytest

import services
from tests.support.platform import Platform
from tests.support.servers import Servers, delete_test_topics, ensure_servers

BACKENDS = [b for b in os.environ.get("FUPIN_TEST_BACKENDS", "embedded,real").split(",") if b]


@pytest.fixture(scope="session")
def servers() -> Servers:
    servers = ensure_servers()
    yield servers
    delete_test_topics(servers)


@pytest.fixture(scope="session")
def templates(servers: Servers) -> dict[str, str]:
    from tests.support.databases import prepare_templates

    return prepare_templates(servers, services.definitions())


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def platform(backend: str, tmp_path, request: pytest.FixtureRequest):
    servers = templates = None
    if backend == "real":
        servers = request.getfixturevalue("servers")
        templates = request.getfixturevalue("templates")
    p = Platform(backend, tmp_path, servers, templates)
    try:
        yield p
    finally:
        await p.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec and callspec.params.get("backend") == "real":
            item.add_marker(pytest.mark.postgres)
            item.add_marker(pytest.mark.kafka)
