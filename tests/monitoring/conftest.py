import pytest


@pytest.fixture
async def monitoring(platform):
    await platform.start("monitoring")
    return platform
