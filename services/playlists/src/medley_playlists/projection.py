"""The service's projection of the catalog (tracks, albums, artists), fed by ``catalog.*``.

The projection is what lets the service answer without calling the catalog: adding an
unknown track is a 422 from here, items show their tracks' titles and durations, smart
playlists filter on them. It is rebuilt by reading the catalog stream from its start (the
durable consumer of a new deployment starts there).

* created / updated: the row takes the event's snapshot, unless it already holds a newer
  one (``catalog_updated_at``): a redelivered or late event never goes back in time.
* deleted: the track stays, ``deleted``: items keep it, shown ``available: false``.
* merged: items (and plays, likes, saved albums and artists) move to the survivor; the
  merged id keeps a row that names it, so an id held elsewhere still resolves.

Items carry a copy of what they show of their track (title, artists, album, duration,
availability), so a whole playlist reads as one index range. When one of those changes (or a
merge repoints items), the copies are refreshed in the same transaction, and every playlist
holding the track gets its next snapshot, its cached count and duration recomputed, and one
``playlists.playlist.updated``: a client holding the old ETag reads again rather than
trusting a stale copy.
"""

# ruff: noqa: S608 -- SQL here is assembled from fixed fragments; values are bind parameters.

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_contracts import catalog as contracts
from medley_core.db import driver_connection
from medley_playlists.playlists import lock, renew
from medley_playlists.text import fold

# What an item shows of its track: a change to one of these is a change of the playlist.
SHOWN = ("title", "artist_names", "album_id", "album_title", "duration_ms", "status")


async def playlists_showing(
    session: AsyncSession, conn: asyncpg.Connection[Any], track_ids: Sequence[uuid.UUID]
) -> None:
    """Items of ``track_ids`` show their tracks as the projection holds them now, and every
    playlist holding them gets its next snapshot (and exact totals). The playlists are
    locked first, in id order, as every writer of items does."""
    if not track_ids:
        return
    holding = await conn.fetch(
        "SELECT DISTINCT playlist_id FROM items WHERE track_id = ANY($1::uuid[])",
        list(track_ids),
    )
    playlist_ids = await lock(conn, [r["playlist_id"] for r in holding])
    await refresh_items(conn, track_ids)
    await renew(session, conn, playlist_ids)


async def refresh_items(conn: asyncpg.Connection[Any], track_ids: Sequence[uuid.UUID]) -> None:
    """Copy what items show of ``track_ids`` from the projection (set-based)."""
    await conn.execute(
        """
        UPDATE items i SET title = t.title, artist_names = t.artist_names,
            album_id = t.album_id, album_title = t.album_title, duration_ms = t.duration_ms,
            available = t.status IN ('active', 'pending')
        FROM tracks t
        WHERE t.id = i.track_id AND i.track_id = ANY($1::uuid[])
        """,
        list(track_ids),
    )


# --- tracks --------------------------------------------------------------------------------


async def track_changed(session: AsyncSession, track: contracts.TrackV1) -> None:
    conn = await driver_connection(session)
    before = await conn.fetchrow(
        f"SELECT {', '.join(SHOWN)}, catalog_updated_at FROM tracks WHERE id = $1 FOR UPDATE",
        track.track_id,
    )
    if before is not None and (
        before["catalog_updated_at"] is not None and before["catalog_updated_at"] > track.updated_at
    ):
        return  # we hold a newer state already
    primary = track.credits[0].artist_id if track.credits else None
    after = await conn.fetchrow(
        f"""
        INSERT INTO tracks AS t (id, title, title_key, artist_names, artist_key,
            primary_artist_id, album_id, album_title, album_key, album_year, duration_ms,
            genres, genre_keys, status, added_at, catalog_updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'active',
            coalesce($14, now()), $15)
        ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title, title_key = EXCLUDED.title_key,
            artist_names = EXCLUDED.artist_names, artist_key = EXCLUDED.artist_key,
            primary_artist_id = EXCLUDED.primary_artist_id, album_id = EXCLUDED.album_id,
            album_title = EXCLUDED.album_title, album_key = EXCLUDED.album_key,
            album_year = EXCLUDED.album_year, duration_ms = EXCLUDED.duration_ms,
            genres = EXCLUDED.genres, genre_keys = EXCLUDED.genre_keys,
            -- a merged id stays merged; a deleted or pending one is back or known now
            status = CASE WHEN t.status = 'merged' THEN 'merged' ELSE 'active' END,
            added_at = coalesce($14, t.added_at),
            catalog_updated_at = EXCLUDED.catalog_updated_at
        RETURNING {", ".join(SHOWN)}
        """,
        track.track_id,
        track.title,
        fold(track.title),
        track.artist_names,
        fold(track.artist_names),
        primary,
        track.album_id,
        track.album_title,
        fold(track.album_title) if track.album_title is not None else None,
        track.album_year,
        track.duration_ms,
        track.genres,
        [fold(g) for g in track.genres],
        track.created_at,
        track.updated_at,
    )
    assert after is not None
    if before is not None and {k: before[k] for k in SHOWN} != dict(after):
        await playlists_showing(session, conn, [track.track_id])


