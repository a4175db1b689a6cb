"""End to end with the real funds service: an allocation left undisbursed past the stagnant
limit raises `funds.alert.raised` (kind `stagnant`) in funds, and tasks opens one
rectification for the project's region. Two apps, two databases, one bus."""

import datetime as dt

import pytest

from services.funds.domain.alerts import refresh_alerts
from tests.funds.helpers import new_allocation, new_project, new_source
from tests.support.db import rows
from tests.support.platform import eventually
from tests.tasks.helpers import COUNTY, TOWNSHIP, VILLAGE, TasksApi


@pytest.fixture
async def two(platform):
    await platform.start("funds", "tasks", separate=True)
    return TasksApi(platform)


async def _funds_sweep(platform, as_of: dt.date) -> list:
    """The funds service's own alert computation (what its scheduler or GET /alerts runs)."""
    rt = platform.runtime("funds")
    async with rt.sessionmaker() as session:
        tx = rt.new_tx(session, actor="test")
        raised = await refresh_alerts(tx, as_of=as_of)
        await tx.flush()
        await session.commit()
    rt.relay.wake()
    return raised


async def test_stagnant_allocation_opens_a_rectification(two):
    api = two
    township = await api.unit("某镇财政所", TOWNSHIP)
    await api.unit("县扶贫办", COUNTY)
    allocated_on = dt.date(dt.date.today().year, 1, 15)
    source, project = await new_source(api.p), await new_project(api.p, region_code=VILLAGE)
    allocation = await new_allocation(api.p, source, project, "1000.00",
                                      allocated_on=allocated_on)
    raised = await _funds_sweep(api.p, allocated_on + dt.timedelta(days=120))
    assert [a.kind for a in raised] == ["stagnant"]
    assert await _funds_sweep(api.p, allocated_on + dt.timedelta(days=121)) == []

    async def opened():
        return await rows(api.rt, "SELECT source, region_code, responsible_unit_id, due_on, "
                                  "source_key FROM rectifications")

    (item,) = await eventually(opened, timeout=40)
    assert (item.source, item.region_code) == ("funds_alert", VILLAGE)
    assert item.responsible_unit_id == township["id"]  # the nearest unit above the village
    assert str(item.due_on) == str(allocated_on + dt.timedelta(days=150))  # raised + 30 days
    assert item.source_key == f"funds.alert:{raised[0].id}"
    assert allocation["project_id"] == project["id"]
