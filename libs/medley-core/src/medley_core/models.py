"""Columns every service's SQLModel tables are made of, written once.

Each helper returns a SQLModel ``Field`` carrying its own SQLAlchemy ``Column`` (so a model
reads ``created_at: datetime | None = timestamp(nullable=False, now=True)``), with the DDL
the services' Alembic histories create: UUIDs as PostgreSQL ``uuid``, instants as
``timestamptz``, server-side defaults where the database fills a column itself.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Integer, Text, func, text
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlmodel import Field

from medley_core.ids import new_id


def uuid_pk() -> Any:
    """A UUID primary key, a new time-ordered one (:func:`~medley_core.ids.new_id`) by default."""
    return Field(default_factory=new_id, sa_column=Column(PG_UUID(as_uuid=True), primary_key=True))


def uuid_fk(
    references: str,
    *,
    ondelete: str | None = None,
    nullable: bool = False,
    primary_key: bool = False,
    index: bool | None = None,
) -> Column[uuid.UUID]:
    """A UUID column referencing ``references`` (``schema.table.column``), for a model's
    ``Field(sa_column=...)``; ``ondelete`` is what the database does when the row goes."""
    return Column(
        PG_UUID(as_uuid=True),
        ForeignKey(references, ondelete=ondelete),
        nullable=nullable,
        primary_key=primary_key,
        index=index,
    )


def timestamp(*, nullable: bool = True, now: bool = False) -> Any:
    """A ``timestamptz``; ``now``: the database fills it with the insert's time."""
    return Field(
        default=None,
        sa_column=Column(
            DateTime(timezone=True),
            nullable=nullable,
            server_default=func.now() if now else None,
        ),
    )


def text_column(*, nullable: bool = False, default: str | None = None) -> Any:
    """A ``text``; ``default`` (a fixed word, never input) on both sides."""
    return Field(
        default=default,
        sa_column=Column(
            Text,
            nullable=nullable,
            server_default=text(repr(default)) if default is not None else None,
        ),
    )


def counter(*, big: bool = False) -> Any:
    """A count that starts at 0 (``bigint`` when ``big``)."""
    return Field(
        default=0,
        sa_column=Column(BigInteger if big else Integer, nullable=False, server_default=text("0")),
    )
