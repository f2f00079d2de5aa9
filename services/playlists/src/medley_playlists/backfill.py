"""Backfilling the catalog projection from the catalog's export (``GET /internal/tracks``).

The projection is fed by the catalog's stream, read from its start by a new deployment's
durable consumer. Once the stream no longer holds everything (its first sequence is later
than 1: old messages were discarded), or when the projection is empty while the catalog is
not, the service reads every track from the catalog's export instead, a keyset page at a
time, one transaction per page, while its consumer goes on applying events.

Both write under the same rule, so they commute: a row only takes a state at least as new as
the one it holds (``catalog_updated_at``). A page upsert is one statement; what items show
of a track that changed is refreshed (and its playlists get their next snapshot) as for an
event, and items of a track the export says was merged move to the survivor.

A backfill is recorded (``catalog_backfills``); one that finished is not run again because
the stream lost its start (a deployment that ran since the stream's first message runs one
redundant backfill the first time it sees that: harmless, every write is idempotent). One
that did not finish (the catalog was down, the process stopped) starts over at the next try.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from nats.js.errors import NotFoundError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_contracts.envelope import stream_name
from medley_core.app import ServiceRuntime
from medley_core.catalog_client import CatalogClient
from medley_core.db import driver_connection, transaction
from medley_core.ids import utcnow
from medley_playlists import projection
from medley_playlists.settings import PlaylistsSettings
from medley_playlists.text import fold

log = logging.getLogger("medley.playlists.backfill")

RETRY_FIRST_S = 1.0
RETRY_CAP_S = 60.0

UPSERT_PAGE = """
WITH given AS (
    SELECT n.*, ARRAY(SELECT jsonb_array_elements_text(n.genres_json::jsonb)) AS genres,
        ARRAY(SELECT jsonb_array_elements_text(n.genre_keys_json::jsonb)) AS genre_keys
    FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::uuid[],
                $7::uuid[], $8::text[], $9::text[], $10::int[], $11::int[], $12::text[],
                $13::text[], $14::text[], $15::uuid[], $16::timestamptz[],
                $17::timestamptz[])
        AS n(id, title, title_key, artist_names, artist_key, primary_artist_id, album_id,
             album_title, album_key, album_year, duration_ms, genres_json, genre_keys_json,
             status, merged_into, created_at, updated_at)
),
before AS (
    SELECT t.id, t.title, t.artist_names, t.album_id, t.album_title, t.duration_ms, t.status
    FROM tracks t JOIN given g ON g.id = t.id
),
written AS (
    INSERT INTO tracks AS t (id, title, title_key, artist_names, artist_key,
        primary_artist_id, album_id, album_title, album_key, album_year, duration_ms, genres,
        genre_keys, status, merged_into, added_at, catalog_updated_at)
    SELECT id, title, title_key, artist_names, artist_key, primary_artist_id, album_id,
        album_title, album_key, album_year, duration_ms, genres, genre_keys, status,
        merged_into, coalesce(created_at, now()), updated_at
    FROM given
    ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title, title_key = EXCLUDED.title_key,
        artist_names = EXCLUDED.artist_names, artist_key = EXCLUDED.artist_key,
        primary_artist_id = EXCLUDED.primary_artist_id, album_id = EXCLUDED.album_id,
        album_title = EXCLUDED.album_title, album_key = EXCLUDED.album_key,
        album_year = EXCLUDED.album_year, duration_ms = EXCLUDED.duration_ms,
        genres = EXCLUDED.genres, genre_keys = EXCLUDED.genre_keys,
        status = EXCLUDED.status, merged_into = EXCLUDED.merged_into,
        added_at = EXCLUDED.added_at, catalog_updated_at = EXCLUDED.catalog_updated_at
    WHERE t.catalog_updated_at IS NULL OR t.catalog_updated_at <= EXCLUDED.catalog_updated_at
    RETURNING t.id, t.title, t.artist_names, t.album_id, t.album_title, t.duration_ms,
        t.status, t.merged_into, t.catalog_updated_at
)
SELECT w.id, w.status, w.merged_into, w.catalog_updated_at
FROM written w JOIN before b ON b.id = w.id
WHERE (b.title, b.artist_names, b.album_id, b.album_title, b.duration_ms, b.status)
    IS DISTINCT FROM (w.title, w.artist_names, w.album_id, w.album_title, w.duration_ms,
                      w.status)
