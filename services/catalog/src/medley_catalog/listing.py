"""Listing tracks, albums, artists and genres: filters and keyset pagination.

A page is read with one index range scan whatever its depth: the opaque cursor holds the
sort key and id of the last row served, and the next page starts strictly after it
(``WHERE (sort_key, id) > (…) ORDER BY sort_key, id LIMIT n``), against partial indexes on
live rows (``ix_albums_title_norm_live`` and friends). No OFFSET anywhere.
"""

# ruff: noqa: S608 -- SQL here is assembled from fixed fragments (table and column names
# from constant mappings); every value travels as a bind parameter.

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import asyncpg

from medley_catalog.queries import (
    ALBUM_COLUMNS,
    ARTIST_COLUMNS,
    TRACK_COLUMNS,
    Row,
    artist_counts,
    rows,
)
from medley_core.errors import Unprocessable


def storable(text: str) -> bool:
    """Whether PostgreSQL can hold ``text`` (no NUL, no lone surrogate)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


TrackSort = Literal["title", "popularity", "created"]
AlbumSort = Literal["title", "created"]
ArtistSort = Literal["name", "created"]


@dataclass(frozen=True)
class SortKey:
    """A listing's order: its columns (the id last, to break ties) and their types in a
    cursor. "created" is the id's order: ids are time-ordered UUIDv7."""

    columns: tuple[str, ...]
    types: tuple[type, ...]
    descending: bool = False


BY_ID = SortKey(("id",), (uuid.UUID,))


@dataclass(frozen=True)
class Listing:
    """What a keyset page of one entity reads: its table ("tracks t"), the columns shown,
    the normalised name (read for a title or name cursor, not shown) and its orders."""

    name: str
    table: str
    columns: str
    norm: str
    sorts: dict[str, SortKey]


TRACKS = Listing(
    "tracks",
    "tracks t",
    TRACK_COLUMNS,
    "title_norm",
    {
        "title": SortKey(("title_norm", "id"), (str, uuid.UUID)),
        "popularity": SortKey(("play_count", "id"), (int, uuid.UUID), descending=True),
        "created": BY_ID,
    },
)
ALBUMS = Listing(
    "albums",
    "albums al",
    ALBUM_COLUMNS,
    "title_norm",
    {"title": SortKey(("title_norm", "id"), (str, uuid.UUID)), "created": BY_ID},
)
ARTISTS = Listing(
    "artists",
    "artists ar",
    ARTIST_COLUMNS,
    "name_norm",
    {"name": SortKey(("name_norm", "id"), (str, uuid.UUID)), "created": BY_ID},
)


