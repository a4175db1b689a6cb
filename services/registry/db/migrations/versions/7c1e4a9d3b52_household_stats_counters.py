"""household_stats: maintained statistics counters, backfilled from the existing rows

Revision ID: 7c1e4a9d3b52
Revises: 2dcb52ff5cdf
Create Date: 2026-11-23 13:25:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '7c1e4a9d3b52'
down_revision: str | None = '2dcb52ff5cdf'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same aggregate as services/registry/domain/counters.py `rebuild` (written out here so
# the migration does not change when the application code does): households and their
# current members per village, status, attribute and primary cause.
_BACKFILL = """
INSERT INTO household_stats (village_code, status, attribute, primary_cause, households, people)
SELECT h.region_code, h.status, h.attribute, h.primary_cause, COUNT(*), COALESCE(SUM(s.n), 0)
FROM households h
LEFT JOIN (SELECT household_id, COUNT(*) AS n FROM members WHERE removed_on IS NULL
           GROUP BY household_id) s ON s.household_id = h.id
GROUP BY h.region_code, h.status, h.attribute, h.primary_cause
"""


def upgrade() -> None:
    op.create_table('household_stats',
    sa.Column('village_code', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('attribute', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('primary_cause', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('households', sa.Integer(), nullable=False),
    sa.Column('people', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('village_code', 'status', 'attribute', 'primary_cause')
    )
    op.execute(_BACKFILL)


def downgrade() -> None:
    op.drop_table('household_stats')
