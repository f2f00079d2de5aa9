"""Ingestion's copies of what other contexts own: catalog tracks and listeners' names.

Catalog tracks come from ``catalog.track.*`` events (a snapshot per change, applied when it
is not older than the row held; a provisional row written at resolution gives way to the
first real one). Listens and stats take names from here, never from one catalog call per
listen. A deleted track stays, so its plays are shown as unavailable.

Listeners' names come from ``users.user.registered`` (and from the gateway, which names the
user whose API token it resolved): ListenBrainz's routes address users by name.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from medley_contracts.catalog import TrackV1
from medley_core.db import driver_connection
from medley_core.errors import NotFound

UPSERT_TRACK = """
INSERT INTO tracks AS t (track_id, title, artist_names, artist_id, artist_name, credits,
                         album_id, album_title, duration_ms, provisional, updated_at)
VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, false, $10)
ON CONFLICT (track_id) DO UPDATE
SET title = excluded.title, artist_names = excluded.artist_names,
    artist_id = excluded.artist_id, artist_name = excluded.artist_name,
    credits = excluded.credits, album_id = excluded.album_id,
    album_title = excluded.album_title, duration_ms = excluded.duration_ms,
    provisional = false, updated_at = excluded.updated_at
WHERE t.provisional OR t.updated_at IS NULL OR t.updated_at <= excluded.updated_at
"""


async def apply_track(session: AsyncSession, track: TrackV1) -> None:
    conn = await driver_connection(session)
    first = track.credits[0] if track.credits else None
    await conn.execute(
        UPSERT_TRACK,
        track.track_id,
        track.title,
        track.artist_names,
        first.artist_id if first else None,
        first.name if first else track.artist_names,
        json.dumps([c.model_dump(mode="json") for c in track.credits]),
        track.album_id,
        track.album_title,
        track.duration_ms,
        track.updated_at,
    )


async def mark_deleted(session: AsyncSession, track_id: uuid.UUID, deleted_at: datetime) -> None:
    conn = await driver_connection(session)
    await conn.execute(
        "UPDATE tracks SET deleted_at = $2 WHERE track_id = $1 AND deleted_at IS NULL",
        track_id,
        deleted_at,
    )


async def remember_listener(session: AsyncSession, user_id: uuid.UUID, username: str) -> None:
    conn = await driver_connection(session)
    # A name is one user's: a later account under a freed name takes it over.
    await conn.execute(
        "DELETE FROM listeners WHERE username = $1 AND user_id <> $2", username, user_id
    )
    await conn.execute(
        "INSERT INTO listeners (user_id, username) VALUES ($1, $2) "
        "ON CONFLICT (user_id) DO UPDATE SET username = excluded.username",
        user_id,
        username,
    )


async def listener_id(session: AsyncSession, username: str) -> uuid.UUID:
    """The user called ``username`` (404 when ingestion knows no such listener)."""
    conn = await driver_connection(session)
    found = await conn.fetchval("SELECT user_id FROM listeners WHERE username = $1", username)
    if found is None:
        raise NotFound(f"no user named {username!r}")
    return uuid.UUID(str(found))


async def listener_name(session: AsyncSession, user_id: uuid.UUID) -> str | None:
    conn = await driver_connection(session)
    found = await conn.fetchval("SELECT username FROM listeners WHERE user_id = $1", user_id)
    return str(found) if found is not None else None
