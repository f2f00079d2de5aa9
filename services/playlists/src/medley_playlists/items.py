"""A playlist's items: add, remove, move a range, replace all, and read them in order.

Order is kept by the items' order keys (:mod:`medley_playlists.ordering`), compared byte by
byte: adding or moving writes only the rows added or moved, never renumbers the others. A
playlist's keys are rewritten (rebalanced) only when a new key would pass the bound.

Positions are 0-based, as in the Spotify Web API, and every position in one call refers to
the playlist as it was before the call. A move takes ``range_length`` items from
``range_start`` and puts them before the item at ``insert_before`` (the end when it equals
the length). Each change is one transaction holding the playlist's row lock: it checks the
snapshot it was sent against, changes the items, keeps the cached count and duration exact,
gives the playlist its next snapshot and records one ``playlists.playlist.updated``.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import msgspec
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_core.conditional import if_none_match_hits
from medley_core.db import driver_connection
from medley_core.errors import Unprocessable
from medley_core.ids import new_id
from medley_core.pagination import sort_key
from medley_playlists import access, ordering, publishing
from medley_playlists.access import PLAYLIST_COLUMNS
from medley_playlists.playlists import ANYTHING, Expected, Versioned, advance
from medley_playlists.settings import MAX_ITEMS

#: The most tracks one call adds (the Spotify Web API's bound).
MAX_PER_CALL = 100
MAX_PAGE = MAX_ITEMS
# Items in their order: the order key is unique in a playlist, its own tie-breaker.
IN_ORDER = sort_key("items", tie_breaker=("sort_key", str))


@dataclass(frozen=True)
class Removal:
    """One item to remove: by its id, or as the track found at a position (both must
    agree), or every occurrence of a track (``track_id`` alone)."""

    item_id: uuid.UUID | None = None
    track_id: uuid.UUID | None = None
    position: int | None = None


@dataclass(frozen=True)
class Changed:
    """What a change answers: the playlist's new snapshot."""

    snapshot_id: str


# --- reading -------------------------------------------------------------------------------


# A page of items: each one's JSON as the items table keeps it (``shown_json``, a stored
# generated column), in order, as bytes (migration 0004's ``shown_page``: an index walk in
# key order whatever the planner's estimate, no sort). Only the position is added here: a
# whole 10,000-item playlist is one index range of ready JSON, with no row decoded into
# objects, no JSON built and no text decoded or encoded per read.
PAGE_JSON = "SELECT playlists.shown_page($1, $2, $3 + 1)"
# The key of the last item of a page that has a next one (the cursor after it).
NTH_KEY = "SELECT playlists.nth_key($1, $2, $3)"


@functools.cache
def _positions() -> tuple[bytes, ...]:
    """What goes before each item of a page but the first: ``,{"position":N,`` for every
    position a playlist has (made once)."""
    return tuple(b',{"position":%d,' % n for n in range(MAX_ITEMS + 1))


def _listed(start: int, shown: Sequence[bytes]) -> list[bytes]:
    """The items' JSON with their positions, as pieces to join: ``{"position":N,`` then the
    item's JSON, comma-separated."""
    end = start + len(shown)
    made = _positions()
    heads = (
        made[start:end]
        if end <= len(made)
        else [b',{"position":%d,' % n for n in range(start, end)]
    )
    pieces: list[bytes] = [b""] * (2 * len(shown))
    pieces[0::2] = heads
    pieces[1::2] = shown
    if pieces:
        pieces[0] = pieces[0][1:]  # no comma before the first
    return pieces


async def page(
    session: AsyncSession,
    playlist_id: uuid.UUID,
    viewer: uuid.UUID | None,
    *,
    limit: int = 100,
    cursor: str | None = None,
    if_none_match: str | None = None,
) -> Versioned:
    """Items in order with their tracks' details from the projection; a deleted track's
    items stay, ``available: false``. The body is the answer's JSON, already encoded."""
    conn = await driver_connection(session)
    seen = await access.readable(conn, playlist_id, viewer)
    snapshot = str(seen.playlist["snapshot_id"])
    if if_none_match_hits(if_none_match, snapshot):
        return Versioned(snapshot, None)
    after: str | None = None
    start = 0
    if cursor is not None:
        [after] = IN_ORDER.after(cursor) or [None]
        start = await conn.fetchval(
            "SELECT count(*) FROM items WHERE playlist_id = $1 AND sort_key <= $2",
            playlist_id,
            after,
        )
    shown: list[bytes] = await conn.fetchval(PAGE_JSON, playlist_id, after, limit)
    next_cursor = None
    if len(shown) > limit:
        shown = shown[:limit]
        last = await conn.fetchval(NTH_KEY, playlist_id, after, limit)
        next_cursor = IN_ORDER.cursor_after({"sort_key": last})
    # The answer's bytes, as ItemsPage would encode them, joined once.
    body = b"".join(
        [
            b'{"items":[',
            *_listed(start, shown),
            b'],"next_cursor":',
            msgspec.json.encode(next_cursor),
            b',"snapshot_id":',
            msgspec.json.encode(snapshot),
            b"}",
        ]
    )
    return Versioned(snapshot, body, next_cursor)


