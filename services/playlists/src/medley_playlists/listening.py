"""Each user's listening as smart playlists read it: play count and last played per track
(from ``ingestion.listens.recorded``) and likes (from ``ingestion.likes.changed``).

A batch of listens counts once whatever delivers it again (``listen_batches``, beside the
inbox that already drops a redelivered event id); a listen of a merged track counts for
its survivor.
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from medley_contracts.ingestion import ListensRecordedV1
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
