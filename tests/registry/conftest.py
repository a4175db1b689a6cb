"""Fixtures of the registry tests (a test module may still define its own `registry`)."""

import pytest

from tests.support.factories import OTHER_COUNTY_VILLAGE, region_tree


@pytest.fixture
async def registry(platform):
    """The registry service started alone, with two villages in two counties."""
    await platform.start("registry")
    client = platform.client("registry")
    await region_tree(client, platform.auth())
    await region_tree(client, platform.auth(), OTHER_COUNTY_VILLAGE)
    return platform
