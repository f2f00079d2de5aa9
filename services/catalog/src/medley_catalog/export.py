"""Every track as another context's projection holds it, a keyset page at a time: what a
projection that missed the start of the catalog's stream backfills from
(``GET /internal/tracks``).

Deleted and merged tracks are included (``status``, and ``merged_into`` for a merged one), so
a backfill also learns what is gone. Pages follow the tracks' ids (time-ordered UUIDv7): one
index range scan whatever the depth; the cursor is the last id of the page.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from medley_core.db import driver_connection

EXPORT_TRACKS = """
SELECT t.id, t.title, t.artist_names, t.primary_artist_id, t.album_id,
    a.title AS album_title, a.release_year AS album_year,
    coalesce((SELECT array_agg(g.name ORDER BY g.slug) FROM track_genres tg
              JOIN genres g ON g.id = tg.genre_id WHERE tg.track_id = t.id),
             '{}'::text[]) AS genres,
    t.duration_ms,
    CASE WHEN r.into_id IS NOT NULL THEN 'merged'
         WHEN t.deleted_at IS NOT NULL THEN 'deleted' ELSE 'active' END AS status,
    r.into_id AS merged_into, t.created_at, t.updated_at
FROM tracks t
LEFT JOIN albums a ON a.id = t.album_id
LEFT JOIN redirects r ON r.entity_type = 'track' AND r.from_id = t.id
WHERE $1::uuid IS NULL OR t.id > $1
ORDER BY t.id
LIMIT $2
"""


async def tracks_after(
    session: AsyncSession, after: uuid.UUID | None, limit: int
) -> tuple[list[dict[str, Any]], uuid.UUID | None]:
    """The page of tracks after ``after`` and the next page's cursor (None after the last)."""
    conn = await driver_connection(session)
    rows = [dict(r) for r in await conn.fetch(EXPORT_TRACKS, after, limit + 1)]
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1]["id"] if more else None)
