"""household_stats, county_stats, village_poor_people: maintained statistics counters,
backfilled from the existing rows

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

# The same aggregates as services/registry/domain/counters.py `rebuild` (written out here so
# the migration does not change when the application code does): households and their
# current members per village, status, attribute and primary cause; those summed per county
# (first six digits); the members of poor and relapsed households per village.
_BACKFILL = ("""
INSERT INTO household_stats (village_code, status, attribute, primary_cause, households, people)
SELECT h.region_code, h.status, h.attribute, h.primary_cause, COUNT(*), COALESCE(SUM(s.n), 0)
FROM households h
LEFT JOIN (SELECT household_id, COUNT(*) AS n FROM members WHERE removed_on IS NULL
           GROUP BY household_id) s ON s.household_id = h.id
GROUP BY h.region_code, h.status, h.attribute, h.primary_cause
""", """
INSERT INTO county_stats (county_code, status, attribute, primary_cause, households, people)
SELECT substr(village_code, 1, 6), status, attribute, primary_cause, SUM(households),
       SUM(people)
FROM household_stats
GROUP BY substr(village_code, 1, 6), status, attribute, primary_cause
""", """
INSERT INTO village_poor_people (village_code, poor_people)
SELECT village_code, SUM(people) FROM household_stats
WHERE status IN ('poor', 'relapsed')
GROUP BY village_code HAVING SUM(people) > 0
""")


def upgrade() -> None:
    op.create_table('county_stats',
    sa.Column('county_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('attribute', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('primary_cause', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('households', sa.Integer(), nullable=False),
    sa.Column('people', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('county_code', 'status', 'attribute', 'primary_cause')
    )
    op.create_table('household_stats',
    sa.Column('village_code', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('attribute', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('primary_cause', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('households', sa.Integer(), nullable=False),
    sa.Column('people', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('village_code', 'status', 'attribute', 'primary_cause')
    )
    op.create_table('village_poor_people',
    sa.Column('village_code', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('poor_people', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('village_code')
    )
    for statement in _BACKFILL:
        op.execute(statement)


def downgrade() -> None:
    op.drop_table('village_poor_people')
    op.drop_table('household_stats')
    op.drop_table('county_stats')