# --- helpers -------------------------------------------------------------------------------


async def addable(conn: asyncpg.Connection[Any], track_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """The track to store for each id, in order: a merged track's survivor in its place.
    422 naming the ids the projection does not know or the catalog deleted — without asking
    the catalog: the projection is what the service knows."""
    records = await conn.fetch(
        """
        SELECT given.id AS given, given.n, t.status,
            coalesce(s.id, t.id) AS track_id,
            coalesce(s.status, t.status) AS final_status
        FROM unnest($1::uuid[]) WITH ORDINALITY AS given(id, n)
        LEFT JOIN tracks t ON t.id = given.id
        LEFT JOIN tracks s ON s.id = t.merged_into
        ORDER BY given.n
        """,
        list(track_ids),
    )
    unknown = [str(r["given"]) for r in records if r["status"] is None]
    if unknown:
        raise Unprocessable(
            f"unknown tracks: {', '.join(unknown[:10])}",
            slug="unknown-tracks",
            field="track_ids",
            unknown=unknown,
        )
    deleted = [str(r["given"]) for r in records if r["final_status"] == "deleted"]
    if deleted:
        raise Unprocessable(
            f"tracks deleted from the catalog: {', '.join(deleted[:10])}",
            slug="deleted-tracks",
            field="track_ids",
            deleted=deleted,
        )
    return [r["track_id"] for r in records]


def _room(count: int, adding: int) -> None:
    if count + adding > MAX_ITEMS:
        raise Unprocessable(
            f"a playlist holds at most {MAX_ITEMS} items ({count} now, {adding} more asked)",
            slug="too-many-items",
            field="track_ids",
            limit=MAX_ITEMS,
        )


async def _neighbours(
    conn: asyncpg.Connection[Any], playlist_id: uuid.UUID, count: int, index: int
) -> tuple[str | None, str | None]:
    """The keys just before and at ``index`` (None past either end) in a playlist of
    ``count`` items: the index walked from the nearer end (migration 0004's function)."""
    low, high = await conn.fetchval(
        "SELECT playlists.keys_around($1, $2, $3)", playlist_id, count, index
    )
    return low, high


async def rebalance(conn: asyncpg.Connection[Any], playlist_id: uuid.UUID) -> None:
    """Rewrite every key of a (locked) playlist evenly apart, in the same order."""
    ids = [
        r["id"]
        for r in await conn.fetch(
            "SELECT id FROM items WHERE playlist_id = $1 ORDER BY sort_key", playlist_id
        )
    ]
    # Keys of rows not yet rewritten may equal new ones until the statement ends.
    await conn.execute("SET CONSTRAINTS uq_items_playlist_id_sort_key DEFERRED")
    await conn.execute(
        """
        UPDATE items SET sort_key = k.sort_key
        FROM unnest($1::uuid[], $2::text[]) AS k(id, sort_key) WHERE items.id = k.id
        """,
        ids,
        ordering.spread(len(ids)),
    )
    await conn.execute("SET CONSTRAINTS uq_items_playlist_id_sort_key IMMEDIATE")


async def _keys_at(
    conn: asyncpg.Connection[Any], playlist_id: uuid.UUID, length: int, index: int, count: int
) -> list[str]:
    """``count`` new keys for items going before the item at ``index`` of a playlist of
    ``length`` items, rebalancing the playlist first when they would be too long."""
    keys = ordering.keys_between(*await _neighbours(conn, playlist_id, length, index), count)
    if ordering.needs_rebalance(keys):
        await rebalance(conn, playlist_id)
        keys = ordering.keys_between(*await _neighbours(conn, playlist_id, length, index), count)
    return keys


async def insert(
    conn: asyncpg.Connection[Any],
    playlist_id: uuid.UUID,
    tracks: Sequence[uuid.UUID],
    keys: Sequence[str],
    added_by: uuid.UUID | None,
) -> tuple[int, int]:
    """Insert items with what they show of their tracks (in the projection); how many,
    and their total duration."""
    totals = await conn.fetchrow(
        """
        WITH added AS (
            INSERT INTO items (id, playlist_id, track_id, sort_key, added_by, title,
                artist_names, album_id, album_title, duration_ms, available)
            SELECT n.id, $2, n.track_id, n.sort_key, $3, t.title, t.artist_names, t.album_id,
                t.album_title, t.duration_ms, t.status IN ('active', 'pending')
            FROM unnest($1::uuid[], $4::uuid[], $5::text[]) AS n(id, track_id, sort_key)
            JOIN tracks t ON t.id = n.track_id
            RETURNING duration_ms
        )
        SELECT count(*)::int AS n, coalesce(sum(duration_ms), 0)::bigint AS duration_ms
        FROM added
        """,
        [new_id() for _ in tracks],
        playlist_id,
        added_by,
        list(tracks),
        list(keys),
    )
    assert totals is not None
    return totals["n"], totals["duration_ms"]


async def _commit_change(
    session: AsyncSession,
    conn: asyncpg.Connection[Any],
    playlist_id: uuid.UUID,
    *,
    tracks: int,
    duration_ms: int,
) -> Changed:
    row = await advance(conn, playlist_id, tracks=tracks, duration_ms=duration_ms)
    publishing.playlists_changed(session, [row])
    return Changed(str(row["snapshot_id"]))


# --- changes -------------------------------------------------------------------------------


async def add(
    session: AsyncSession,
    playlist_id: uuid.UUID,
    user: uuid.UUID,
    track_ids: Sequence[uuid.UUID],
    *,
    position: int | None = None,
    expected: Expected = ANYTHING,
) -> Changed:
    """Add up to 100 tracks (duplicates allowed) before ``position``, or at the end."""
    if not 1 <= len(track_ids) <= MAX_PER_CALL:
        raise Unprocessable(
            f"add between 1 and {MAX_PER_CALL} tracks per call",
            field="track_ids",
            limit=MAX_PER_CALL,
        )
    conn = await driver_connection(session)
    seen = await access.editable(conn, playlist_id, user)
    expected.check(seen.playlist["snapshot_id"])
    count = seen.playlist["track_count"]
    if position is None:
        position = count
    if not 0 <= position <= count:
        raise Unprocessable(
            f"position must be between 0 and {count} (the playlist's length)", field="position"
        )
    _room(count, len(track_ids))
    resolved = await addable(conn, track_ids)
    keys = await _keys_at(conn, playlist_id, count, position, len(resolved))
    count, duration_ms = await insert(conn, playlist_id, resolved, keys, user)
    return await _commit_change(session, conn, playlist_id, tracks=count, duration_ms=duration_ms)


async def _ids_to_remove(
    conn: asyncpg.Connection[Any], playlist_id: uuid.UUID, removals: Sequence[Removal]
) -> list[uuid.UUID]:
    """The item ids the removals name; 422 for one that names nothing in the playlist."""
    rows = await conn.fetch(
        """
        SELECT id, track_id, (row_number() OVER (ORDER BY sort_key) - 1)::int AS position
        FROM items WHERE playlist_id = $1
        """,
        playlist_id,
    )
    by_id = {r["id"]: r for r in rows}
    by_position = {r["position"]: r for r in rows}
    ids: dict[uuid.UUID, None] = {}
    for index, removal in enumerate(removals):
        if removal.item_id is not None:
            if removal.item_id not in by_id:
                raise Unprocessable(
                    f"no item {removal.item_id} in this playlist", field=f"items.{index}.id"
                )
            ids[removal.item_id] = None
        elif removal.position is not None:
            found = by_position.get(removal.position)
            if found is None or found["track_id"] != removal.track_id:
                raise Unprocessable(
                    f"the item at position {removal.position} is not track {removal.track_id}",
                    field=f"items.{index}.position",
                )
            ids[found["id"]] = None
        else:
            matching = [r["id"] for r in rows if r["track_id"] == removal.track_id]
            if not matching:
                raise Unprocessable(
                    f"track {removal.track_id} is not in this playlist",
                    field=f"items.{index}.track_id",
                )
            ids.update(dict.fromkeys(matching))
    return list(ids)


async def remove(
    session: AsyncSession,
    playlist_id: uuid.UUID,
    user: uuid.UUID,
    removals: Sequence[Removal],
    *,
    expected: Expected = ANYTHING,
) -> Changed:
    if not 1 <= len(removals) <= MAX_PER_CALL:
        raise Unprocessable(
            f"remove between 1 and {MAX_PER_CALL} items per call",
            field="items",
            limit=MAX_PER_CALL,
        )
    conn = await driver_connection(session)
    seen = await access.editable(conn, playlist_id, user)
    expected.check(seen.playlist["snapshot_id"])
    ids = await _ids_to_remove(conn, playlist_id, removals)
    gone = await conn.fetchrow(
        """
        WITH gone AS (DELETE FROM items WHERE playlist_id = $1 AND id = ANY($2::uuid[])
                      RETURNING duration_ms)
        SELECT count(*)::int AS n, coalesce(sum(duration_ms), 0)::bigint AS duration_ms
        FROM gone
        """,
        playlist_id,
        ids,
    )
    assert gone is not None
    return await _commit_change(
        session, conn, playlist_id, tracks=-gone["n"], duration_ms=-gone["duration_ms"]
    )


# What a move reads, in one statement: the ids of the range and the keys on either side of
# where it goes (migration 0005's function: index walks, each position from the nearer end
# or from the other position's key when that is closer, never a sort of the playlist). Only
# the rows moved are fetched; nothing else of the playlist is read.
MOVING = "SELECT moved, around FROM playlists.moving($1, $2, $3, $4, $5)"
# What a move writes, in one statement: the moved rows' keys (nothing else of them), and the
# playlist's next snapshot (as playlists.advance gives it; the count and duration stay).
MOVED = f"""
WITH moved AS (
    UPDATE items SET sort_key = k.sort_key
    FROM unnest($2::uuid[], $3::text[]) AS k(id, sort_key) WHERE items.id = k.id
)
UPDATE playlists p SET snapshot_id = $4, updated_at = now() WHERE p.id = $1
RETURNING {PLAYLIST_COLUMNS}
"""  # noqa: S608 -- fixed fragments; values are bind parameters


async def move(
    session: AsyncSession,
    playlist_id: uuid.UUID,
    user: uuid.UUID,
    *,
    range_start: int,
    insert_before: int,
    range_length: int = 1,
    expected: Expected = ANYTHING,
) -> Changed:
    """Move ``range_length`` items from ``range_start`` to before ``insert_before``. Moving a
    range to where it already is changes nothing (the snapshot stays)."""
    conn = await driver_connection(session)
    seen = await access.editable(conn, playlist_id, user)
    expected.check(seen.playlist["snapshot_id"])
    count = seen.playlist["track_count"]
    if not 0 <= range_start < count:
        raise Unprocessable(
            f"range_start must be between 0 and {count - 1}"
            if count
            else "the playlist is empty: nothing to move",
            field="range_start",
        )
    if not 1 <= range_length <= count - range_start:
        raise Unprocessable(
            f"range_length must be between 1 and {count - range_start} from that start",
            field="range_length",
        )
    if not 0 <= insert_before <= count:
        raise Unprocessable(f"insert_before must be between 0 and {count}", field="insert_before")
    if range_start <= insert_before <= range_start + range_length:
        return Changed(str(seen.playlist["snapshot_id"]))
    found = await conn.fetchrow(
        MOVING, playlist_id, count, range_start, range_length, insert_before
    )
    assert found is not None
    moved: list[uuid.UUID] = found["moved"]
    low, high = found["around"]
    keys = ordering.keys_between(low, high, len(moved))
    if ordering.needs_rebalance(keys):
        await rebalance(conn, playlist_id)
        keys = await _keys_at(conn, playlist_id, count, insert_before, len(moved))
    row = await conn.fetchrow(MOVED, playlist_id, moved, keys, new_id())
    assert row is not None
    publishing.playlists_changed(session, [dict(row)])
    return Changed(str(row["snapshot_id"]))


async def replace(
    session: AsyncSession,
    playlist_id: uuid.UUID,
    user: uuid.UUID,
    track_ids: Sequence[uuid.UUID],
    *,
    expected: Expected = ANYTHING,
) -> Changed:
    """Replace every item with ``track_ids`` (up to the playlist's bound; none empties it)."""
    _room(0, len(track_ids))
    conn = await driver_connection(session)
    seen = await access.editable(conn, playlist_id, user)
    expected.check(seen.playlist["snapshot_id"])
    resolved = await addable(conn, track_ids) if track_ids else []
    await conn.execute("DELETE FROM items WHERE playlist_id = $1", playlist_id)
    count, duration_ms = await insert(
        conn, playlist_id, resolved, ordering.spread(len(resolved)), user
    )
    return await _commit_change(
        session,
        conn,
        playlist_id,
        tracks=count - seen.playlist["track_count"],
        duration_ms=duration_ms - seen.playlist["duration_ms"],
    )
