import pytest

from tests.tasks.helpers import TasksApi


@pytest.fixture
async def api(platform) -> TasksApi:
    await platform.start("tasks")
    return TasksApi(platform)


@pytest.fixture(scope="session")
def templates(servers) -> dict[str, str]:
    """Only the databases the tasks tests use (other services' migrations are theirs to run)."""
    import services
    from tests.support.databases import prepare_templates

    return prepare_templates(servers, services.definitions(["tasks", "registry"]))
