"""Test fixtures. Every service test runs on both runtimes unless it says otherwise:
`embedded` (SQLite + embedded log) and `real` (PostgreSQL + Kafka started by deploy/).

FUPIN_TEST_BACKENDS=embedded limits a local run to the embedded runtime; CI runs both, and a
missing server is an error, never a skip.
"""

from __future__ import annotations

import logging
import os

import pytest

import services
from tests.support import pii
from tests.support.platform import Platform
from tests.support.servers import Servers, delete_test_topics, ensure_servers, scan_test_events

BACKENDS = [b for b in os.environ.get("FUPIN_TEST_BACKENDS", "embedded,real").split(",") if b]


@pytest.fixture(scope="session")
def servers() -> Servers:
    servers = ensure_servers()
    yield servers
    pii.LEDGER.events += scan_test_events(servers, pii.LEDGER.scan)
    delete_test_topics(servers)


_LOGS = pii.CapturingHandler()


def pytest_sessionstart(session: pytest.Session) -> None:
    logging.getLogger().addHandler(_LOGS)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    for line in _LOGS.lines:
        pii.LEDGER.scan(line, "log line")
    pii.LEDGER.log_lines = len(_LOGS.lines)
    if pii.LEDGER.leaks:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter) -> None:
    ledger = pii.LEDGER
    terminalreporter.write_line(
        f"personal-data check: {len(ledger.used)} ID numbers used by the tests, searched in "
        f"{ledger.databases} databases (pg_dump / SQLite files), {ledger.events} Kafka events "
        f"(embedded logs are in the files) and {ledger.log_lines} log lines: "
        f"{len(ledger.leaks)} leaks")
    for leak in ledger.leaks[:20]:
        terminalreporter.write_line(f"  LEAK {leak}", red=True)


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
