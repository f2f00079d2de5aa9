"""Reading entities: by id (following merge redirects), in batches, with their details.

Every read path goes through :func:`resolve_ids`, so an id that was merged away keeps
answering with the survivor (``redirected_from`` says so). Details (credits, genres,
external ids, images, descriptions) are fetched set-based: one statement per aspect for a
whole batch, never one per entity.
"""

# ruff: noqa: S608 -- SQL here is assembled from fixed fragments (table and column names
# from constant mappings); every value travels as a bind parameter.

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import asyncpg
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_catalog.normalize import normalize_external_id
from medley_core.db import driver_connection
from medley_core.errors import NotFound, Unprocessable

# Re-exported: the domain modules still import it from here.
from medley_core.params import as_uuid as as_uuid

EntityType = Literal["track", "album", "artist"]
TABLES: dict[EntityType, str] = {"track": "tracks", "album": "albums", "artist": "artists"}

Row = dict[str, Any]

TRACK_COLUMNS = """
    t.id, t.title, t.artist_names, t.primary_artist_id, t.album_id, t.disc_number,
    t.track_number, t.duration_ms, t.explicit, t.play_count, t.source, t.created_at,
    t.updated_at
"""
ALBUM_COLUMNS = """
    al.id, al.title, al.album_type, al.release_date, al.release_year, al.total_tracks,
    al.cover_url, al.artist_names, al.primary_artist_id, al.source, al.created_at,
    al.updated_at
"""
ARTIST_COLUMNS = "ar.id, ar.name, ar.sort_name, ar.source, ar.created_at, ar.updated_at"


def _clean(record: asyncpg.Record) -> Row:
    # asyncpg's UUIDs subclass uuid.UUID (equal, same hash, JSON-encodable): kept as they are.
    return dict(record)


def rows(records: Iterable[asyncpg.Record]) -> list[Row]:
    return [dict(r) for r in records]


@dataclass(frozen=True)
class Resolved:
    """Where requested ids lead: ``final[requested] = id to read`` (itself unless merged)."""

    final: dict[uuid.UUID, uuid.UUID]

    def redirects(self) -> dict[uuid.UUID, uuid.UUID]:
        return {k: v for k, v in self.final.items() if k != v}


async def resolve_ids(
    conn: asyncpg.Connection[Any], entity_type: EntityType, ids: Sequence[uuid.UUID]
) -> Resolved:
    """Each requested id → the live entity it designates now (merges followed); ids that
    designate nothing live (unknown, deleted) are absent."""
    table = TABLES[entity_type]
    wanted = list(dict.fromkeys(ids))
    records = await conn.fetch(
        f"""
        SELECT q.id AS requested, COALESCE(r.into_id, q.id) AS final
        FROM unnest($1::uuid[]) AS q(id)
        LEFT JOIN redirects r ON r.entity_type = $2 AND r.from_id = q.id
        JOIN {table} e ON e.id = COALESCE(r.into_id, q.id) AND e.deleted_at IS NULL
        """,
        wanted,
        entity_type,
    )
    return Resolved({as_uuid(r["requested"]): as_uuid(r["final"]) for r in records})


async def _grouped(
    conn: asyncpg.Connection[Any], sql: str, ids: Sequence[uuid.UUID], *args: Any
) -> dict[uuid.UUID, list[Row]]:
    grouped: dict[uuid.UUID, list[Row]] = defaultdict(list)
    for record in await conn.fetch(sql, list(ids), *args):
        row = _clean(record)
        grouped[row.pop("owner")].append(row)
    return grouped


async def credits_of(
    conn: asyncpg.Connection[Any], entity_type: Literal["track", "album"], ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Row]]:
    table, key = (
        ("track_credits", "track_id") if entity_type == "track" else ("album_credits", "album_id")
    )
    return await _grouped(
        conn,
        f"""
        SELECT c.{key} AS owner, c.position, c.artist_id, c.credited_name AS name, c.join_phrase
        FROM {table} c WHERE c.{key} = ANY($1::uuid[])
        ORDER BY c.{key}, c.position
        """,
        ids,
    )


async def external_ids_of(
    conn: asyncpg.Connection[Any], entity_type: EntityType, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Row]]:
    return await _grouped(
        conn,
        """
        SELECT entity_id AS owner, namespace, value FROM external_ids
        WHERE entity_type = $2 AND entity_id = ANY($1::uuid[])
        ORDER BY entity_id, namespace, value
        """,
        ids,
        entity_type,
    )


async def genres_of(
    conn: asyncpg.Connection[Any], entity_type: EntityType, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Row]]:
    table, key = {
        "track": ("track_genres", "track_id"),
        "album": ("album_genres", "album_id"),
        "artist": ("artist_genres", "artist_id"),
    }[entity_type]
    return await _grouped(
        conn,
        f"""
        SELECT l.{key} AS owner, g.id, g.name, g.slug
        FROM {table} l JOIN genres g ON g.id = l.genre_id
        WHERE l.{key} = ANY($1::uuid[]) ORDER BY l.{key}, g.slug
        """,
        ids,
    )