async def track_deleted(session: AsyncSession, track_id: uuid.UUID, deleted_at: datetime) -> None:
    conn = await driver_connection(session)
    changed = await conn.fetchval(
        """
        UPDATE tracks SET status = 'deleted',
            catalog_updated_at = greatest(catalog_updated_at, $2)
        WHERE id = $1 AND status IN ('active', 'pending')
            AND (catalog_updated_at IS NULL OR catalog_updated_at <= $2)
        RETURNING id
        """,
        track_id,
        deleted_at,
    )
    if changed is not None:
        await playlists_showing(session, conn, [track_id])


async def track_merged(
    session: AsyncSession, from_id: uuid.UUID, into_id: uuid.UUID, merged_at: datetime
) -> None:
    """Everything that named ``from_id`` names ``into_id`` now."""
    conn = await driver_connection(session)
    # The survivor's own events came first on the stream; should a backfill start between
    # them, a placeholder holds its place until its next update.
    await conn.execute(
        """
        INSERT INTO tracks (id, title, title_key, artist_names, artist_key, status)
        VALUES ($1, '', '', '', '', 'pending') ON CONFLICT (id) DO NOTHING
        """,
        into_id,
    )
    holding = [
        r["playlist_id"]
        for r in await conn.fetch(
            "SELECT DISTINCT playlist_id FROM items WHERE track_id = $1", from_id
        )
    ]
    await lock(conn, holding)
    await conn.execute("UPDATE items SET track_id = $2 WHERE track_id = $1", from_id, into_id)
    await refresh_items(conn, [into_id])
    await conn.execute(
        """
        INSERT INTO tracks (id, title, title_key, artist_names, artist_key, status,
            merged_into, catalog_updated_at)
        VALUES ($1, '', '', '', '', 'merged', $2, $3)
        ON CONFLICT (id) DO UPDATE SET status = 'merged', merged_into = $2,
            catalog_updated_at = greatest(tracks.catalog_updated_at, $3)
        """,
        from_id,
        into_id,
        merged_at,
    )
    # Ids merged into this one earlier follow it: one hop always reaches a live track.
    await conn.execute(
        "UPDATE tracks SET merged_into = $2 WHERE merged_into = $1", from_id, into_id
    )
    await _merge_listening(conn, from_id, into_id)
    await renew(session, conn, holding)


async def _merge_listening(
    conn: asyncpg.Connection[Any], from_id: uuid.UUID, into_id: uuid.UUID
) -> None:
    await conn.execute(
        """
        INSERT INTO plays (user_id, track_id, play_count, last_played_at)
        SELECT user_id, $2, play_count, last_played_at FROM plays WHERE track_id = $1
        ON CONFLICT (user_id, track_id) DO UPDATE SET
            play_count = plays.play_count + EXCLUDED.play_count,
            last_played_at = greatest(plays.last_played_at, EXCLUDED.last_played_at)
        """,
        from_id,
        into_id,
    )
    await conn.execute("DELETE FROM plays WHERE track_id = $1", from_id)
    await conn.execute(
        """
        INSERT INTO likes (user_id, track_id, liked_at)
        SELECT user_id, $2, liked_at FROM likes WHERE track_id = $1
        ON CONFLICT (user_id, track_id) DO UPDATE SET
            liked_at = least(likes.liked_at, EXCLUDED.liked_at)
        """,
        from_id,
        into_id,
    )
    await conn.execute("DELETE FROM likes WHERE track_id = $1", from_id)


async def hold_places(
    conn: asyncpg.Connection[Any],
    tracks: Sequence[tuple[uuid.UUID, str, str, int | None]],
) -> None:
    """Placeholders (``pending``) for tracks the catalog just resolved that the projection
    has not heard of yet: ``(id, title, artist names, duration)`` as the importer read
    them, until the catalog's event brings the real ones."""
    await conn.execute(
        """
        INSERT INTO tracks (id, title, title_key, artist_names, artist_key, duration_ms,
            status)
        SELECT id, title, title_key, artists, artist_key, duration_ms, 'pending'
        FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[])
            AS n(id, title, title_key, artists, artist_key, duration_ms)
        ON CONFLICT (id) DO NOTHING
        """,
        [t[0] for t in tracks],
        [t[1] for t in tracks],
        [fold(t[1]) for t in tracks],
        [t[2] for t in tracks],
        [fold(t[2]) for t in tracks],
        [t[3] for t in tracks],
    )


