"""A user's plays per track, for many tracks at once: what the gateway's composed reads
show beside catalog tracks (a playlist's items, an album's tracks, an artist's page).

Set-based: one statement per question, whatever the number of tracks. The counts come from
the per-track rollup (``user_track_totals``); the last play from the plays' unique key
(user, track, start time), read backwards per track.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from medley_core.db import driver_connection

PLAYS_OF_TRACKS = """
SELECT wanted.track_id,
       coalesce(totals.plays, 0)::bigint AS play_count,
       coalesce(totals.ms_played, 0)::bigint AS ms_played,
       last.listened_at AS last_played_at
FROM unnest($2::uuid[]) WITH ORDINALITY AS wanted(track_id, n)
LEFT JOIN user_track_totals totals
       ON totals.user_id = $1 AND totals.track_id = wanted.track_id
LEFT JOIN LATERAL (
    SELECT p.listened_at FROM plays p
    WHERE p.user_id = $1 AND p.track_id = wanted.track_id
    ORDER BY p.listened_at DESC LIMIT 1
) last ON true
ORDER BY wanted.n
"""

# The tracks crediting the artist first (what "top artists" groups by), most played first.
TOP_TRACKS_OF_ARTIST = """
SELECT totals.track_id, t.title, t.artist_names, t.album_id, t.album_title,
       totals.plays::bigint AS play_count, totals.ms_played::bigint AS ms_played
FROM user_track_totals totals
JOIN tracks t ON t.track_id = totals.track_id
WHERE totals.user_id = $1 AND totals.plays > 0
  AND t.artist_id = $2 AND t.deleted_at IS NULL AND t.merged_into IS NULL
ORDER BY totals.plays DESC, totals.track_id
LIMIT $3
"""


async def plays_of_tracks(
    session: AsyncSession, user_id: uuid.UUID, track_ids: Sequence[uuid.UUID]
) -> list[dict[str, Any]]:
    """For each of ``track_ids`` (in order, repeats kept): the user's play count, time
    played and last play (None when never played)."""
    conn = await driver_connection(session)
    rows = await conn.fetch(PLAYS_OF_TRACKS, user_id, list(track_ids))
    return [dict(row) for row in rows]


async def top_tracks_of_artist(
    session: AsyncSession, user_id: uuid.UUID, artist_id: uuid.UUID, *, limit: int
) -> list[dict[str, Any]]:
    """The user's most played tracks crediting ``artist_id`` first."""
    conn = await driver_connection(session)
    rows = await conn.fetch(TOP_TRACKS_OF_ARTIST, user_id, artist_id, limit)
    return [dict(row) for row in rows]
