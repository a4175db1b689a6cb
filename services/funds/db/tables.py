"""The funds service's own tables."""

from __future__ import annotations

from sqlalchemy.orm import registry
from sqlmodel import SQLModel

from shared.infra import infra_tables


class FundsTable(SQLModel, registry=registry()):
    pass


metadata = FundsTable.metadata
infra = infra_tables(metadata)
