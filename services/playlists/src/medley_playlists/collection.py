"""A user's collection: the albums and artists they saved, newest first.

Saving names a live catalog album or artist the projection knows (a deleted or merged one
is refused; a saved one that is merged later moves to its survivor); saving again keeps the
first ``saved_at``; removing what is not saved is done already. "Is saved" answers for a
batch of ids at once (the gateway composes it into album and artist pages).
"""

# ruff: noqa: S608 -- table names come from a constant mapping; values are bind parameters.

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlmodel.ext.asyncio.session import AsyncSession

from medley_core.db import driver_connection
from medley_core.errors import Unprocessable
from medley_core.pagination import Page, SortKey, SqlQuery, fetch_page, sort_key

Kind = Literal["album", "artist"]
#: Ids one "is saved" question may name.
MAX_CONTAINS = 100

# What a saved entry shows of its album or artist.
DETAILS: dict[Kind, tuple[str, str]] = {
    "album": ("albums", "e.title, e.artist_names, e.release_year, e.cover_url, e.status"),
    "artist": ("artists", "e.name, e.sort_name, e.status"),
}


async def save(
    session: AsyncSession, user: uuid.UUID, kind: Kind, entity_id: uuid.UUID
) -> dict[str, Any]:
    conn = await driver_connection(session)
    table, _ = DETAILS[kind]
    found = await conn.fetchrow(f"SELECT status FROM {table} WHERE id = $1", entity_id)
    if found is None or found["status"] != "active":
        raise Unprocessable(
            f"no {kind} {entity_id} in the catalog", slug=f"unknown-{kind}", field="id"
        )
    record = await conn.fetchrow(
        """
        WITH saved AS (
            INSERT INTO collection_entries (user_id, kind, entity_id) VALUES ($1, $2, $3)
            ON CONFLICT (user_id, kind, entity_id) DO NOTHING RETURNING saved_at)
        SELECT saved_at FROM saved
        UNION ALL
        SELECT saved_at FROM collection_entries
        WHERE user_id = $1 AND kind = $2 AND entity_id = $3
        LIMIT 1
        """,
        user,
        kind,
        entity_id,
    )
    assert record is not None
    return {"id": entity_id, "saved_at": record["saved_at"]}


async def remove(session: AsyncSession, user: uuid.UUID, kind: Kind, entity_id: uuid.UUID) -> None:
    conn = await driver_connection(session)
    await conn.execute(
        "DELETE FROM collection_entries WHERE user_id = $1 AND kind = $2 AND entity_id = $3",
        user,
        kind,
        entity_id,
    )


def _newest_first(kind: Kind) -> SortKey:
    return sort_key(
        f"collection:{kind}",
        ("saved_at", datetime),
        tie_breaker=("entity_id", uuid.UUID),
        descending=True,
    )


async def listed(
    session: AsyncSession, user: uuid.UUID, kind: Kind, *, limit: int, cursor: str | None
) -> Page[dict[str, Any]]:
    """Saved albums or artists, newest first, a keyset page at a time."""
    conn = await driver_connection(session)
    table, columns = DETAILS[kind]
    query = SqlQuery()
    query.where(f"c.user_id = {query.param(user)}")
    query.where(f"c.kind = {query.param(kind)}")
    return await fetch_page(
        conn,
        columns=f"c.entity_id AS id, c.saved_at, {columns}",
        source=f"collection_entries c JOIN {table} e ON e.id = c.entity_id",
        query=query,
        sort=_newest_first(kind),
        cursor=cursor,
        limit=limit,
        alias="c",
    )


async def contains(
    session: AsyncSession, user: uuid.UUID, kind: Kind, entity_ids: Sequence[uuid.UUID]
) -> list[bool]:
    """Whether each of ``entity_ids`` is saved, in order."""
    if len(entity_ids) > MAX_CONTAINS:
        raise Unprocessable(
            f"ask about at most {MAX_CONTAINS} ids at once", field="ids", limit=MAX_CONTAINS
        )
    conn = await driver_connection(session)
    records = await conn.fetch(
        """
        SELECT c.entity_id IS NOT NULL AS saved
        FROM unnest($3::uuid[]) WITH ORDINALITY AS asked(id, n)
        LEFT JOIN collection_entries c
            ON c.user_id = $1 AND c.kind = $2 AND c.entity_id = asked.id
        ORDER BY asked.n
        """,
        user,
        kind,
        list(entity_ids),
    )
    return [r["saved"] for r in records]
