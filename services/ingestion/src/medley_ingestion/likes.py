"""Likes: one per (user, track, source), with when; love (1) or hate (-1).

Imports store them in batches (:func:`store_likes`) under the export's source; Medley's own
API and ListenBrainz feedback like one track at a time, under the source ``listenbrainz``
(the feedback API is ListenBrainz's, and Medley's likes are the same list). Every change is
published in one ``ingestion.likes.changed`` per batch.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_contracts.ingestion import LikeChangeV1
from medley_core.db import driver_connection
from medley_core.errors import NotFound
from medley_core.ids import new_id, utcnow
from medley_ingestion import events

# Medley's own likes (PUT /api/v1/me/likes/{track}) and ListenBrainz feedback are one list.
OWN_SOURCE = "listenbrainz"

STORE = """
INSERT INTO likes AS l (id, user_id, track_id, source, score, liked_at, connector_track_id)
SELECT id, $1, track_id, source, score, liked_at, connector_track_id
FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::smallint[], $6::timestamptz[], $7::uuid[])
     AS n(id, track_id, source, score, liked_at, connector_track_id)
ON CONFLICT (user_id, track_id, source) DO UPDATE
SET score = excluded.score, liked_at = excluded.liked_at
WHERE l.score <> excluded.score
RETURNING track_id, source, score, liked_at
"""


@dataclass(frozen=True)
class LikeRow:
    track_id: uuid.UUID
    source: str
    score: int
    liked_at: datetime
    connector_track_id: uuid.UUID | None = None


async def store_likes(
    conn: asyncpg.Connection[Any], user_id: uuid.UUID, likes: Sequence[LikeRow]
) -> list[LikeChangeV1]:
    """Store likes (a repeated one changes nothing; a changed score replaces the old);
    the changes made."""
    unique: dict[tuple[uuid.UUID, str], LikeRow] = {}
    for like in likes:
        unique[(like.track_id, like.source)] = like  # the last word wins, as in the file
    rows = list(unique.values())
    if not rows:
        return []
    changed = await conn.fetch(
        STORE,
        user_id,
        [new_id() for _ in rows],
        [r.track_id for r in rows],
        [r.source for r in rows],
        [r.score for r in rows],
        [r.liked_at for r in rows],
        [r.connector_track_id for r in rows],
    )
    return [
        LikeChangeV1(
            track_id=r["track_id"],
            source=r["source"],
            liked=True,
            score=r["score"],
            at=r["liked_at"],
        )
        for r in changed
    ]


async def like(
    session: AsyncSession,
    user_id: uuid.UUID,
    track_id: uuid.UUID,
    score: int = 1,
    connector_track_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Like (or hate) one catalog track (as a source named it, if it did); the like as
    stored."""
    conn = await driver_connection(session)
    now = utcnow()
    row = LikeRow(track_id, OWN_SOURCE, score, now, connector_track_id)
    changes = await store_likes(conn, user_id, [row])
    if changes:
        events.likes_changed(session, user_id, changes)
    return await get_like(session, user_id, track_id)


async def get_like(
    session: AsyncSession, user_id: uuid.UUID, track_id: uuid.UUID
) -> dict[str, Any]:
    conn = await driver_connection(session)
    # Liked from several sources: the latest word counts.
    row = await conn.fetchrow(
        "SELECT track_id, score, liked_at FROM likes WHERE user_id = $1 AND track_id = $2 "
        "ORDER BY liked_at DESC LIMIT 1",
        user_id,
        track_id,
    )
    if row is None:
        raise NotFound("the track is not liked")
    return {
        "track_id": row["track_id"],
        "score": row["score"],
        "liked_at": row["liked_at"],
    }


async def unlike(session: AsyncSession, user_id: uuid.UUID, track_id: uuid.UUID) -> None:
    """Remove the user's like of a track, from every source (404 when there is none)."""
    conn = await driver_connection(session)
    removed = await conn.fetch(
        "DELETE FROM likes WHERE user_id = $1 AND track_id = $2 RETURNING source",
        user_id,
        track_id,
    )
    if not removed:
        raise NotFound("the track is not liked")
    now = utcnow()
    events.likes_changed(
        session,
        user_id,
        [LikeChangeV1(track_id=track_id, source=r["source"], liked=False, at=now) for r in removed],
    )
