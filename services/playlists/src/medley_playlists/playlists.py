"""Playlists themselves: create, read, change, delete (to the trash) and restore, and the
lists (mine, shared with me, my trash, a user's public ones) as keyset pages.

Every change gives the playlist a new ``snapshot_id``, its version: a change sent against
another one (``If-Match: "<snapshot_id>"``, or ``snapshot_id`` in the body) is refused with
412 and the current snapshot, so two people editing at once never silently overwrite each
other; a change naming no snapshot applies to the latest. A read names its snapshot in
its ``ETag`` and answers 304 to an ``If-None-Match`` that still holds.
"""

# ruff: noqa: S608 -- SQL here is assembled from fixed fragments; values are bind parameters.

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeAlias

import asyncpg
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_core.conditional import entity_tag, if_match_holds, if_none_match_hits
from medley_core.db import driver_connection
from medley_core.errors import PreconditionFailed
from medley_core.ids import new_id, utcnow
from medley_playlists import access, publishing
from medley_playlists.access import PLAYLIST_COLUMNS, Role, Row
from medley_playlists.pages import Page, decode_cursor, encode_cursor
from medley_playlists.text import fold

Visibility = Literal["private", "unlisted", "public"]
Scope = Literal["mine", "shared", "trash"]
Sort = Literal["name", "updated", "created"]
Order = Literal["asc", "desc"]


@dataclass(frozen=True)
class Expected:
    """The snapshot a change was made against: an ``If-Match`` header and/or the body's
    ``snapshot_id`` (either may be absent: then the change applies to the latest)."""

    if_match: str | None = None
    snapshot_id: str | None = None

    def check(self, current: uuid.UUID) -> None:
        now = str(current)
        if if_match_holds(self.if_match, now) and self.snapshot_id in (None, now):
            return
        raise PreconditionFailed(
            f"the playlist changed since that snapshot; it is now at {now}: read it again "
            "and send the change against that",
            slug="stale-snapshot",
            snapshot_id=now,
            headers={"ETag": entity_tag(now)},
        )


ANYTHING = Expected()


@dataclass(frozen=True)
class Versioned:
    """A read's answer and the snapshot it shows; ``body`` is None when the caller's
    ``If-None-Match`` still holds (304)."""

    snapshot_id: str
    body: dict[str, Any] | None


@dataclass(frozen=True)
class Fields:
    """What a create or a change sets; on a change, None leaves a field as it is (``unset``
    lists the nullable ones to clear)."""

    name: str | None = None
    description: str | None = None
    visibility: Visibility | None = None
    collaborative: bool | None = None
    cover_url: str | None = None
    unset: frozenset[str] = frozenset()


