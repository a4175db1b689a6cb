"""The sweep's set-based statement: one INSERT ... SELECT raises every missing alert."""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from services.monitoring.db.tables import Alert, HouseholdView, IncomeView
from shared.db import UtcDateTime

_A, _HV, _IV = Alert.__table__, HouseholdView.__table__, IncomeView.__table__


def by_prefix(column: sa.ColumnElement, values: list[tuple[str, object]], type_: sa.types.TypeEngine,
              ) -> sa.ColumnElement:
    """CASE choosing, per row, the value of the longest prefix of `column` ("" matches all)."""
    ordered = sorted(values, key=lambda kv: len(kv[0]), reverse=True)
    whens = [(column.startswith(prefix), sa.literal(value, type_)) for prefix, value in ordered
             if prefix]
    default = next((sa.literal(v, type_) for p, v in ordered if p == ""), sa.null())
    return sa.case(*whens, else_=default) if whens else default


def _json_literal(dialect: str, value: list[str]) -> sa.ColumnElement:
    text = sa.literal(json.dumps(value), sa.String)
    # SQLite keeps JSON as text; CAST(... AS JSON) there would mean NUMERIC affinity.
    return sa.cast(text, sa.JSON) if dialect == "postgresql" else text


def _id_column(dialect: str, base: str) -> sa.ColumnElement:
    """Time-ordered ids for the new rows: one fresh id's first 24 characters + a sequence."""
    seq = sa.func.row_number().over(order_by=_HV.c.household_id)
    if dialect == "postgresql":
        return sa.literal(base[:24]) + sa.func.lpad(sa.cast(seq, sa.Text), 12, "0")
    return sa.literal(base[:24]) + sa.func.substr(
        sa.literal("000000000000") + sa.cast(seq, sa.Text), -12, 12)


def insert_below_line(dialect: str, *, year: int, region: str, id_base: str,
                      lines: list[tuple[str, int]], due: list[tuple[str, dt.date]],
                      raised_on: dt.date, now: dt.datetime, kinds: list[str],
                      sources: list[str]):
    """Alerts for households of `region` whose latest per-capita income of `year` is below
    their line and who have no open alert; returns (id, household_id, region_code, due_on)."""
    line = by_prefix(_HV.c.region_code, lines, sa.BigInteger())
    open_alert = sa.exists().where(_A.c.household_id == _HV.c.household_id,
                                   _A.c.status == "open")
    select = (sa.select(
        _id_column(dialect, id_base), _HV.c.household_id, _HV.c.region_code,
        _json_literal(dialect, kinds), _json_literal(dialect, sources),
        sa.literal(now, UtcDateTime()), sa.literal(raised_on, sa.Date()),
        by_prefix(_HV.c.region_code, due, sa.Date()), sa.literal("open"), sa.literal(1),
        sa.literal(now, UtcDateTime()))
        .select_from(_HV.join(_IV, sa.and_(_IV.c.household_id == _HV.c.household_id,
                                           _IV.c.year == year)))
        .where(_HV.c.region_code.startswith(region), line.is_not(None),
               _IV.c.per_capita_net_income_fen < line, ~open_alert))
    module = postgresql if dialect == "postgresql" else sqlite
    columns = ["id", "household_id", "region_code", "kinds", "sources", "raised_at", "raised_on",
               "due_on", "status", "version", "updated_at"]
    return (module.insert(_A).from_select(columns, select)
            .on_conflict_do_nothing(index_elements=["household_id"],
                                    index_where=_A.c.status == "open")
            .returning(_A.c.id, _A.c.household_id, _A.c.region_code, _A.c.due_on))


def count_households(region: str):
    return sa.select(sa.func.count()).select_from(_HV).where(_HV.c.region_code.startswith(region))
