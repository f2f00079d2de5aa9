"""``/playlists/{id}/expanded``: a playlist and its items in one answer, read in one session:
what the gateway's composed playlist read asks for (one call to this service, not two),
without a transaction around it (reads only)."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.params import QueryParameter

from medley_core.params import parse_id
from medley_core.responses import ServiceResponse
from medley_playlists import items, playlists
from medley_playlists.api.answers import Answer, ItemsPage, PlaylistOut, shaped
from medley_playlists.api.deps import PlaylistId, Session

Viewer = NamedDependency[uuid.UUID | None]
_encode = msgspec.json.Encoder().encode


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
    ) -> Response[PlaylistWithItems]:
        ident = parse_id(playlist_id, "playlist_id")
        playlist = await playlists.read(read_session, ident, viewer)
        page = await items.page(read_session, ident, viewer, limit=limit)
        shown = page.body
        head = shaped(playlist.body, PlaylistOut)
        if isinstance(shown, bytes):
            # The items page comes encoded already (the items read's fast path): nested as
            # it is, not decoded and encoded again (that was a fifth of this call's CPU).
            body = b"".join((b'{"playlist":', _encode(head), b',"items":', shown, b"}"))
            return ServiceResponse(body, media_type=MediaType.JSON)
        return ServiceResponse(PlaylistWithItems(playlist=head, items=shaped(shown, ItemsPage)))
