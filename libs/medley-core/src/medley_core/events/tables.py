"""The three tables every service keeps for its events: outbox, inbox, dead letters.

They are plain SQLAlchemy Core tables added to the service's own ``MetaData`` (so they land
in its schema and its Alembic history creates them like any other table)::

    # medley_users/models.py
    class UsersModel(SQLModel):
        metadata = schema_metadata("users")

    EVENT_TABLES = event_tables(UsersModel.metadata)

The runtime (relay, consumers, dead-letter admin) reaches the same tables through
:func:`tables_for`, from the schema name in the service's settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from medley_core.db import schema_metadata

OUTBOX = "outbox"
INBOX = "inbox"
DEAD_LETTERS = "dead_letters"
#: The names of the three, as a service's list of its own tables includes them.
EVENT_TABLE_NAMES = frozenset({OUTBOX, INBOX, DEAD_LETTERS})


@dataclass(frozen=True)
class EventTables:
    """The event tables of one schema."""

    outbox: Table
    inbox: Table
    dead_letters: Table


def event_tables(metadata: MetaData) -> EventTables:
    """Add (once) the outbox, inbox and dead-letter tables to ``metadata``'s schema."""
    key = f"{metadata.schema}.{OUTBOX}" if metadata.schema else OUTBOX
    if key in metadata.tables:
        # Called twice on the same metadata (models imported twice): same tables.
        prefix = f"{metadata.schema}." if metadata.schema else ""
        return EventTables(
            outbox=metadata.tables[prefix + OUTBOX],
            inbox=metadata.tables[prefix + INBOX],
            dead_letters=metadata.tables[prefix + DEAD_LETTERS],
        )

    outbox = Table(
        OUTBOX,
        metadata,
        # The event id: UUIDv7, so ORDER BY id is the order events were written in.
        Column("id", Uuid, primary_key=True),
        Column("type", Text, nullable=False),
        Column("version", Integer, nullable=False),
        Column("subject", Text, nullable=False),
        Column("data", JSONB, nullable=False),
        # X-Request-ID / traceparent of the request that wrote the event.
        Column("headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        Column("occurred_at", DateTime(timezone=True), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True), nullable=True),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("last_error", Text, nullable=True),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        CheckConstraint("version >= 1", name="version_positive"),
    )
    # The relay only ever looks at what is still to publish: keep that index tiny.
    Index(
        "ix_outbox_unpublished",
        outbox.c.id,
        postgresql_where=outbox.c.published_at.is_(None),
    )
    Index(
        "ix_outbox_published_at",
        outbox.c.published_at,
        postgresql_where=outbox.c.published_at.is_not(None),
    )

    inbox = Table(
        INBOX,
        metadata,
        Column("consumer", Text, nullable=False),
        Column("event_id", Uuid, nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("consumer", "event_id"),
    )

    dead_letters = Table(
        DEAD_LETTERS,
        metadata,
        Column("id", Uuid, primary_key=True),
        Column("consumer", Text, nullable=False),
        Column("stream", Text, nullable=False),
        Column("stream_seq", BigInteger, nullable=False),
        Column("subject", Text, nullable=False),
        # Null when the message was not a valid envelope at all.
        Column("event_id", Uuid, nullable=True),
        Column("envelope", JSONB, nullable=False),
        Column("error", Text, nullable=False),
        Column("deliveries", Integer, nullable=False),
        Column("failed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("replayed_at", DateTime(timezone=True), nullable=True),
        Column("replay_error", Text, nullable=True),
        CheckConstraint("deliveries >= 0", name="deliveries_not_negative"),
    )
    # Finding a message's dead letter from the stream sequence a NATS advisory names.
    # Not unique: a stream recreated from scratch counts its sequences from 1 again.
    Index("ix_dead_letters_stream_seq", dead_letters.c.stream, dead_letters.c.stream_seq)
    Index(
        "ix_dead_letters_pending",
        dead_letters.c.id,
        postgresql_where=dead_letters.c.replayed_at.is_(None),
    )
    return EventTables(outbox=outbox, inbox=inbox, dead_letters=dead_letters)


@cache
def tables_for(schema: str | None) -> EventTables:
    """The event tables of ``schema`` as the runtime addresses them.

    ``None`` gives unqualified names, resolved through the connection's ``search_path``
    (every service engine puts its own schema first).
    """
    return event_tables(schema_metadata(schema) if schema else MetaData())
