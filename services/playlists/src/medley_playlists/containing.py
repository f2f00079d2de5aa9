"""Which of a user's playlists hold an album's tracks: what the gateway's composed album
read shows ("in your playlists"). One query, whatever the number of playlists."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_playlists.models import Item, Playlist

MAX_PLAYLISTS = 100


async def playlists_with_album(
    session: AsyncSession, owner_id: uuid.UUID, album_id: uuid.UUID
) -> list[dict[str, Any]]:
    """The owner's live playlists holding at least one track of ``album_id``, most
    recently changed first, with how many of their items are of it."""
    query = (
        select(Playlist.id, Playlist.name, Playlist.updated_at, func.count(col(Item.id)))
        .join(Item, col(Item.playlist_id) == col(Playlist.id))
        .where(
            col(Playlist.owner_id) == owner_id,
            col(Playlist.deleted_at).is_(None),
            col(Item.album_id) == album_id,
        )
        .group_by(col(Playlist.id), col(Playlist.name), col(Playlist.updated_at))
        .order_by(col(Playlist.updated_at).desc(), col(Playlist.id))
        .limit(MAX_PLAYLISTS)
    )
    rows = (await session.exec(query)).all()
    return [
        {"id": row[0], "name": row[1], "updated_at": row[2], "album_items": row[3]} for row in rows
    ]