def encode_cursor(kind: str, key: Sequence[Any]) -> str:
    raw = json.dumps([kind, [str(k) if isinstance(k, uuid.UUID) else k for k in key]])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str, types: Sequence[type]) -> list[Any]:
    """The key a cursor holds, each part of the expected type; 422 when it is not one of
    ours for this listing (another sort, tampered with, truncated)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        found_kind, key = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if found_kind != kind or not isinstance(key, list) or len(key) != len(types):
            raise ValueError(kind)
        parsed: list[Any] = []
        for value, expected in zip(key, types, strict=True):
            if expected is uuid.UUID:
                parsed.append(uuid.UUID(value))
            elif (
                expected is float and isinstance(value, int | float) and not isinstance(value, bool)
            ):
                parsed.append(float(value))
            elif expected is int and isinstance(value, int) and not isinstance(value, bool):
                if not -(2**63) <= value < 2**63:
                    raise ValueError(value)
                parsed.append(value)
            elif expected is str and isinstance(value, str) and storable(value):
                parsed.append(value)
            else:
                raise ValueError(value)
        return parsed
    except (ValueError, TypeError, AttributeError, binascii.Error, UnicodeDecodeError):
        raise Unprocessable(
            "the cursor is not valid for this listing (use next_cursor as given, with the "
            "same sort)",
            field="cursor",
        ) from None


@dataclass
class Page:
    items: list[Row]
    next_cursor: str | None


@dataclass
class _Query:
    """A WHERE clause built from filters, with numbered parameters."""

    conditions: list[str] = field(default_factory=list)
    args: list[Any] = field(default_factory=list)

    def param(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"

    def where(self, condition: str) -> None:
        self.conditions.append(condition)

    @property
    def sql(self) -> str:
        return " AND ".join(self.conditions) if self.conditions else "TRUE"


def _keyset(
    query: _Query, columns: Sequence[str], key: list[Any] | None, *, descending: bool = False
) -> str:
    if key is not None:
        operator = "<" if descending else ">"
        params = ", ".join(query.param(k) for k in key)
        query.where(f"({', '.join(columns)}) {operator} ({params})")
    direction = " DESC" if descending else ""
    return ", ".join(f"{c}{direction}" for c in columns)


async def _genre_id(conn: asyncpg.Connection[Any], slug: str) -> uuid.UUID | None:
    value = await conn.fetchval("SELECT id FROM genres WHERE slug = $1", slug)
    return None if value is None else uuid.UUID(str(value))


async def list_tracks(
    conn: asyncpg.Connection[Any],
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
) -> Page:
    query = _Query(["t.deleted_at IS NULL"])
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
            return Page([], None)
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
    return await _keyset_page(conn, query, TRACKS, sort, cursor, limit)


async def list_albums(
    conn: asyncpg.Connection[Any],
    *,
    limit: int = 50,
    cursor: str | None = None,
    sort: AlbumSort = "title",
    artist_id: uuid.UUID | None = None,
    genre: str | None = None,
    year: int | None = None,
    album_type: str | None = None,
    source: str | None = None,
) -> Page:
    query = _Query(["al.deleted_at IS NULL"])
    if artist_id is not None:
        query.where(
            "al.id IN (SELECT c.album_id FROM album_credits c "
            f"WHERE c.artist_id = {query.param(artist_id)})"
        )
    if genre is not None:
        genre_id = await _genre_id(conn, genre)
        if genre_id is None:
            return Page([], None)
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
    return await _keyset_page(conn, query, ALBUMS, sort, cursor, limit)


async def list_artists(
    conn: asyncpg.Connection[Any],
    *,
    limit: int = 50,
    cursor: str | None = None,
    sort: ArtistSort = "name",
    genre: str | None = None,
    source: str | None = None,
    with_counts: bool = True,
) -> Page:
    query = _Query(["ar.deleted_at IS NULL"])
    if genre is not None:
        genre_id = await _genre_id(conn, genre)
        if genre_id is None:
            return Page([], None)
        query.where(
            "ar.id IN (SELECT g.artist_id FROM artist_genres g "
            f"WHERE g.genre_id = {query.param(genre_id)})"
        )
    if source is not None:
        query.where(f"ar.source = {query.param(source)}")
    page = await _keyset_page(conn, query, ARTISTS, sort, cursor, limit)
    if with_counts and page.items:
        counts = await artist_counts(conn, [item["id"] for item in page.items])
        for item in page.items:
            item["track_count"], item["album_count"] = counts.get(item["id"], (0, 0))
    return page


async def list_genres(
    conn: asyncpg.Connection[Any], *, limit: int = 100, cursor: str | None = None
) -> Page:
    """Genres by slug, with how many live tracks, albums and artists carry each."""
    key = decode_cursor(cursor, "genres", (str,)) if cursor else None
    records = await conn.fetch(
        """
        SELECT g.id, g.name, g.slug,
            (SELECT count(*) FROM track_genres l JOIN tracks t ON t.id = l.track_id
              WHERE l.genre_id = g.id AND t.deleted_at IS NULL) AS track_count,
            (SELECT count(*) FROM album_genres l JOIN albums a ON a.id = l.album_id
              WHERE l.genre_id = g.id AND a.deleted_at IS NULL) AS album_count,
            (SELECT count(*) FROM artist_genres l JOIN artists a ON a.id = l.artist_id
              WHERE l.genre_id = g.id AND a.deleted_at IS NULL) AS artist_count
        FROM genres g
        WHERE $1::text IS NULL OR g.slug > $1::text
        ORDER BY g.slug LIMIT $2
        """,
        key[0] if key else None,
        limit + 1,
    )
    items = rows(records)
    more = len(items) > limit
    items = items[:limit]
    return Page(items, encode_cursor("genres", [items[-1]["slug"]]) if more and items else None)


async def _keyset_page(
    conn: asyncpg.Connection[Any],
    query: _Query,
    listing: Listing,
    sort: str,
    cursor: str | None,
    limit: int,
) -> Page:
    """One page of ``listing`` under ``query``'s filters, in ``sort`` order, after ``cursor``."""
    kind = f"{listing.name}:{sort}"
    key_sort = listing.sorts[sort]
    alias = listing.table.split()[-1]
    key = decode_cursor(cursor, kind, key_sort.types) if cursor else None
    order = _keyset(
        query, [f"{alias}.{c}" for c in key_sort.columns], key, descending=key_sort.descending
    )
    limit_param = query.param(limit + 1)
    records = await conn.fetch(
        f"""
        SELECT {listing.columns}, {alias}.{listing.norm}
        FROM {listing.table} WHERE {query.sql} ORDER BY {order} LIMIT {limit_param}
        """,
        *query.args,
    )
    return _page(rows(records), limit, kind, key_sort.columns, hidden=(listing.norm,))


def _page(
    items: list[Row], limit: int, kind: str, key_of: Sequence[str], *, hidden: Sequence[str]
) -> Page:
    more = len(items) > limit
    items = items[:limit]
    next_cursor = None
    if more and items:
        last = items[-1]
        next_cursor = encode_cursor(kind, [last[k] for k in key_of])
    for item in items:
        for name in hidden:
            item.pop(name, None)
    return Page(items, next_cursor)
