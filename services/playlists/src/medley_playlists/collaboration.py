"""Collaborators: the owner names users (by username) as ``editor`` or ``viewer``.

Editors change the items of a collaborative playlist; viewers read a private one. The
owner adds, changes and removes collaborators; a collaborator may leave on their own.
Usernames come from the projection of registered users (``users.user.registered``), so
naming one needs no call to the users service.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from sqlmodel.ext.asyncio.session import AsyncSession

from medley_core.db import driver_connection
from medley_core.errors import Forbidden, NotFound, Unprocessable
from medley_playlists import access

CollaboratorRole = Literal["editor", "viewer"]


async def add(
    session: AsyncSession,
    playlist_id: uuid.UUID,
    owner: uuid.UUID,
    username: str,
    role: CollaboratorRole,
) -> dict[str, Any]:
    """Name ``username`` a collaborator with ``role`` (or change their role)."""
    conn = await driver_connection(session)
    await access.owned(conn, playlist_id, owner)
    member = await conn.fetchrow("SELECT id, username FROM members WHERE username = $1", username)
    if member is None:
        raise Unprocessable(f"no user named {username!r}", field="username")
    if member["id"] == owner:
        raise Unprocessable(
            "the owner is not one of their playlist's collaborators", field="username"
        )
    record = await conn.fetchrow(
        """
        INSERT INTO collaborators (playlist_id, user_id, role) VALUES ($1, $2, $3)
        ON CONFLICT (playlist_id, user_id) DO UPDATE SET role = EXCLUDED.role
        RETURNING user_id, role, added_at
        """,
        playlist_id,
        member["id"],
        role,
    )
    assert record is not None
    return {**dict(record), "username": member["username"]}


async def listed(
    session: AsyncSession, playlist_id: uuid.UUID, viewer: uuid.UUID | None
) -> list[dict[str, Any]]:
    """The collaborators of a playlist the caller can see."""
    conn = await driver_connection(session)
    await access.readable(conn, playlist_id, viewer)
    records = await conn.fetch(
        """
        SELECT c.user_id, m.username, c.role, c.added_at
        FROM collaborators c LEFT JOIN members m ON m.id = c.user_id
        WHERE c.playlist_id = $1 ORDER BY c.added_at, c.user_id
        """,
        playlist_id,
    )
    return [dict(r) for r in records]


async def remove(
    session: AsyncSession, playlist_id: uuid.UUID, user: uuid.UUID, collaborator: uuid.UUID
) -> None:
    """The owner removes a collaborator, or a collaborator leaves."""
    conn = await driver_connection(session)
    seen = await access.readable(conn, playlist_id, user)
    if seen.role != "owner" and collaborator != user:
        raise Forbidden("only the owner removes other collaborators", slug="playlist-owner-only")
    gone = await conn.fetchval(
        "DELETE FROM collaborators WHERE playlist_id = $1 AND user_id = $2 RETURNING user_id",
        playlist_id,
        collaborator,
    )
    if gone is None:
        raise NotFound(f"user {collaborator} is not a collaborator of this playlist")


async def member_registered(
    session: AsyncSession, user_id: uuid.UUID, username: str, registered_at: datetime
) -> None:
    conn = await driver_connection(session)
    await conn.execute(
        """
        INSERT INTO members (id, username, registered_at) VALUES ($1, $2, $3)
        ON CONFLICT (id) DO UPDATE SET username = EXCLUDED.username
        """,
        user_id,
        username,
        registered_at,
    )
