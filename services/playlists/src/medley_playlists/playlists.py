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
from medley_core.pagination import Page, SortKey, SqlQuery, fetch_page, sort_key
from medley_playlists import access, publishing
from medley_playlists.access import PLAYLIST_COLUMNS, Role, Row
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
    ``If-None-Match`` still holds (304), bytes when it is the answer's JSON already."""

    snapshot_id: str
    body: dict[str, Any] | bytes | None


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
    publishing.playlists_changed(session, [dict(r) for r in records if r["deleted_at"] is None])


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
    publishing.playlists_changed(session, [row], created=True)
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
    publishing.playlists_changed(session, [row])
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
    publishing.playlists_deleted(session, [(playlist_id, user)], now)


async def restore(session: AsyncSession, playlist_id: uuid.UUID, user: uuid.UUID) -> dict[str, Any]:
    conn = await driver_connection(session)
    await access.owned_in_trash(conn, playlist_id, user)
    await conn.execute("UPDATE playlists SET deleted_at = NULL WHERE id = $1", playlist_id)
    row = await advance(conn, playlist_id)
    publishing.playlists_changed(session, [row])
    return present(row, "owner")


# --- lists ---------------------------------------------------------------------------------


def _sort(sort: Sort, order: Order) -> SortKey:
    """One order of a list of playlists ("created" is the id's order: ids are UUIDv7)."""
    name = f"playlists:{sort}:{order}"
    descending = order == "desc"
    if sort == "name":
        return sort_key(name, ("name_key", str), descending=descending)
    if sort == "updated":
        return sort_key(name, ("updated_at", datetime), descending=descending)
    return sort_key(name, descending=descending)


@dataclass(frozen=True)
class ListQuery:
    sort: Sort = "updated"
    order: Order = "desc"
    limit: int = 50
    cursor: str | None = None


async def _page(
    conn: asyncpg.Connection[Any], source: str, query: SqlQuery, listed: ListQuery, role: str
) -> Page[dict[str, Any]]:
    """One keyset page of the playlists ``source`` and ``query`` select, as shown."""
    page = await fetch_page(
        conn,
        columns=f"{PLAYLIST_COLUMNS}, {role} AS role",
        source=source,
        query=query,
        sort=_sort(listed.sort, listed.order),
        cursor=listed.cursor,
        limit=listed.limit,
        alias="p",
    )
    return page.map(lambda row: present(row, row["role"]))


async def list_own(
    session: AsyncSession, user: uuid.UUID, scope: Scope, listed: ListQuery
) -> Page[dict[str, Any]]:
    """The caller's playlists (``mine``), those shared with them (``shared``), or their
    deleted ones (``trash``)."""
    conn = await driver_connection(session)
    query = SqlQuery()
    if scope == "shared":
        query.where(f"c.user_id = {query.param(user)}")
        query.where("p.deleted_at IS NULL")
        source = "playlists p JOIN collaborators c ON c.playlist_id = p.id"
        return await _page(conn, source, query, listed, "c.role")
    query.where(f"p.owner_id = {query.param(user)}")
    query.where("p.deleted_at IS NOT NULL" if scope == "trash" else "p.deleted_at IS NULL")
    return await _page(conn, "playlists p", query, listed, "'owner'")


async def list_public(
    session: AsyncSession, owner: uuid.UUID, listed: ListQuery
) -> Page[dict[str, Any]]:
    """A user's public playlists (unlisted ones are found by id only)."""
    conn = await driver_connection(session)
    query = SqlQuery()
    query.where(f"p.owner_id = {query.param(owner)}")
    query.where("p.visibility = 'public' AND p.deleted_at IS NULL")
    return await _page(conn, "playlists p", query, listed, "NULL::text")