async def images_of(
    conn: asyncpg.Connection[Any], entity_type: EntityType, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Row]]:
    return await _grouped(
        conn,
        """
        SELECT entity_id AS owner, id, url, kind, width, height, source
        FROM images WHERE entity_type = $2 AND entity_id = ANY($1::uuid[])
        ORDER BY entity_id, created_at, id
        """,
        ids,
        entity_type,
    )


async def descriptions_of(
    conn: asyncpg.Connection[Any], entity_type: EntityType, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Row]]:
    return await _grouped(
        conn,
        """
        SELECT entity_id AS owner, id, text, source, language, updated_at
        FROM descriptions WHERE entity_type = $2 AND entity_id = ANY($1::uuid[])
        ORDER BY entity_id, language, source
        """,
        ids,
        entity_type,
    )


async def artist_counts(
    conn: asyncpg.Connection[Any], ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, int]]:
    """(track count, album count) per artist: live tracks and albums crediting them."""
    records = await conn.fetch(
        """
        SELECT a.id,
            (SELECT count(DISTINCT c.track_id) FROM track_credits c
              JOIN tracks t ON t.id = c.track_id AND t.deleted_at IS NULL
              WHERE c.artist_id = a.id) AS track_count,
            (SELECT count(DISTINCT c.album_id) FROM album_credits c
              JOIN albums al ON al.id = c.album_id AND al.deleted_at IS NULL
              WHERE c.artist_id = a.id) AS album_count
        FROM unnest($1::uuid[]) AS a(id)
        """,
        list(ids),
    )
    return {as_uuid(r["id"]): (r["track_count"], r["album_count"]) for r in records}


async def _details(
    conn: asyncpg.Connection[Any],
    entity_type: EntityType,
    items: dict[uuid.UUID, Row],
    *,
    full: bool,
) -> None:
    ids = list(items)
    if not ids:
        return
    aspects: list[tuple[str, dict[uuid.UUID, list[Row]]]] = []
    if entity_type in ("track", "album"):
        kind: Literal["track", "album"] = "track" if entity_type == "track" else "album"
        aspects.append(("credits", await credits_of(conn, kind, ids)))
    aspects.append(("external_ids", await external_ids_of(conn, entity_type, ids)))
    aspects.append(("genres", await genres_of(conn, entity_type, ids)))
    if full:
        aspects.append(("images", await images_of(conn, entity_type, ids)))
        aspects.append(("descriptions", await descriptions_of(conn, entity_type, ids)))
    for name, grouped in aspects:
        for entity_id, item in items.items():
            item[name] = grouped.get(entity_id, [])


async def fetch_tracks(
    conn: asyncpg.Connection[Any], ids: Sequence[uuid.UUID], *, full: bool = True
) -> dict[uuid.UUID, Row]:
    """Live tracks by id (no redirects followed here), with their details and album."""
    records = await conn.fetch(
        f"""
        SELECT {TRACK_COLUMNS}, al.title AS album_title, al.album_type,
            al.release_year, al.cover_url, al.artist_names AS album_artist_names
        FROM tracks t LEFT JOIN albums al ON al.id = t.album_id AND al.deleted_at IS NULL
        WHERE t.id = ANY($1::uuid[]) AND t.deleted_at IS NULL
        """,
        list(ids),
    )
    items: dict[uuid.UUID, Row] = {}
    for row in rows(records):
        album = {
            "id": row["album_id"],
            "title": row.pop("album_title"),
            "album_type": row.pop("album_type"),
            "release_year": row.pop("release_year"),
            "cover_url": row.pop("cover_url"),
            "artist_names": row.pop("album_artist_names"),
        }
        row["album"] = album if album["title"] is not None else None
        items[row["id"]] = row
    await _details(conn, "track", items, full=full)
    return items


async def fetch_albums(
    conn: asyncpg.Connection[Any],
    ids: Sequence[uuid.UUID],
    *,
    full: bool = True,
    with_tracks: bool = False,
) -> dict[uuid.UUID, Row]:
    records = await conn.fetch(
        f"""
        SELECT {ALBUM_COLUMNS},
            (SELECT count(*) FROM tracks t WHERE t.album_id = al.id AND t.deleted_at IS NULL)
                AS track_count
        FROM albums al WHERE al.id = ANY($1::uuid[]) AND al.deleted_at IS NULL
        """,
        list(ids),
    )
    items = {row["id"]: row for row in rows(records)}
    await _details(conn, "album", items, full=full)
    if with_tracks and items:
        track_rows = await conn.fetch(
            """
            SELECT t.album_id AS owner, t.id, t.title, t.artist_names, t.disc_number,
                t.track_number, t.duration_ms, t.explicit, t.play_count
            FROM tracks t WHERE t.album_id = ANY($1::uuid[]) AND t.deleted_at IS NULL
            ORDER BY t.album_id, t.disc_number NULLS LAST, t.track_number NULLS LAST,
                t.title_norm, t.id
            """,
            list(items),
        )
        for album in items.values():
            album["tracks"] = []
        for row in rows(track_rows):
            items[row.pop("owner")]["tracks"].append(row)
    return items