"""


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _uuid(value: Any) -> uuid.UUID | None:
    return None if value is None else uuid.UUID(str(value))


def _when(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


def _columns(tracks: Sequence[dict[str, Any]]) -> list[list[Any]]:
    """The export's tracks as the page upsert's column arrays (keys folded here, in
    Python, as every writer of the projection does)."""
    genres = [list(t.get("genres") or []) for t in tracks]
    return [
        [uuid.UUID(str(t["id"])) for t in tracks],
        [_text(t.get("title")) for t in tracks],
        [fold(_text(t.get("title"))) for t in tracks],
        [_text(t.get("artist_names")) for t in tracks],
        [fold(_text(t.get("artist_names"))) for t in tracks],
        [_uuid(t.get("primary_artist_id")) for t in tracks],
        [_uuid(t.get("album_id")) for t in tracks],
        [t.get("album_title") for t in tracks],
        [fold(t["album_title"]) if t.get("album_title") else None for t in tracks],
        [t.get("album_year") for t in tracks],
        [t.get("duration_ms") or None for t in tracks],
        [json.dumps(g) for g in genres],
        [json.dumps([fold(x) for x in g]) for g in genres],
        [str(t.get("status") or "active") for t in tracks],
        [_uuid(t.get("merged_into")) for t in tracks],
        [_when(t.get("created_at")) for t in tracks],
        [_when(t.get("updated_at")) for t in tracks],
    ]


async def apply_page(session: AsyncSession, tracks: Sequence[dict[str, Any]]) -> None:
    """One export page into the projection (one upsert), and the items that show them."""
    if not tracks:
        return
    conn = await driver_connection(session)
    changed = await conn.fetch(UPSERT_PAGE, *_columns(tracks))
    merged = [r for r in changed if r["status"] == "merged"]
    shown = [r["id"] for r in changed if r["status"] != "merged"]
    await projection.playlists_showing(session, conn, shown)
    for record in merged:
        # Rare (a merge the stream no longer holds): items move to the survivor as for the
        # event; the row already says merged.
        await projection.track_merged(
            session, record["id"], record["merged_into"], record["catalog_updated_at"]
        )


async def stream_first_sequence(runtime: ServiceRuntime, prefix: str) -> int | None:
    """The first sequence the catalog's stream still holds (None: there is no stream)."""
    try:
        info = await runtime.events.js.stream_info(stream_name("catalog", prefix))
    except NotFoundError:
        return None
    first = info.state.first_seq
    return int(first) if first is not None else None


async def reason_to_backfill(
    runtime: ServiceRuntime, client: CatalogClient, prefix: str
) -> str | None:
    """Why the projection must be backfilled from the export now, or None."""
    first = await stream_first_sequence(runtime, prefix)
    async with runtime.sessions() as session:
        conn = await driver_connection(session)
        finished = await conn.fetchval(
            "SELECT EXISTS (SELECT FROM catalog_backfills WHERE completed_at IS NOT NULL)"
        )
        empty = not await conn.fetchval("SELECT EXISTS (SELECT FROM tracks)")
    if first is not None and first > 1 and not finished:
        return f"the catalog's stream starts at sequence {first}"
    if empty and (await client.export_tracks(limit=1)).tracks:
        return "the projection is empty and the catalog is not"
    return None


async def backfill(
    sessions: async_sessionmaker[AsyncSession],
    client: CatalogClient,
    reason: str,
    page_size: int = 1000,
) -> int:
    """Read the whole export into the projection; the tracks read."""
    async with transaction(sessions) as session:
        conn = await driver_connection(session)
        run_id = await conn.fetchval(
            "INSERT INTO catalog_backfills (id, reason) VALUES (gen_random_uuid(), $1) "
            "RETURNING id",
            reason,
        )
    log.info("backfilling the catalog projection from the export: %s", reason)
    cursor: str | None = None
    read = 0
    while True:
        page = await client.export_tracks(cursor, page_size)
        async with transaction(sessions) as session:
            await apply_page(session, page.tracks)
            read += len(page.tracks)
            conn = await driver_connection(session)
            await conn.execute(
                "UPDATE catalog_backfills SET tracks = $2, completed_at = $3 WHERE id = $1",
                run_id,
                read,
                None if page.next_cursor else utcnow(),
            )
        if page.next_cursor is None:
            log.info("catalog projection backfilled: %d tracks", read)
            return read
        cursor = page.next_cursor


async def backfill_when_needed(
    runtime: ServiceRuntime, client: CatalogClient, settings: PlaylistsSettings
) -> int:
    """Wait for NATS, backfill if the projection needs it (trying again, with growing
    pauses, while the catalog or NATS is unreachable); the tracks read (0: not needed)."""
    pause = RETRY_FIRST_S
    while True:
        try:
            if runtime.events.nats_connected:
                reason = await reason_to_backfill(runtime, client, settings.event_prefix)
                if reason is None:
                    return 0
                return await backfill(runtime.sessions, client, reason, settings.backfill_page_size)
        except Exception as exc:  # a background task: whatever failed, it tries again
            log.warning("catalog backfill failed (trying again in %.0f s): %s", pause, exc)
        await asyncio.sleep(pause)
        pause = min(pause * 2, RETRY_CAP_S)
