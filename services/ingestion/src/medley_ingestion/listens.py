"""Reading a user's listens, newest first, one statement per page.

Each listen carries its catalog track's names from the projection (or, until the catalog's
event comes, what resolution recorded), whether the track is still available (a deleted
track's plays stay, shown as unavailable), and the source's own metadata (what the
scrobbler sent, what the export said). Pages are keyset pages on (start time, id).
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_core.db import driver_connection
from medley_core.errors import NotFound, Unprocessable
from medley_ingestion.plays import delete_plays

COLUMNS = """
    p.id, p.listened_at, p.ms_played, p.source, p.client, p.import_job_id, p.inserted_at,
    p.track_id, t.title, t.artist_names, t.artist_id, t.album_title, t.album_id,
    t.duration_ms, t.deleted_at, t.merged_into,
    c.id AS connector_track_id, c.title AS source_title, c.artist AS source_artist,
    c.album AS source_album, c.duration_ms AS source_duration_ms, c.spotify_id, c.isrc,
    c.recording_mbid, c.recording_msid, c.extra
"""
FROM = """
FROM plays p
JOIN connector_tracks c ON c.id = p.connector_track_id
LEFT JOIN tracks t ON t.track_id = p.track_id
"""


@dataclass(frozen=True)
class ListenQuery:
    """``since`` inclusive, ``until`` exclusive; ``before`` continues a page."""

    since: datetime | None = None
    until: datetime | None = None
    track_id: uuid.UUID | None = None
    before: tuple[datetime, uuid.UUID] | None = None
    oldest_first: bool = False


def encode_cursor(listened_at: datetime, play_id: uuid.UUID) -> str:
    micros = int(listened_at.timestamp() * 1_000_000)
    return base64.urlsafe_b64encode(f"{micros}:{play_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        micros, play_id = raw.split(":", 1)
        return datetime.fromtimestamp(int(micros) / 1_000_000, tz=UTC), uuid.UUID(play_id)
    except (ValueError, UnicodeDecodeError):
        raise Unprocessable("cursor is not one this listing gave", field="cursor") from None


async def fetch(
    conn: asyncpg.Connection[Any], user_id: uuid.UUID, query: ListenQuery, limit: int
) -> list[asyncpg.Record]:
    clauses = ["p.user_id = $1"]
    args: list[Any] = [user_id]

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if query.since is not None:
        clauses.append(f"p.listened_at >= {arg(query.since)}")
    if query.until is not None:
        clauses.append(f"p.listened_at < {arg(query.until)}")
    if query.track_id is not None:
        clauses.append(f"p.track_id = {arg(query.track_id)}")
    order = "ASC" if query.oldest_first else "DESC"
    if query.before is not None:
        at, play_id = query.before
        op = ">" if query.oldest_first else "<"
        clauses.append(f"(p.listened_at, p.id) {op} ({arg(at)}, {arg(play_id)})")
    sql = (
        f"SELECT {COLUMNS} {FROM} WHERE {' AND '.join(clauses)} "
        f"ORDER BY p.listened_at {order}, p.id {order} LIMIT {arg(limit)}"
    )
    return list(await conn.fetch(sql, *args))


def describe(row: asyncpg.Record) -> dict[str, Any]:
    """A listen as Medley's API shows it."""
    return {
        "id": row["id"],
        "listened_at": row["listened_at"],
        "ms_played": row["ms_played"],
        "source": row["source"],
        "client": row["client"],
        "import_id": row["import_job_id"],
        "track": {
            "id": row["track_id"],
            "title": row["title"] or row["source_title"],
            "artist_names": row["artist_names"] or row["source_artist"],
            "album_title": row["album_title"] if row["title"] else row["source_album"],
            "album_id": row["album_id"],
            "duration_ms": row["duration_ms"],
            "available": row["deleted_at"] is None,
        },
        "source_track": {
            "title": row["source_title"],
            "artist": row["source_artist"],
            "album": row["source_album"],
        },
    }


async def page(
    session: AsyncSession,
    user_id: uuid.UUID,
    query: ListenQuery,
    *,
    limit: int,
) -> dict[str, Any]:
    conn = await driver_connection(session)
    rows = await fetch(conn, user_id, query, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows and more else None
    return {
        "items": [describe(r) for r in rows],
        "next_cursor": encode_cursor(last["listened_at"], last["id"]) if last else None,
    }


async def delete_listen(session: AsyncSession, user_id: uuid.UUID, play_id: uuid.UUID) -> None:
    conn = await driver_connection(session)
    if not await delete_plays(conn, user_id, [play_id]):
        raise NotFound("no such listen")


async def bounds(conn: asyncpg.Connection[Any], user_id: uuid.UUID) -> tuple[int, int, int]:
    """(listen count, oldest and latest listen time as Unix seconds; 0 when none)."""
    row = await conn.fetchrow(
        "SELECT coalesce(sum(plays), 0)::bigint AS n FROM user_track_totals WHERE user_id = $1",
        user_id,
    )
    oldest = await conn.fetchval(
        "SELECT listened_at FROM plays WHERE user_id = $1 ORDER BY listened_at LIMIT 1", user_id
    )
    latest = await conn.fetchval(
        "SELECT listened_at FROM plays WHERE user_id = $1 ORDER BY listened_at DESC LIMIT 1",
        user_id,
    )
    count = int(row["n"]) if row else 0
    return (
        count,
        int(oldest.timestamp()) if oldest else 0,
        int(latest.timestamp()) if latest else 0,
    )
