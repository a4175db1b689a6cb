import pytest

from tests.tasks.helpers import TasksApi


@pytest.fixture
async def api(platform) -> TasksApi:
    await platform.start("tasks")
    return TasksApi(platform)


class _LazyTemplates(dict):
    """Migrated template databases, prepared on first use: a tasks test only depends on the
    migrations of the services it starts."""

    def __init__(self, servers) -> None:
        super().__init__()
        self.servers = servers

    def __bool__(self) -> bool:  # the harness treats an empty mapping as "no templates"
        return True

    def __missing__(self, service: str) -> str:
        import asyncio
        from concurrent.futures import ThreadPoolExecutor

        import services
        from tests.support.databases import ensure_template

        (definition,) = services.definitions([service])
        with ThreadPoolExecutor(1) as pool:
            name = pool.submit(asyncio.run, ensure_template(self.servers, definition)).result()
        self[service] = name
        return name


@pytest.fixture(scope="session")
def templates(servers) -> dict[str, str]:
    return _LazyTemplates(servers)
