"""Erasing a deleted user's data (``users.user.deleted``), then saying so
(``playlists.user_data.erased``): their playlists (items, collaborators and mappings go
with them), smart playlists, saved albums and artists, listening and likes, their
collaborations on others' playlists, and their name. Items they added to someone else's
playlist stay there (the playlist is its owner's) without naming them.
"""

from __future__ import annotations

import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from medley_contracts import playlists as contracts
from medley_contracts.users import UserDataErasedV1
from medley_core.db import driver_connection
from medley_core.events.unit_of_work import collect
from medley_core.ids import utcnow
from medley_playlists import publishing
from medley_playlists.playlists import renew

CONTEXT = "playlists"


async def erase_user(session: AsyncSession, user_id: uuid.UUID, erasure_id: uuid.UUID) -> int:
    """Erase everything of ``user_id``; how many playlists went."""
    conn = await driver_connection(session)
    now = utcnow()
    gone = await conn.fetch("DELETE FROM playlists WHERE owner_id = $1 RETURNING id", user_id)
    publishing.playlists_deleted(session, [(r["id"], user_id) for r in gone], now, erased=True)
    named = await conn.fetch(
        "UPDATE items SET added_by = NULL WHERE added_by = $1 RETURNING playlist_id", user_id
    )
    await renew(session, conn, list({r["playlist_id"] for r in named}))
    for table, column in (
        ("collaborators", "user_id"),
        ("smart_playlists", "owner_id"),
        ("collection_entries", "user_id"),
        ("plays", "user_id"),
        ("likes", "user_id"),
        ("listen_batches", "user_id"),
        ("members", "id"),
    ):
        await conn.execute(f"DELETE FROM {table} WHERE {column} = $1", user_id)  # noqa: S608
    collect(
        session,
        contracts.USER_DATA_ERASED,
        UserDataErasedV1(user_id=user_id, erasure_id=erasure_id, context=CONTEXT, erased_at=now),
        subject=str(user_id),
    )
    return len(gone)
