"""What every hand-written write shares: the live entity it targets (locked), the checks
of the fields it is given, and marking the entity changed."""

# ruff: noqa: S608 -- table names come from a constant mapping; values are bind parameters.

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_catalog import events
from medley_catalog.queries import TABLES, EntityType, resolve_ids
from medley_core.db import driver_connection
from medley_core.errors import NotFound, Unprocessable

SMALLINT_MAX = 32767
INTEGER_MAX = 2_147_483_647


def not_blank(value: str | None, what: str) -> str:
    """``value`` stripped; 422 when it is blank or longer than 1000 characters."""
    if value is None or not value.strip():
        raise Unprocessable(f"{what} must not be blank", field=what)
    if len(value) > 1000:
        raise Unprocessable(f"{what} is at most 1000 characters", field=what)
    return value.strip()


def positive(value: int | None, what: str, upper: int = SMALLINT_MAX) -> int | None:
    """``value`` when it is None or in 1..upper; 422 otherwise."""
    if value is not None and not 0 < value <= upper:
        raise Unprocessable(f"{what} must be between 1 and {upper}", field=what)
    return value


async def require_live(
    conn: asyncpg.Connection[Any], entity_type: EntityType, entity_id: uuid.UUID
) -> uuid.UUID:
    """The live entity ``entity_id`` designates (merges followed), locked; 404 otherwise."""
    final = (await resolve_ids(conn, entity_type, [entity_id])).final.get(entity_id)
    if final is None:
        raise NotFound(f"no {entity_type} {entity_id}")
    await conn.execute(f"SELECT 1 FROM {TABLES[entity_type]} WHERE id = $1 FOR UPDATE", final)
    return final


async def touch(session: AsyncSession, entity_type: EntityType, entity_id: uuid.UUID) -> None:
    """Mark an entity changed after a write to one of its aspects: its ``updated_at``, and
    its ``updated`` event in the transaction's unit of work."""
    conn = await driver_connection(session)
    await conn.execute(
        f"UPDATE {TABLES[entity_type]} SET updated_at = now() WHERE id = $1", entity_id
    )
    await events.collect_changed(session, entity_type, [entity_id])