def present(row: Row, role: Role | None) -> dict[str, Any]:
    """A playlist as the API shows it to a caller with ``role``."""
    return {
        "id": row["id"],
        "owner_id": row["owner_id"],
        "name": row["name"],
        "description": row["description"],
        "visibility": row["visibility"],
        "collaborative": row["collaborative"],
        "cover_url": row["cover_url"],
        "snapshot_id": str(row["snapshot_id"]),
        "track_count": row["track_count"],
        "duration_ms": row["duration_ms"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "deleted_at": row["deleted_at"],
        "role": role,
    }


async def advance(
    conn: asyncpg.Connection[Any],
    playlist_id: uuid.UUID,
    *,
    tracks: int = 0,
    duration_ms: int = 0,
) -> Row:
    """Give a (locked) playlist its next snapshot, with its cached count and duration moved
    by what the change added or took away; its new row."""
    record = await conn.fetchrow(
        f"""
        UPDATE playlists p SET snapshot_id = $2, updated_at = now(),
            track_count = track_count + $3, duration_ms = duration_ms + $4
        WHERE p.id = $1
        RETURNING {PLAYLIST_COLUMNS}
        """,
        playlist_id,
        new_id(),
        tracks,
        duration_ms,
    )
    assert record is not None
    return dict(record)


async def lock(conn: asyncpg.Connection[Any], playlist_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """Lock playlists in id order (every writer of several takes them in this order, and a
    request changing one locks it before its items: no deadlock); the ids that exist."""
    records = await conn.fetch(
        "SELECT id FROM playlists WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE",
        list(playlist_ids),
    )
    return [r["id"] for r in records]


async def renew(
    session: AsyncSession, conn: asyncpg.Connection[Any], playlist_ids: Sequence[uuid.UUID]
) -> None:
    """Playlists whose items show something else now (a catalog change, a merge, an erased
    user): each gets its next snapshot and its count and duration recomputed from its
    items, and the live ones one ``updated`` event."""
    locked = await lock(conn, playlist_ids)
    if not locked:
        return
    records = await conn.fetch(
        f"""
        UPDATE playlists p SET snapshot_id = n.snapshot_id,
            track_count = coalesce(s.n, 0), duration_ms = coalesce(s.duration_ms, 0)
        FROM unnest($1::uuid[], $2::uuid[]) AS n(id, snapshot_id)
        LEFT JOIN (
            SELECT i.playlist_id, count(*)::int AS n,
                coalesce(sum(i.duration_ms), 0)::bigint AS duration_ms
            FROM items i WHERE i.playlist_id = ANY($1::uuid[])
            GROUP BY i.playlist_id
        ) s ON s.playlist_id = n.id
        WHERE p.id = n.id
        RETURNING {PLAYLIST_COLUMNS}
        """,
        locked,
        [new_id() for _ in locked],
    )
    await publishing.playlists_changed(
        session, [dict(r) for r in records if r["deleted_at"] is None]
    )


# Fills a new playlist (its id) with items before it is announced: (count, duration).
Filler: TypeAlias = "Callable[[asyncpg.Connection[Any], uuid.UUID], Awaitable[tuple[int, int]]]"


async def create(
    session: AsyncSession, owner: uuid.UUID, fields: Fields, fill: Filler | None = None
) -> dict[str, Any]:
    """A new playlist (with the items ``fill`` adds), announced once with what it holds."""
    conn = await driver_connection(session)
    assert fields.name is not None
    record = await conn.fetchrow(
        f"""
        INSERT INTO playlists AS p (id, owner_id, name, name_key, description, visibility,
            collaborative, cover_url, snapshot_id)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        RETURNING {PLAYLIST_COLUMNS}
        """,
        new_id(),
        owner,
        fields.name,
        fold(fields.name),
        fields.description,
        fields.visibility or "private",
        bool(fields.collaborative),
        fields.cover_url,
        new_id(),
    )
    assert record is not None
    row = dict(record)
    if fill is not None:
        count, duration_ms = await fill(conn, row["id"])
        row = await advance(conn, row["id"], tracks=count, duration_ms=duration_ms)
    await publishing.playlists_changed(session, [row], created=True)
    return present(row, "owner")


async def read(
    session: AsyncSession,
    playlist_id: uuid.UUID,
    viewer: uuid.UUID | None,
    *,
    if_none_match: str | None = None,
) -> Versioned:
    conn = await driver_connection(session)
    seen = await access.readable(conn, playlist_id, viewer)
    snapshot = str(seen.playlist["snapshot_id"])
    if if_none_match_hits(if_none_match, snapshot):
        return Versioned(snapshot, None)
    return Versioned(snapshot, present(seen.playlist, seen.role))


async def change(
    session: AsyncSession,
    playlist_id: uuid.UUID,
    user: uuid.UUID,
    fields: Fields,
    expected: Expected = ANYTHING,
) -> dict[str, Any]:
    """The owner renames, describes, shares or unshares a playlist."""
    conn = await driver_connection(session)
    owned = await access.owned(conn, playlist_id, user)
    expected.check(owned.playlist["snapshot_id"])
    changed: dict[str, Any] = {}
    for name in ("name", "description", "visibility", "collaborative", "cover_url"):
        value = getattr(fields, name)
        if value is None and name not in fields.unset:
            continue
        if owned.playlist[name] != value:
            changed[name] = value
    if not changed:  # nothing new: no new snapshot, no event
        return present(owned.playlist, "owner")
    if "name" in changed:
        changed["name_key"] = fold(changed["name"])
    assignments = ", ".join(f"{column} = ${i}" for i, column in enumerate(changed, start=3))
    record = await conn.fetchrow(
        f"""
        UPDATE playlists p SET {assignments}, snapshot_id = $2, updated_at = now()
        WHERE p.id = $1 RETURNING {PLAYLIST_COLUMNS}
        """,
        playlist_id,
        new_id(),
        *changed.values(),
    )
    assert record is not None
    row = dict(record)
    await publishing.playlists_changed(session, [row])
    return present(row, "owner")


async def delete(
    session: AsyncSession, playlist_id: uuid.UUID, user: uuid.UUID, expected: Expected = ANYTHING
) -> None:
    """To the owner's trash: invisible to everyone, restorable by the owner."""
    conn = await driver_connection(session)
    owned = await access.owned(conn, playlist_id, user)
    expected.check(owned.playlist["snapshot_id"])
    now = utcnow()
    await conn.execute("UPDATE playlists SET deleted_at = $2 WHERE id = $1", playlist_id, now)
    await publishing.playlists_deleted(session, [(playlist_id, user)], now)


async def restore(session: AsyncSession, playlist_id: uuid.UUID, user: uuid.UUID) -> dict[str, Any]:
    conn = await driver_connection(session)
    await access.owned_in_trash(conn, playlist_id, user)
    await conn.execute("UPDATE playlists SET deleted_at = NULL WHERE id = $1", playlist_id)
    row = await advance(conn, playlist_id)
    await publishing.playlists_changed(session, [row])
    return present(row, "owner")


# --- lists ---------------------------------------------------------------------------------

# Each sort's key columns (the id last, to break ties) and their types in a cursor.
SORT_KEYS: dict[Sort, tuple[tuple[str, ...], tuple[type, ...]]] = {
    "name": (("p.name_key", "p.id"), (str, uuid.UUID)),
    "updated": (("p.updated_at", "p.id"), (datetime, uuid.UUID)),
    "created": (("p.id",), (uuid.UUID,)),
}


@dataclass(frozen=True)
class ListQuery:
    sort: Sort = "updated"
    order: Order = "desc"
    limit: int = 50
    cursor: str | None = None


async def _page(
    conn: asyncpg.Connection[Any],
    source: str,
    where: list[str],
    args: list[Any],
    query: ListQuery,
    role: str,
) -> Page:
    """One keyset page of the playlists ``source`` and ``where`` select."""
    columns, types = SORT_KEYS[query.sort]
    listing = f"playlists:{query.sort}:{query.order}"
    if query.cursor is not None:
        after = decode_cursor(query.cursor, listing, types)
        placeholders = ", ".join(f"${len(args) + i + 1}" for i in range(len(after)))
        comparison = "<" if query.order == "desc" else ">"
        where.append(f"({', '.join(columns)}) {comparison} ({placeholders})")
        args.extend(after)
    direction = "DESC" if query.order == "desc" else "ASC"
    records = await conn.fetch(
        f"""
        SELECT {PLAYLIST_COLUMNS}, {role} AS role, p.name_key FROM {source}
        WHERE {" AND ".join(where)}
        ORDER BY {", ".join(f"{c} {direction}" for c in columns)}
        LIMIT {int(query.limit) + 1}
        """,
        *args,
    )
    rows = [dict(r) for r in records]
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    next_cursor = None
    if more:
        last = rows[-1]
        next_cursor = encode_cursor(listing, [last[c.removeprefix("p.")] for c in columns])
    return Page([present(r, r["role"]) for r in rows], next_cursor)


async def list_own(session: AsyncSession, user: uuid.UUID, scope: Scope, query: ListQuery) -> Page:
    """The caller's playlists (``mine``), those shared with them (``shared``), or their
    deleted ones (``trash``)."""
    conn = await driver_connection(session)
    if scope == "shared":
        return await _page(
            conn,
            "playlists p JOIN collaborators c ON c.playlist_id = p.id",
            ["c.user_id = $1", "p.deleted_at IS NULL"],
            [user],
            query,
            "c.role",
        )
    live = "p.deleted_at IS NOT NULL" if scope == "trash" else "p.deleted_at IS NULL"
    return await _page(conn, "playlists p", ["p.owner_id = $1", live], [user], query, "'owner'")


async def list_public(session: AsyncSession, owner: uuid.UUID, query: ListQuery) -> Page:
    """A user's public playlists (unlisted ones are found by id only)."""
    conn = await driver_connection(session)
    return await _page(
        conn,
        "playlists p",
        ["p.owner_id = $1", "p.visibility = 'public'", "p.deleted_at IS NULL"],
        [owner],
        query,
        "NULL::text",
    )
