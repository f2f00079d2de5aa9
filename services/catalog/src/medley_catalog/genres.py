"""Genres: created on first use, matched on their slug ("Hip-Hop" and "hip hop" are one),
linked to tracks, albums and artists."""

# ruff: noqa: S608 -- link tables come from a constant mapping; values are bind parameters.

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_catalog.normalize import normalize_text
from medley_catalog.queries import EntityType, as_uuid
from medley_catalog.writes import not_blank, require_live, touch
from medley_core.db import driver_connection
from medley_core.errors import Unprocessable
from medley_core.ids import new_id

_SLUG = re.compile(r"[^a-z0-9]+")

LINKS: dict[EntityType, tuple[str, str]] = {
    "track": ("track_genres", "track_id"),
    "album": ("album_genres", "album_id"),
    "artist": ("artist_genres", "artist_id"),
}


def genre_slug(name: str) -> str:
    slug = _SLUG.sub("-", normalize_text(name)).strip("-")
    if not slug:
        raise Unprocessable(f"genre {name!r} has no letters or digits", field="genres")
    return slug


async def ensure_genres(conn: asyncpg.Connection[Any], names: Sequence[str]) -> list[uuid.UUID]:
    """Genre ids by name (matched on their slug), creating the missing ones."""
    wanted: dict[str, str] = {}
    for name in names:
        clean = not_blank(name, "genre")
        if len(clean) > 100:
            raise Unprocessable("a genre name is at most 100 characters", field="genres")
        wanted.setdefault(genre_slug(clean), clean)
    if not wanted:
        return []
    await conn.execute(
        """
        INSERT INTO genres (id, name, slug)
        SELECT g.id, g.name, g.slug
        FROM unnest($1::uuid[], $2::text[], $3::text[]) AS g(id, name, slug)
        ORDER BY g.slug
        ON CONFLICT (slug) DO NOTHING
        """,
        [new_id() for _ in wanted],
        list(wanted.values()),
        list(wanted),
    )
    found = await conn.fetch(
        "SELECT slug, id FROM genres WHERE slug = ANY($1::text[])", list(wanted)
    )
    ids = {r["slug"]: as_uuid(r["id"]) for r in found}
    return [ids[slug] for slug in wanted]


async def link(
    conn: asyncpg.Connection[Any],
    entity_type: EntityType,
    entity_id: uuid.UUID,
    names: Sequence[str],
    *,
    replace: bool,
) -> None:
    """Tag an entity with the genres named (created on first use); ``replace`` drops the
    others."""
    genre_ids = await ensure_genres(conn, names)
    table, key = LINKS[entity_type]
    if replace:
        await conn.execute(
            f"DELETE FROM {table} WHERE {key} = $1 AND NOT (genre_id = ANY($2::uuid[]))",
            entity_id,
            genre_ids,
        )
    await conn.execute(
        f"INSERT INTO {table} ({key}, genre_id) SELECT $1, g FROM unnest($2::uuid[]) AS g "
        "ON CONFLICT DO NOTHING",
        entity_id,
        genre_ids,
    )


# --- capabilities ----------------------------------------------------------------------------


async def set_genres(
    session: AsyncSession,
    entity_type: EntityType,
    entity_id: uuid.UUID,
    names: Sequence[str],
    *,
    replace: bool = True,
) -> uuid.UUID:
    """Tag a live entity (merges followed) with genres; ``replace`` drops the others.
    Returns the entity's id."""
    conn = await driver_connection(session)
    entity_id = await require_live(conn, entity_type, entity_id)
    await link(conn, entity_type, entity_id, names, replace=replace)
    await touch(session, entity_type, entity_id)
    return entity_id


async def create_genre(session: AsyncSession, name: str) -> dict[str, Any]:
    """The genre of that name (its slug), created when new: ``{id, name, slug}``."""
    conn = await driver_connection(session)
    (genre_id,) = await ensure_genres(conn, [name])
    row = await conn.fetchrow("SELECT id, name, slug FROM genres WHERE id = $1", genre_id)
    assert row is not None
    return {"id": genre_id, "name": row["name"], "slug": row["slug"]}