async def fetch_artists(
    conn: asyncpg.Connection[Any], ids: Sequence[uuid.UUID], *, full: bool = True
) -> dict[uuid.UUID, Row]:
    records = await conn.fetch(
        f"SELECT {ARTIST_COLUMNS} FROM artists ar "
        "WHERE ar.id = ANY($1::uuid[]) AND ar.deleted_at IS NULL",
        list(ids),
    )
    items = {row["id"]: row for row in rows(records)}
    await _details(conn, "artist", items, full=full)
    counts = await artist_counts(conn, list(items))
    for artist_id, item in items.items():
        item["track_count"], item["album_count"] = counts.get(artist_id, (0, 0))
    return items


async def fetch(
    conn: asyncpg.Connection[Any],
    entity_type: EntityType,
    ids: Sequence[uuid.UUID],
    *,
    full: bool = True,
    with_tracks: bool = False,
) -> dict[uuid.UUID, Row]:
    if entity_type == "track":
        return await fetch_tracks(conn, ids, full=full)
    if entity_type == "album":
        return await fetch_albums(conn, ids, full=full, with_tracks=with_tracks)
    return await fetch_artists(conn, ids, full=full)


@dataclass(frozen=True)
class BatchResult:
    """A batch read: the entities found (in request order), merged ids → survivors, and the
    ids that designate nothing live."""

    items: list[Row]
    redirects: dict[uuid.UUID, uuid.UUID]
    missing: list[uuid.UUID]


async def get_many(
    conn: asyncpg.Connection[Any],
    entity_type: EntityType,
    ids: Sequence[uuid.UUID],
    *,
    full: bool = False,
) -> BatchResult:
    """Batch get, following redirects: each survivor appears once, in request order."""
    resolved = await resolve_ids(conn, entity_type, ids)
    found = await fetch(conn, entity_type, list(dict.fromkeys(resolved.final.values())), full=full)
    items: list[Row] = []
    seen: set[uuid.UUID] = set()
    missing: list[uuid.UUID] = []
    for requested in dict.fromkeys(ids):
        final = resolved.final.get(requested)
        if final is None or final not in found:
            missing.append(requested)
            continue
        if final not in seen:
            seen.add(final)
            items.append(found[final])
    return BatchResult(items, resolved.redirects(), missing)


async def get_one(
    conn: asyncpg.Connection[Any], entity_type: EntityType, entity_id: uuid.UUID
) -> Row | None:
    """One entity with every detail; a merged id answers with its survivor, marked with
    ``redirected_from``. None when the id designates nothing live."""
    resolved = await resolve_ids(conn, entity_type, [entity_id])
    final = resolved.final.get(entity_id)
    if final is None:
        return None
    found = await fetch(conn, entity_type, [final], full=True, with_tracks=True)
    item = found.get(final)
    if item is None:
        return None
    if final != entity_id:
        item["redirected_from"] = entity_id
    return item


async def lookup_external(
    conn: asyncpg.Connection[Any], entity_type: EntityType, namespace: str, value: str
) -> Row | None:
    """The live entity carrying an external id (merges followed)."""
    entity_id = await conn.fetchval(
        "SELECT entity_id FROM external_ids "
        "WHERE entity_type = $1 AND namespace = $2 AND value = $3",
        entity_type,
        namespace,
        value,
    )
    if entity_id is None:
        return None
    return await get_one(conn, entity_type, as_uuid(entity_id))


# --- what the API reads: each takes the session and reads over its driver connection ------


async def read_one(session: AsyncSession, entity_type: EntityType, entity_id: uuid.UUID) -> Row:
    """One entity with every detail (a merged id answers with its survivor); 404 when the
    id designates nothing live."""
    found = await get_one(await driver_connection(session), entity_type, entity_id)
    if found is None:
        raise NotFound(f"no {entity_type} {entity_id}")
    return found


async def read_batch(
    session: AsyncSession, entity_type: EntityType, ids: Sequence[uuid.UUID]
) -> BatchResult:
    """Up to a batch of entities by id, merges followed (see :func:`get_many`)."""
    return await get_many(await driver_connection(session), entity_type, ids)


async def read_by_external_id(
    session: AsyncSession, entity_type: EntityType, namespace: str, value: str
) -> Row:
    """The live entity carrying an external id, given as a client typed it (normalised
    here: a malformed one is a 422 naming ``value``); 404 when none carries it."""
    try:
        canonical = normalize_external_id(namespace, value)
    except ValueError as exc:
        raise Unprocessable(str(exc), field="value") from None
    conn = await driver_connection(session)
    found = await lookup_external(conn, entity_type, namespace, canonical)
    if found is None:
        raise NotFound(f"no {entity_type} with {namespace} {canonical}")
    return found
