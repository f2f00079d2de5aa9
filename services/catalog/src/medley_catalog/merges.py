"""Merging duplicates: a track, album or artist folded into the one that survives.

The survivor gains the merged entity's external ids, credits, genres, images and
descriptions (and, for a track, its plays; for an album, its tracks; for an artist, every
credit naming it). The merged id becomes a redirect: every read path answers with the
survivor. Redirects are kept one hop deep: merging B into C re-points every id that
redirected to B.

Refused with 409: merging an entity into itself, into an entity that redirects back to it
(a loop), or an id that was already merged. Unknown or deleted ids: 404.
"""

# ruff: noqa: S608 -- SQL here is assembled from fixed fragments (table and column names
# from constant mappings); every value travels as a bind parameter.

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_catalog import artists, events, genres
from medley_catalog.normalize import normalize_text
from medley_catalog.queries import TABLES, EntityType, as_uuid
from medley_core.db import driver_connection
from medley_core.errors import Conflict, NotFound


@dataclass(frozen=True)
class MergeResult:
    entity_type: EntityType
    from_id: uuid.UUID
    into_id: uuid.UUID
    merged_at: datetime


async def _lock(
    conn: asyncpg.Connection[Any], table: str, ids: list[uuid.UUID]
) -> dict[uuid.UUID, Any]:
    records = await conn.fetch(
        f"SELECT id, deleted_at FROM {table} WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE",
        ids,
    )
    return {as_uuid(r["id"]): r["deleted_at"] for r in records}


async def _move_common(
    conn: asyncpg.Connection[Any], entity_type: EntityType, from_id: uuid.UUID, into_id: uuid.UUID
) -> None:
    """External ids, genres, images and descriptions of ``from_id`` go to ``into_id``."""
    await conn.execute(
        "UPDATE external_ids SET entity_id = $3 WHERE entity_type = $1 AND entity_id = $2",
        entity_type,
        from_id,
        into_id,
    )
    link, key = genres.LINKS[entity_type]
    await conn.execute(
        f"INSERT INTO {link} ({key}, genre_id) SELECT $2, genre_id FROM {link} "
        f"WHERE {key} = $1 ON CONFLICT DO NOTHING",
        from_id,
        into_id,
    )
    await conn.execute(
        """
        UPDATE images i SET entity_id = $3 WHERE i.entity_type = $1 AND i.entity_id = $2
          AND NOT EXISTS (SELECT 1 FROM images j
                          WHERE j.entity_type = $1 AND j.entity_id = $3 AND j.url = i.url)
        """,
        entity_type,
        from_id,
        into_id,
    )
    await conn.execute(
        """
        UPDATE descriptions d SET entity_id = $3 WHERE d.entity_type = $1 AND d.entity_id = $2
          AND NOT EXISTS (SELECT 1 FROM descriptions e
                          WHERE e.entity_type = $1 AND e.entity_id = $3
                            AND e.source = d.source AND e.language = d.language)
        """,
        entity_type,
        from_id,
        into_id,
    )