# --- albums and artists --------------------------------------------------------------------


async def album_changed(session: AsyncSession, album: contracts.AlbumV1) -> None:
    conn = await driver_connection(session)
    stored = await conn.fetchval(
        """
        INSERT INTO albums AS a (id, title, artist_names, release_year, cover_url, status,
            catalog_updated_at)
        VALUES ($1, $2, $3, $4, $5, 'active', $6)
        ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title,
            artist_names = EXCLUDED.artist_names, release_year = EXCLUDED.release_year,
            cover_url = EXCLUDED.cover_url,
            status = CASE WHEN a.status = 'merged' THEN 'merged' ELSE 'active' END,
            catalog_updated_at = EXCLUDED.catalog_updated_at
        WHERE a.catalog_updated_at IS NULL OR a.catalog_updated_at <= EXCLUDED.catalog_updated_at
        RETURNING id
        """,
        album.album_id,
        album.title,
        album.artist_names,
        album.release_year,
        album.cover_url,
        album.updated_at,
    )
    if stored is None:
        return
    # Its tracks show its title and filter on its year.
    retitled = [
        r["id"]
        for r in await conn.fetch(
            """
            UPDATE tracks SET album_title = $2, album_key = $3, album_year = $4
            WHERE album_id = $1 AND (album_title IS DISTINCT FROM $2
                OR album_year IS DISTINCT FROM $4)
            RETURNING id
            """,
            album.album_id,
            album.title,
            fold(album.title),
            album.release_year,
        )
    ]
    await playlists_showing(session, conn, retitled)


async def artist_changed(session: AsyncSession, artist: contracts.ArtistV1) -> None:
    conn = await driver_connection(session)
    await conn.execute(
        """
        INSERT INTO artists AS a (id, name, sort_name, status, catalog_updated_at)
        VALUES ($1, $2, $3, 'active', $4)
        ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, sort_name = EXCLUDED.sort_name,
            status = CASE WHEN a.status = 'merged' THEN 'merged' ELSE 'active' END,
            catalog_updated_at = EXCLUDED.catalog_updated_at
        WHERE a.catalog_updated_at IS NULL OR a.catalog_updated_at <= EXCLUDED.catalog_updated_at
        """,
        artist.artist_id,
        artist.name,
        artist.sort_name,
        artist.updated_at,
    )


# The album and artist tables, and the track column that names one of them.
ENTITY_TABLES = {"album": ("albums", "album_id"), "artist": ("artists", "primary_artist_id")}


async def entity_deleted(
    session: AsyncSession, kind: str, entity_id: uuid.UUID, deleted_at: datetime
) -> None:
    conn = await driver_connection(session)
    table, _ = ENTITY_TABLES[kind]
    await conn.execute(
        f"""
        UPDATE {table} SET status = 'deleted', catalog_updated_at = $2
        WHERE id = $1 AND status = 'active'
            AND (catalog_updated_at IS NULL OR catalog_updated_at <= $2)
        """,
        entity_id,
        deleted_at,
    )


async def entity_merged(
    session: AsyncSession, kind: str, from_id: uuid.UUID, into_id: uuid.UUID
) -> None:
    """A merged album or artist: its row says so; tracks and saved entries move over."""
    conn = await driver_connection(session)
    table, column = ENTITY_TABLES[kind]
    await conn.execute(
        f"UPDATE {table} SET status = 'merged' WHERE id = $1",
        from_id,
    )
    await conn.execute(
        f"UPDATE tracks SET {column} = $2 WHERE {column} = $1",
        from_id,
        into_id,
    )
    await conn.execute(
        """
        INSERT INTO collection_entries (user_id, kind, entity_id, saved_at)
        SELECT user_id, kind, $3, saved_at FROM collection_entries
        WHERE kind = $1 AND entity_id = $2
        ON CONFLICT (user_id, kind, entity_id) DO UPDATE SET
            saved_at = least(collection_entries.saved_at, EXCLUDED.saved_at)
        """,
        kind,
        from_id,
        into_id,
    )
    await conn.execute(
        "DELETE FROM collection_entries WHERE kind = $1 AND entity_id = $2", kind, from_id
    )
