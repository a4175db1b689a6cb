"""members: drop ix_members_id_hash, which ux_members_active_person makes redundant

Every look-up by blind index is of current members (`removed_on IS NULL`: the duplicate
checks of registration, member changes and imports, and the search by full ID number), which
the partial unique index serves. The plain index over every row only cost each inserted
member a btree insert: 15-25 % of the server's work per member in an import.

Revision ID: 8a3f6c1d2e70
Revises: 5e0b7d2c9a14
Create Date: 2026-11-23 17:05:00.000000
"""
from collections.abc import Sequence

from alembic import op

revision: str = '8a3f6c1d2e70'
down_revision: str | None = '5e0b7d2c9a14'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_members_id_hash", table_name="members")


def downgrade() -> None:
    op.create_index("ix_members_id_hash", "members", ["id_hash"])
