"""Popularity: global play counts per track, summed from ``ingestion.listens.recorded``.

Idempotent twice over: the events runtime's inbox applies an event id once, and the batch id
the event carries is recorded here, so the same batch re-published under another event id
(a replay from ingestion's outbox, a re-import) is not counted again. Plays of a merged
track count for its survivor; plays of unknown tracks are ignored.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from sqlmodel.ext.asyncio.session import AsyncSession

from medley_core.db import driver_connection


async def apply_listens(
    session: AsyncSession, batch_id: uuid.UUID, plays: Mapping[uuid.UUID, int]
) -> int | None:
    """Add ``plays`` (track id → plays) to the tracks' counts, once per ``batch_id``.

    Returns the number of plays counted, or None when the batch was already applied.
    """
    conn = await driver_connection(session)
    total = sum(plays.values())
    claimed = await conn.fetchval(
        "INSERT INTO listen_batches (batch_id, plays) VALUES ($1, $2) "
        "ON CONFLICT DO NOTHING RETURNING batch_id",
        batch_id,
        total,
    )
    if claimed is None:
        return None
    if not plays:
        return 0
    ids = list(plays)
    counts = [plays[i] for i in ids]
    # Locks rows in id order so concurrent batches never deadlock on the same tracks.
    counted = await conn.fetchval(
        """
        WITH given AS (
            SELECT COALESCE(r.into_id, p.track_id) AS track_id, sum(p.plays) AS plays
            FROM unnest($1::uuid[], $2::bigint[]) AS p(track_id, plays)
            LEFT JOIN redirects r ON r.entity_type = 'track' AND r.from_id = p.track_id
            GROUP BY 1
        ), locked AS (
            SELECT t.id, g.plays FROM tracks t JOIN given g ON g.track_id = t.id
            ORDER BY t.id FOR NO KEY UPDATE OF t
        ), updated AS (
            UPDATE tracks t SET play_count = t.play_count + l.plays
            FROM locked l WHERE t.id = l.id
            RETURNING l.plays
        )
        SELECT COALESCE(sum(plays), 0) FROM updated
        """,
        ids,
        counts,
    )
    return int(counted)
