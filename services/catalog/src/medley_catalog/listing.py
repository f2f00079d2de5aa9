"""Listing tracks, albums, artists and genres: filters and keyset pagination.

Every listing pages with :mod:`medley_core.pagination`: one index range scan whatever the
depth, against partial indexes on live rows (``ix_albums_title_norm_live`` and friends),
an opaque cursor holding the last row's sort key. No OFFSET anywhere.
"""

# ruff: noqa: S608 -- SQL here is assembled from fixed fragments; every value travels as a
# bind parameter.

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal

import asyncpg
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_catalog.queries import ALBUM_COLUMNS, ARTIST_COLUMNS, TRACK_COLUMNS, artist_counts
from medley_core.db import driver_connection
from medley_core.pagination import Page, Row, SortKey, SqlQuery, fetch_page, sort_key

TrackSort = Literal["title", "popularity", "created"]
AlbumSort = Literal["title", "created"]
ArtistSort = Literal["name", "created"]


@dataclass(frozen=True)
class Listing:
    """What a keyset page of one entity reads: its table and alias, the columns shown, and
    its orders ("created" is the id's order: ids are time-ordered UUIDv7)."""

    table: str
    alias: str
    columns: str
    sorts: dict[str, SortKey]


TRACKS = Listing(
    "tracks",
    "t",
    TRACK_COLUMNS,
    {
        "title": sort_key("tracks:title", ("title_norm", str)),
        "popularity": sort_key("tracks:popularity", ("play_count", int), descending=True),
        "created": sort_key("tracks:created"),
    },
)
ALBUMS = Listing(
    "albums",
    "al",
    ALBUM_COLUMNS,
    {"title": sort_key("albums:title", ("title_norm", str)), "created": sort_key("albums:created")},
)
ARTISTS = Listing(
    "artists",
    "ar",
    ARTIST_COLUMNS,
    {"name": sort_key("artists:name", ("name_norm", str)), "created": sort_key("artists:created")},
)
GENRES_BY_SLUG = sort_key("genres", tie_breaker=("slug", str))


async def _genre_id(conn: asyncpg.Connection[Any], slug: str) -> uuid.UUID | None:
    value = await conn.fetchval("SELECT id FROM genres WHERE slug = $1", slug)
    return None if value is None else uuid.UUID(str(value))


async def _page(
    conn: asyncpg.Connection[Any],
    listing: Listing,
    query: SqlQuery,
    sort: str,
    cursor: str | None,
    limit: int,
) -> Page[Row]:
    """One page of ``listing``'s live rows under ``query``'s filters."""
    query.where(f"{listing.alias}.deleted_at IS NULL")
    return await fetch_page(
        conn,
        columns=listing.columns,
        source=f"{listing.table} {listing.alias}",
        query=query,
        sort=listing.sorts[sort],
        cursor=cursor,
        limit=limit,
        alias=listing.alias,
    )


async def list_tracks(
    session: AsyncSession,
    *,
    limit: int = 50,
    cursor: str | None = None,
    sort: TrackSort = "title",
    artist_id: uuid.UUID | None = None,
    album_id: uuid.UUID | None = None,
    genre: str | None = None,
    year: int | None = None,
    album_type: str | None = None,
    source: str | None = None,
) -> Page[Row]:
    conn = await driver_connection(session)
    query = SqlQuery()
    if artist_id is not None:
        query.where(
            "t.id IN (SELECT c.track_id FROM track_credits c "
            f"WHERE c.artist_id = {query.param(artist_id)})"
        )
    if album_id is not None:
        query.where(f"t.album_id = {query.param(album_id)}")
    if genre is not None:
        genre_id = await _genre_id(conn, genre)
        if genre_id is None:
            return Page(items=[], next_cursor=None)
        query.where(
            "t.id IN (SELECT g.track_id FROM track_genres g "
            f"WHERE g.genre_id = {query.param(genre_id)})"
        )
    if year is not None or album_type is not None:
        album_conditions = ["al.id = t.album_id"]
        if year is not None:
            album_conditions.append(f"al.release_year = {query.param(year)}")
        if album_type is not None:
            album_conditions.append(f"al.album_type = {query.param(album_type)}")
        query.where(f"EXISTS (SELECT 1 FROM albums al WHERE {' AND '.join(album_conditions)})")
    if source is not None:
        query.where(f"t.source = {query.param(source)}")
    return await _page(conn, TRACKS, query, sort, cursor, limit)


async def list_albums(
    session: AsyncSession,
    *,
    limit: int = 50,
    cursor: str | None = None,
    sort: AlbumSort = "title",
    artist_id: uuid.UUID | None = None,
    genre: str | None = None,
    year: int | None = None,
    album_type: str | None = None,
    source: str | None = None,
) -> Page[Row]:
    conn = await driver_connection(session)
    query = SqlQuery()
    if artist_id is not None:
        query.where(
            "al.id IN (SELECT c.album_id FROM album_credits c "
            f"WHERE c.artist_id = {query.param(artist_id)})"
        )
    if genre is not None:
        genre_id = await _genre_id(conn, genre)
        if genre_id is None:
            return Page(items=[], next_cursor=None)
        query.where(
            "al.id IN (SELECT g.album_id FROM album_genres g "
            f"WHERE g.genre_id = {query.param(genre_id)})"
        )
    if year is not None:
        query.where(f"al.release_year = {query.param(year)}")
    if album_type is not None:
        query.where(f"al.album_type = {query.param(album_type)}")
    if source is not None:
        query.where(f"al.source = {query.param(source)}")
    return await _page(conn, ALBUMS, query, sort, cursor, limit)


async def list_artists(
    session: AsyncSession,
    *,
    limit: int = 50,
    cursor: str | None = None,
    sort: ArtistSort = "name",
    genre: str | None = None,
    source: str | None = None,
) -> Page[Row]:
    """Artists with how many live tracks and albums credit each."""
    conn = await driver_connection(session)
    query = SqlQuery()
    if genre is not None:
        genre_id = await _genre_id(conn, genre)
        if genre_id is None:
            return Page(items=[], next_cursor=None)
        query.where(
            "ar.id IN (SELECT g.artist_id FROM artist_genres g "
            f"WHERE g.genre_id = {query.param(genre_id)})"
        )
    if source is not None:
        query.where(f"ar.source = {query.param(source)}")
    page = await _page(conn, ARTISTS, query, sort, cursor, limit)
    if page.items:
        counts = await artist_counts(conn, [item["id"] for item in page.items])
        for item in page.items:
            item["track_count"], item["album_count"] = counts.get(item["id"], (0, 0))
    return page


async def list_genres(
    session: AsyncSession, *, limit: int = 100, cursor: str | None = None
) -> Page[Row]:
    """Genres by slug, with how many live tracks, albums and artists carry each."""
    conn = await driver_connection(session)
    return await fetch_page(
        conn,
        columns="""
            g.id, g.name, g.slug,
            (SELECT count(*) FROM track_genres l JOIN tracks t ON t.id = l.track_id
              WHERE l.genre_id = g.id AND t.deleted_at IS NULL) AS track_count,
            (SELECT count(*) FROM album_genres l JOIN albums a ON a.id = l.album_id
              WHERE l.genre_id = g.id AND a.deleted_at IS NULL) AS album_count,
            (SELECT count(*) FROM artist_genres l JOIN artists a ON a.id = l.artist_id
              WHERE l.genre_id = g.id AND a.deleted_at IS NULL) AS artist_count
        """,
        source="genres g",
        query=SqlQuery(),
        sort=GENRES_BY_SLUG,
        cursor=cursor,
        limit=limit,
        alias="g",
    )
