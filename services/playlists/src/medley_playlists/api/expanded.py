"""``/playlists/{id}/expanded``: a playlist and its items in one answer, read in one session:
what the gateway's composed playlist read asks for (one call to this service, not two),
without a transaction around it (reads only)."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from medley_core.params import parse_id
from medley_playlists import items, playlists
from medley_playlists.api.answers import Answer, ItemsPage, PlaylistOut, shaped
from medley_playlists.api.deps import PlaylistId, Session

Viewer = NamedDependency[uuid.UUID | None]


class PlaylistWithItems(Answer):
    playlist: PlaylistOut
    items: ItemsPage


class ExpandedController(Controller):
    path = "/playlists/{playlist_id:str}/expanded"
    tags = ["playlists"]

    @get("/", summary="A playlist and its items (one page of up to 10,000), in one answer")
    async def read(
        self,
        playlist_id: PlaylistId,
        read_session: Session,
        viewer: Viewer,
        limit: Annotated[int, QueryParameter(ge=1, le=items.MAX_PAGE)] = 100,
    ) -> PlaylistWithItems:
        ident = parse_id(playlist_id, "playlist_id")
        playlist = await playlists.read(read_session, ident, viewer)
        page = await items.page(read_session, ident, viewer, limit=limit)
        # The items page comes encoded already (the 10,000-item read's fast path); a page
        # here is at most ``limit`` items, decoded once to nest it.
        shown = page.body
        items_page = (
            msgspec.json.decode(shown, type=ItemsPage)
            if isinstance(shown, bytes)
            else shaped(shown, ItemsPage)
        )
        return PlaylistWithItems(playlist=shaped(playlist.body, PlaylistOut), items=items_page)
