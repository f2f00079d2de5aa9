"""Who may see and change a playlist.

* The owner does everything; editors change the items of a collaborative playlist; viewers
  (and editors of a playlist that is no longer collaborative) read.
* Anyone may read a public playlist, and an unlisted one by its id.
* A private playlist is 404 to everyone else, exactly as if it did not exist; so is a
  deleted one (its owner finds it in the trash listing and restores it).
* Whoever can see a playlist but not change it is told so (403).

Every change first locks the playlist's row (``FOR UPDATE``): changes to one playlist
happen one after the other, and each sees the snapshot the previous one left.
"""

# ruff: noqa: S608 -- SQL here is assembled from fixed fragments; values are bind parameters.

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal

import asyncpg

from medley_core.errors import Forbidden, NotFound

Role = Literal["owner", "editor", "viewer"]
Row = dict[str, Any]

PLAYLIST_COLUMNS = """
    p.id, p.owner_id, p.name, p.description, p.visibility, p.collaborative, p.cover_url,
    p.snapshot_id, p.track_count, p.duration_ms, p.created_at, p.updated_at, p.deleted_at
"""


@dataclass(frozen=True)
class Access:
    """A playlist as one caller sees it: its row and the caller's role (None: a reader of
    a public or unlisted playlist)."""

    playlist: Row
    role: Role | None

    @property
    def playlist_id(self) -> uuid.UUID:
        playlist_id: uuid.UUID = self.playlist["id"]
        return playlist_id

    @property
    def can_edit(self) -> bool:
        return self.role == "owner" or (self.role == "editor" and self.playlist["collaborative"])


def not_found(playlist_id: uuid.UUID) -> NotFound:
    return NotFound(f"no playlist {playlist_id}", slug="playlist-not-found")


async def _load(
    conn: asyncpg.Connection[Any], playlist_id: uuid.UUID, viewer: uuid.UUID | None, lock: bool
) -> Access:
    record = await conn.fetchrow(
        f"""
        SELECT {PLAYLIST_COLUMNS}, c.role AS collaborator_role
        FROM playlists p
        LEFT JOIN collaborators c ON c.playlist_id = p.id AND c.user_id = $2
        WHERE p.id = $1 AND p.deleted_at IS NULL
        {"FOR UPDATE OF p" if lock else ""}
        """,
        playlist_id,
        viewer,
    )
    if record is None:
        raise not_found(playlist_id)
    row = dict(record)
    collaborator: Role | None = row.pop("collaborator_role")
    role: Role | None = (
        "owner" if viewer is not None and row["owner_id"] == viewer else collaborator
    )
    if role is None and row["visibility"] == "private":
        raise not_found(playlist_id)
    return Access(row, role)


async def readable(
    conn: asyncpg.Connection[Any], playlist_id: uuid.UUID, viewer: uuid.UUID | None
) -> Access:
    """The playlist if ``viewer`` (None: anonymous) may read it; 404 otherwise."""
    return await _load(conn, playlist_id, viewer, lock=False)


async def editable(
    conn: asyncpg.Connection[Any], playlist_id: uuid.UUID, user: uuid.UUID
) -> Access:
    """The playlist, locked, if ``user`` may change its items; 404 when they may not even
    see it, 403 when they may only read it."""
    access = await _load(conn, playlist_id, user, lock=True)
    if not access.can_edit:
        raise Forbidden(
            "only the owner and the editors of a collaborative playlist change it",
            slug="playlist-read-only",
        )
    return access


async def owned(conn: asyncpg.Connection[Any], playlist_id: uuid.UUID, user: uuid.UUID) -> Access:
    """The playlist, locked, if ``user`` owns it (renaming, sharing, deleting are the
    owner's); 404 when they may not see it, 403 when they may only read or edit it."""
    access = await _load(conn, playlist_id, user, lock=True)
    if access.role != "owner":
        raise Forbidden("only the owner does this", slug="playlist-owner-only")
    return access


async def owned_in_trash(
    conn: asyncpg.Connection[Any], playlist_id: uuid.UUID, user: uuid.UUID
) -> Row:
    """A deleted playlist of ``user``'s, locked (to restore it); 404 otherwise."""
    record = await conn.fetchrow(
        f"""
        SELECT {PLAYLIST_COLUMNS} FROM playlists p
        WHERE p.id = $1 AND p.owner_id = $2 AND p.deleted_at IS NOT NULL
        FOR UPDATE
        """,
        playlist_id,
        user,
    )
    if record is None:
        raise not_found(playlist_id)
    return dict(record)
