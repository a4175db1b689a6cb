"""Funds' projection of registry households: built from registry events only, and rebuilt
by replaying the registry topic (`fupin replay funds`)."""

from services.funds.service import definition
from shared.replay import replay_projection
from tests.funds.helpers import household_leaves, registered_household
from tests.support.db import rows
from tests.support.factories import OTHER_COUNTY_VILLAGE, VILLAGE

VIEW = "SELECT household_id, region_code, member_count, in_registry FROM household_view " \
       "ORDER BY household_id"


async def test_projection_follows_the_registry_and_replays(funds):
    stays = await registered_household(funds)
    leaves = await registered_household(funds, OTHER_COUNTY_VILLAGE)
    await household_leaves(funds, leaves, OTHER_COUNTY_VILLAGE)
    rt = funds.runtime("funds")
    view = {r.household_id: r for r in await rows(rt, VIEW)}
    assert (view[stays].region_code, view[stays].member_count, bool(view[stays].in_registry)) \
        == (VILLAGE, 2, True)
    assert (view[leaves].member_count, bool(view[leaves].in_registry)) == (0, False)
    before = [tuple(r) for r in await rows(rt, VIEW)]
    (projection,) = definition.projections
    applied = await replay_projection(rt, projection)
    assert applied == 3
    assert [tuple(r) for r in await rows(rt, VIEW)] == before