async def _append_credits(
    conn: asyncpg.Connection[Any],
    entity_type: EntityType,
    from_id: uuid.UUID,
    into_id: uuid.UUID,
) -> None:
    """Credits of ``from_id`` naming artists ``into_id`` does not credit are appended."""
    table, key = artists.CREDIT_TABLES[entity_type]
    extra = await conn.fetch(
        f"""
        SELECT f.artist_id, f.credited_name FROM {table} f
        WHERE f.{key} = $1
          AND NOT EXISTS (SELECT 1 FROM {table} i WHERE i.{key} = $2 AND i.artist_id = f.artist_id)
        ORDER BY f.position
        """,
        from_id,
        into_id,
    )
    if not extra:
        return
    current = await conn.fetch(
        f"SELECT position, credited_name, join_phrase FROM {table} "
        f"WHERE {key} = $1 ORDER BY position",
        into_id,
    )
    start = (current[-1]["position"] + 1) if current else 0
    if current and not current[-1]["join_phrase"]:
        await conn.execute(
            f"UPDATE {table} SET join_phrase = ' & ' WHERE {key} = $1 AND position = $2",
            into_id,
            current[-1]["position"],
        )
    await conn.executemany(
        f"INSERT INTO {table} ({key}, position, artist_id, credited_name, join_phrase) "
        "VALUES ($1, $2, $3, $4, $5)",
        [
            (
                into_id,
                start + i,
                r["artist_id"],
                r["credited_name"],
                "" if i == len(extra) - 1 else " & ",
            )
            for i, r in enumerate(extra)
        ],
    )
    printed = "".join(
        r["credited_name"] + r["join_phrase"]
        for r in await conn.fetch(
            f"SELECT credited_name, join_phrase FROM {table} WHERE {key} = $1 ORDER BY position",
            into_id,
        )
    ).strip()
    await conn.execute(
        f"UPDATE {TABLES[entity_type]} SET artist_names = $2, artist_names_search = $3 "
        "WHERE id = $1",
        into_id,
        printed,
        normalize_text(printed),
    )


async def _survivor(
    conn: asyncpg.Connection[Any], entity_type: EntityType, from_id: uuid.UUID, into_id: uuid.UUID
) -> uuid.UUID:
    """The entity ``from_id`` will fold into (where ``into_id`` leads now), both locked;
    409 for itself, a loop or an id already merged, 404 for unknown or deleted ids."""
    if from_id == into_id:
        raise Conflict(f"cannot merge {entity_type} {from_id} into itself")
    redirects = {
        as_uuid(r["from_id"]): as_uuid(r["into_id"])
        for r in await conn.fetch(
            "SELECT from_id, into_id FROM redirects "
            "WHERE entity_type = $1 AND from_id = ANY($2::uuid[])",
            entity_type,
            [from_id, into_id],
        )
    }
    if from_id in redirects:
        raise Conflict(
            f"{entity_type} {from_id} was already merged into {redirects[from_id]}",
            merged_into=str(redirects[from_id]),
        )
    target = redirects.get(into_id, into_id)
    if target == from_id:
        raise Conflict(
            f"{entity_type} {into_id} redirects to {from_id}: merging would make a loop",
        )
    states = await _lock(conn, TABLES[entity_type], [from_id, target])
    if from_id not in states or states[from_id] is not None:
        raise NotFound(f"no {entity_type} {from_id}")
    if target not in states or states[target] is not None:
        raise NotFound(f"no {entity_type} {into_id}")
    return target


@dataclass
class _Touched:
    """Other entities a merge changed (their events follow the merge's)."""

    tracks: list[uuid.UUID] = field(default_factory=list)
    albums: list[uuid.UUID] = field(default_factory=list)


async def _merge_track(
    conn: asyncpg.Connection[Any], from_id: uuid.UUID, target: uuid.UUID
) -> _Touched:
    """Credits appended, plays summed, what the survivor lacks (duration, album) taken."""
    await _append_credits(conn, "track", from_id, target)
    await conn.execute(
        """
        UPDATE tracks t SET play_count = t.play_count + f.play_count,
            duration_ms = COALESCE(t.duration_ms, f.duration_ms),
            album_id = COALESCE(t.album_id, f.album_id),
            album_title_search = CASE WHEN t.album_id IS NULL THEN f.album_title_search
                                      ELSE t.album_title_search END
        FROM tracks f WHERE t.id = $2 AND f.id = $1
        """,
        from_id,
        target,
    )
    await conn.execute("UPDATE tracks SET play_count = 0 WHERE id = $1", from_id)
    return _Touched()


