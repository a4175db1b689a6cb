"""Test fixtures. Every service test runs on both runtimes unless it says otherwise:
`embedded` (SQLite + embedded log) and `real` (PostgreSQL + Kafka started by deploy/).

FUPIN_TEST_BACKENDS=embedded limits a local run to the embedded runtime; CI runs both, and a
missing server is an error, never a skip.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

import pytest

import services
from tests.support import pii
from tests.support.platform import Platform
from tests.support.servers import Servers, delete_test_topics, ensure_servers, scan_test_events
from tests.support.tasks import stop_leftovers

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


def pytest_unconfigure(config: pytest.Config) -> None:
    """A thread that is not a daemon and never ends (an aiosqlite connection nobody closed)
    would hold the process at exit until CI gives up, with the results already printed and
    nothing to say why. Such threads are named, and the run ends failed instead."""
    stray = [t for t in threading.enumerate()
             if t is not threading.main_thread() and not t.daemon]
    for thread in stray:
        thread.join(timeout=10)
    if stuck := [t for t in stray if t.is_alive()]:
        sys.stdout.flush()
        sys.stderr.write("threads that would keep the test process from exiting: "
                         + ", ".join(f"{t.name} ({getattr(t, '_target', None)})" for t in stuck)
                         + "\n")
        sys.stderr.flush()
        os._exit(1)


def pytest_terminal_summary(terminalreporter) -> None:
    ledger = pii.LEDGER
    terminalreporter.write_line(
        f"personal-data check: {len(ledger.used)} ID numbers used by the tests, searched in "
        f"{ledger.databases} databases (pg_dump / SQLite files), {ledger.events} Kafka events "
        f"(embedded logs are in the files) and {ledger.log_lines} log lines: "
        f"{len(ledger.leaks)} leaks")
    for leak in ledger.leaks[:20]:
        terminalreporter.write_line(f"  LEAK {leak}", red=True)


@pytest.fixture(autouse=True)
async def no_task_outlives_its_test():
    """Runs last: what a test leaves running is stopped before its event loop closes (see
    tests/support/tasks.py); the project's own tasks left running fail the test."""
    yield
    if ours := await stop_leftovers():
        pytest.fail("left running by the test: " + ", ".join(ours), pytrace=False)


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
