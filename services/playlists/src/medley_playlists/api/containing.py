"""``/me/playlists/containing``: which of the caller's playlists hold an album's tracks
(the gateway's composed album read asks once per answer)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from medley_core.params import parse_id
from medley_playlists import containing
from medley_playlists.api.answers import Answer
from medley_playlists.api.deps import USERS, Session

User = NamedDependency[uuid.UUID]


class PlaylistWithAlbum(Answer):
    id: uuid.UUID
    name: str
    updated_at: datetime
    album_items: Annotated[int, msgspec.Meta(description="its items of the album")]


class PlaylistsWithAlbum(Answer):
    album_id: uuid.UUID
    items: Annotated[
        list[PlaylistWithAlbum], msgspec.Meta(description="most recently changed first")
    ]


class ContainingController(Controller):
    path = "/me/playlists"
    tags = ["playlists"]
    guards = USERS

    @get("/containing", summary="My playlists holding tracks of an album")
    async def containing(
        self,
        db_session: Session,
        user: User,
        album_id: Annotated[str, QueryParameter(max_length=64, description="a UUID")],
    ) -> PlaylistsWithAlbum:
        album = parse_id(album_id, "album_id")
        found = await containing.playlists_with_album(db_session, user, album)
        return msgspec.convert({"album_id": album, "items": found}, PlaylistsWithAlbum)