async def _merge_album(
    conn: asyncpg.Connection[Any], from_id: uuid.UUID, target: uuid.UUID
) -> _Touched:
    """Credits appended, tracks moved, what the survivor lacks (date, year, cover…) taken."""
    await _append_credits(conn, "album", from_id, target)
    moved = await conn.fetch(
        """
        UPDATE tracks t SET album_id = $2, album_title_search = a.title_search,
            updated_at = now()
        FROM albums a WHERE a.id = $2 AND t.album_id = $1
        RETURNING t.id, t.deleted_at
        """,
        from_id,
        target,
    )
    await conn.execute(
        """
        UPDATE albums t SET
            release_date = CASE
                WHEN t.release_date IS NULL AND f.release_date IS NOT NULL
                     AND (t.release_year IS NULL
                          OR t.release_year = EXTRACT(YEAR FROM f.release_date)::int)
                THEN f.release_date ELSE t.release_date END,
            release_year = COALESCE(t.release_year, f.release_year),
            total_tracks = COALESCE(t.total_tracks, f.total_tracks),
            cover_url = COALESCE(t.cover_url, f.cover_url)
        FROM albums f WHERE t.id = $2 AND f.id = $1
        """,
        from_id,
        target,
    )
    return _Touched(tracks=[as_uuid(r["id"]) for r in moved if r["deleted_at"] is None])


async def _merge_artist(
    conn: asyncpg.Connection[Any], from_id: uuid.UUID, target: uuid.UUID
) -> _Touched:
    """Every credit naming the merged artist names the survivor (tracks, then albums)."""
    touched = _Touched()
    for credits, key, table_name, ids in (
        ("track_credits", "track_id", "tracks", touched.tracks),
        ("album_credits", "album_id", "albums", touched.albums),
    ):
        rows = await conn.fetch(
            f"UPDATE {credits} SET artist_id = $2 WHERE artist_id = $1 RETURNING {key}",
            from_id,
            target,
        )
        await conn.execute(
            f"UPDATE {table_name} SET primary_artist_id = $2, updated_at = now() "
            "WHERE primary_artist_id = $1",
            from_id,
            target,
        )
        live = await conn.fetch(
            f"SELECT id FROM {table_name} WHERE id = ANY($1::uuid[]) AND deleted_at IS NULL "
            "ORDER BY id",
            list({as_uuid(r[key]) for r in rows}),
        )
        ids.extend(as_uuid(r["id"]) for r in live)
    return touched


_MERGE_ASPECTS = {"track": _merge_track, "album": _merge_album, "artist": _merge_artist}


async def _redirect(
    conn: asyncpg.Connection[Any], entity_type: EntityType, from_id: uuid.UUID, target: uuid.UUID
) -> datetime:
    """``from_id`` deleted and redirected to the survivor (and whatever redirected to it,
    too: one hop). Returns when."""
    table = TABLES[entity_type]
    merged_at: datetime = await conn.fetchval(
        f"UPDATE {table} SET deleted_at = now(), updated_at = now() "
        "WHERE id = $1 RETURNING deleted_at",
        from_id,
    )
    await conn.execute(f"UPDATE {table} SET updated_at = now() WHERE id = $1", target)
    await conn.execute(
        "UPDATE redirects SET into_id = $3 WHERE entity_type = $1 AND into_id = $2",
        entity_type,
        from_id,
        target,
    )
    await conn.execute(
        "INSERT INTO redirects (entity_type, from_id, into_id) VALUES ($1, $2, $3)",
        entity_type,
        from_id,
        target,
    )
    return merged_at


async def merge(
    session: AsyncSession, entity_type: EntityType, from_id: uuid.UUID, into_id: uuid.UUID
) -> MergeResult:
    """Fold ``from_id`` into ``into_id`` (see the module docstring for the rules)."""
    conn = await driver_connection(session)
    target = await _survivor(conn, entity_type, from_id, into_id)
    touched = await _MERGE_ASPECTS[entity_type](conn, from_id, target)
    await _move_common(conn, entity_type, from_id, target)
    merged_at = await _redirect(conn, entity_type, from_id, target)
    events.collect_merged(session, entity_type, from_id, target, merged_at)
    await events.collect_changed(session, entity_type, [target])
    await events.collect_changed(session, "track", [t for t in touched.tracks if t != target])
    await events.collect_changed(session, "album", [a for a in touched.albums if a != target])
    return MergeResult(entity_type, from_id, target, merged_at)
