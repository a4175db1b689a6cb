"""Tables every service keeps in its own database: outbox, inbox, dead letters, audit log
and idempotency keys. Defined per service metadata so no database holds another's tables."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from shared.db import BigId, UtcDateTime


@dataclass(frozen=True)
class InfraTables:
    outbox: sa.Table
    inbox: sa.Table
    dead_letters: sa.Table
    audit: sa.Table
    idempotency: sa.Table


def infra_tables(metadata: sa.MetaData) -> InfraTables:
    ts = UtcDateTime()
    outbox = sa.Table(
        "outbox", metadata,
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("type", sa.String(200), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("published_at", ts, nullable=True),
        sa.Index("ix_outbox_unpublished", "id", postgresql_where=sa.text("published_at IS NULL"),
                 sqlite_where=sa.text("published_at IS NULL")),
    )
    inbox = sa.Table(
        "inbox", metadata,
        sa.Column("consumer_group", sa.String(100), primary_key=True),
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("processed_at", ts, nullable=False),
    )
    dead_letters = sa.Table(
        "dead_letters", metadata,
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("consumer_group", sa.String(100), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("partition", sa.Integer, nullable=False),
        sa.Column("offset", sa.BigInteger, nullable=False),
        sa.Column("event_id", sa.String(36), nullable=True),
        sa.Column("event_type", sa.String(200), nullable=True),
        sa.Column("key", sa.String(200), nullable=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("failed_at", ts, nullable=False),
        sa.Column("redriven_at", ts, nullable=True),
    )
    audit = sa.Table(
        "audit_log", metadata,
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("at", ts, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("resource_type", sa.String(50), nullable=False),
        sa.Column("resource_id", sa.String(100), nullable=False),
        sa.Column("region_code", sa.String(12), nullable=True),
        sa.Column("before", sa.JSON, nullable=True),
        sa.Column("after", sa.JSON, nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Index("ix_audit_resource", "resource_type", "resource_id"),
        sa.Index("ix_audit_at", "at"),
    )
    idempotency = sa.Table(
        "idempotency_keys", metadata,
        sa.Column("actor", sa.String(200), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("body_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("response_body", sa.LargeBinary, nullable=False),
        sa.Column("response_headers", sa.JSON, nullable=False),
        sa.Column("created_at", ts, nullable=False),
    )
    return InfraTables(outbox, inbox, dead_letters, audit, idempotency)
