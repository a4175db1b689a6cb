"""households: one index per region level above the village (city, county, township),
so that a page of households in a city, county or township reads in id order without
scanning the households of other regions

Revision ID: 5e0b7d2c9a14
Revises: 7c1e4a9d3b52
Create Date: 2026-11-23 16:40:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '5e0b7d2c9a14'
down_revision: str | None = '7c1e4a9d3b52'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (index name, prefix length): written out here so the migration does not change when the
# application code does (services/registry/db/tables.py REGION_PREFIX_INDEXES).
_INDEXES = (("ix_households_city_id", 4), ("ix_households_county_id", 6),
            ("ix_households_township_id", 9))


def upgrade() -> None:
    for name, digits in _INDEXES:
        op.create_index(name, "households", [sa.text(f"substr(region_code, 1, {digits})"), "id"])


def downgrade() -> None:
    for name, _ in reversed(_INDEXES):
        op.drop_index(name, table_name="households")
