"""Each user's listening as smart playlists read it: play count and last played per track
(from ``ingestion.listens.recorded``) and likes (from ``ingestion.likes.changed``; a hate,
ListenBrainz's score -1, is not a like).

A batch of listens counts once whatever delivers it again (``listen_batches``, beside the
inbox that already drops a redelivered event id); a listen of a merged track counts for
its survivor.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from medley_contracts.ingestion import LikesChangedV1, ListensRecordedV1
from medley_core.db import driver_connection


async def listens_recorded(session: AsyncSession, batch: ListensRecordedV1) -> int | None:
    """Count a batch's listens; how many, or None when the batch was counted already."""
    conn = await driver_connection(session)
    fresh = await conn.fetchval(
        """
        INSERT INTO listen_batches (batch_id, user_id) VALUES ($1, $2)
        ON CONFLICT (batch_id) DO NOTHING RETURNING batch_id
        """,
        batch.batch_id,
        batch.user_id,
    )
    if fresh is None:
        return None
    await conn.execute(
        """
        INSERT INTO plays (user_id, track_id, play_count, last_played_at)
        SELECT $1, coalesce(t.merged_into, l.track_id), count(*), max(l.listened_at)
        FROM unnest($2::uuid[], $3::timestamptz[]) AS l(track_id, listened_at)
        LEFT JOIN tracks t ON t.id = l.track_id
        GROUP BY 2
        ON CONFLICT (user_id, track_id) DO UPDATE SET
            play_count = plays.play_count + EXCLUDED.play_count,
            last_played_at = greatest(plays.last_played_at, EXCLUDED.last_played_at)
        """,
        batch.user_id,
        [listen.track_id for listen in batch.listens],
        [listen.listened_at for listen in batch.listens],
    )
    return len(batch.listens)


async def likes_changed(session: AsyncSession, batch: LikesChangedV1) -> None:
    """Apply a batch of like changes: a track's latest change in the batch is its state (a
    like, or none: removed, or hated); a merged track's likes are its survivor's."""
    latest: dict[uuid.UUID, tuple[bool, datetime]] = {}
    for change in sorted(batch.changes, key=lambda c: c.at):
        latest[change.track_id] = (change.liked and change.score > 0, change.at)
    liked = [(track, at) for track, (is_liked, at) in latest.items() if is_liked]
    unliked = [track for track, (is_liked, _) in latest.items() if not is_liked]
    conn = await driver_connection(session)
    await conn.execute(
        """
        DELETE FROM likes l USING unnest($2::uuid[]) AS gone(track_id)
        LEFT JOIN tracks t ON t.id = gone.track_id
        WHERE l.user_id = $1 AND l.track_id = coalesce(t.merged_into, gone.track_id)
        """,
        batch.user_id,
        unliked,
    )
    await conn.execute(
        """
        INSERT INTO likes (user_id, track_id, liked_at)
        SELECT DISTINCT ON (coalesce(t.merged_into, l.track_id))
            $1, coalesce(t.merged_into, l.track_id), l.at
        FROM unnest($2::uuid[], $3::timestamptz[]) AS l(track_id, at)
        LEFT JOIN tracks t ON t.id = l.track_id
        ORDER BY coalesce(t.merged_into, l.track_id), l.at DESC
        ON CONFLICT (user_id, track_id) DO UPDATE SET liked_at = EXCLUDED.liked_at
        """,
        batch.user_id,
        [track for track, _ in liked],
        [at for _, at in liked],
    )
