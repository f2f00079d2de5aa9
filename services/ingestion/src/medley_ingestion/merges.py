"""``catalog.track.merged``: what pointed at the merged track points at its survivor.

Plays, likes and connector tracks of ``from`` move to ``into``. Moving them can make
duplicates: a play of ``from`` at the very time of one of ``into`` (the unique key), or from
another source within the duplicate window or overlapping it, is the same listen heard
twice — it is removed, and the survivor's play stays; a like of both under one source is
kept once. The rollups follow, and the projection remembers the redirect.
"""

# ruff: noqa: S608 -- SQL here is assembled from fixed fragments, never from input.

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from medley_core.db import driver_connection
from medley_ingestion.plays import PRUNE_ROLLUPS, lock_user, rollup_ctes, same_listen

# A track's listeners are those with its per-track total (plays has no track index).
AFFECTED_USERS = """
SELECT user_id FROM user_track_totals WHERE track_id = $1
UNION SELECT DISTINCT user_id FROM likes WHERE track_id = $1
ORDER BY 1
"""

DROP_DUPLICATES = (
    """
WITH removed AS (
    DELETE FROM plays f
    USING plays i
    WHERE f.user_id = ANY($4::uuid[]) AND f.track_id = $1 AND i.track_id = $2
      AND i.user_id = f.user_id
      AND """
    + same_listen("i", "f", "$3")
    + """
    RETURNING f.id, f.user_id, f.track_id, f.listened_at, coalesce(f.ms_played, 0)::bigint AS ms
)"""
    + rollup_ctes("removed", sign=-1)
    + """
SELECT count(*) FROM removed
"""
)

MOVE_PLAYS = """
WITH moved AS (UPDATE plays SET track_id = $2
               WHERE user_id = ANY($3::uuid[]) AND track_id = $1 RETURNING 1),
     totals AS (DELETE FROM user_track_totals WHERE track_id = $1
                RETURNING user_id, plays, ms_played),
     added_totals AS (
        INSERT INTO user_track_totals AS t (user_id, track_id, plays, ms_played)
        SELECT user_id, $2, plays, ms_played FROM totals
        ON CONFLICT (user_id, track_id) DO UPDATE
        SET plays = t.plays + excluded.plays, ms_played = t.ms_played + excluded.ms_played)
SELECT count(*) FROM moved
"""

MOVE_LIKES = """
WITH dropped AS (
    DELETE FROM likes f USING likes i
    WHERE f.track_id = $1 AND i.track_id = $2 AND i.user_id = f.user_id AND i.source = f.source
    RETURNING f.id
)
UPDATE likes SET track_id = $2
WHERE track_id = $1 AND id NOT IN (SELECT id FROM dropped)
"""


async def merge_tracks(
    session: AsyncSession, from_id: uuid.UUID, into_id: uuid.UUID, *, duplicate_window_s: int
) -> dict[str, Any]:
    """Re-point everything of ``from_id`` to ``into_id``; what moved and what was merged."""
    conn = await driver_connection(session)
    users = [row["user_id"] for row in await conn.fetch(AFFECTED_USERS, from_id)]
    for user_id in users:  # in id order: two merges never wait on each other in a cycle
        await lock_user(conn, user_id)
    duplicates = await conn.fetchval(
        DROP_DUPLICATES, from_id, into_id, float(duplicate_window_s), users
    )
    moved = await conn.fetchval(MOVE_PLAYS, from_id, into_id, users)
    await conn.execute(MOVE_LIKES, from_id, into_id)
    await conn.execute(
        "UPDATE connector_tracks SET track_id = $2 WHERE track_id = $1", from_id, into_id
    )
    await conn.execute("UPDATE tracks SET merged_into = $2 WHERE track_id = $1", from_id, into_id)
    if users:
        await conn.execute(PRUNE_ROLLUPS, users)
    return {"plays_moved": moved, "duplicates_removed": duplicates, "users": len(users)}
