"""Alembic, run programmatically per service against that service's own database."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command, context
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine


def _config(migrations: Path, connection: sa.Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations))
    cfg.attributes["connection"] = connection
    return cfg


async def upgrade(engine: AsyncEngine, migrations: Path, revision: str = "head") -> None:
    def run(connection: sa.Connection) -> None:
        command.upgrade(_config(migrations, connection), revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)


async def current(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        try:
            return await conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
        except sa.exc.DBAPIError:
            return None


def run_env(metadata: sa.MetaData) -> None:
    """Body of every service's migrations/env.py: online only, on a passed-in connection."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through `fupin migrate`")
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def autogenerate(migrations: Path, metadata_url: str, message: str) -> None:
    """Developer helper: write a new revision by diffing the models against `metadata_url`."""
    engine = sa.create_engine(metadata_url)
    with engine.begin() as conn:
        command.upgrade(_config(migrations, conn), "head")
        command.revision(_config(migrations, conn), message=message, autogenerate=True)
