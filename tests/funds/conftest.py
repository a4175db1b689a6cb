"""The funds tests run registry and funds as separate apps: households come from the
registry's API and reach funds as events."""

import pytest

from tests.support.factories import OTHER_COUNTY_VILLAGE, region_tree


@pytest.fixture
async def funds(platform):
    await platform.start("registry", "funds", separate=True)
    client = platform.client("registry")
    await region_tree(client, platform.auth())
    await region_tree(client, platform.auth(), OTHER_COUNTY_VILLAGE)
    return platform
