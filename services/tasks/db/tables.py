"""The tasks service's own tables."""

from __future__ import annotations

from sqlalchemy.orm import registry
from sqlmodel import SQLModel

from shared.infra import infra_tables


class TasksTable(SQLModel, registry=registry()):
    pass


metadata = TasksTable.metadata
infra = infra_tables(metadata)
