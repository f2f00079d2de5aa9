"""A playlist's items over HTTP: read in order, add, remove, move a range, replace.

Each change answers ``{snapshot_id}`` with the ``ETag`` of it; sent with a stale snapshot
(``If-Match`` or ``snapshot_id`` in the body) it is a 412 with the current one.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from medley_core.api_params import Cursor
from medley_core.params import parse_id
from medley_playlists import items
from medley_playlists.api.answers import ItemsPage, Snapshot
from medley_playlists.api.deps import USERS, PlaylistId, Session, changed, expected, versioned
from medley_playlists.api.schemas import AddItemsIn, MoveItemsIn, RemoveItemsIn, ReplaceItemsIn

User = NamedDependency[uuid.UUID]
Viewer = NamedDependency[uuid.UUID | None]


class ItemsController(Controller):
    path = "/playlists/{playlist_id:str}/items"
    tags = ["items"]

    @get("/", summary="Items in order, with their tracks (ETag: the snapshot; 304)")
    async def read(
        self,
        request: Request[Any, Any, Any],
        playlist_id: PlaylistId,
        read_session: Session,
        viewer: Viewer,
        limit: Annotated[int, QueryParameter(ge=1, le=items.MAX_PAGE)] = 100,
        cursor: Cursor = None,
    ) -> Response[ItemsPage]:
        result = await items.page(
            read_session,
            parse_id(playlist_id, "playlist_id"),
            viewer,
            limit=limit,
            cursor=cursor,
            if_none_match=request.headers.get("if-none-match"),
        )
        return versioned(result, ItemsPage)

    @post("/", guards=USERS, status_code=HTTP_201_CREATED, summary="Add up to 100 tracks")
    async def add(
        self,
        request: Request[Any, Any, Any],
        playlist_id: PlaylistId,
        data: JSONBody[AddItemsIn],
        db_session: Session,
        user: User,
    ) -> Response[Snapshot]:
        done = await items.add(
            db_session,
            parse_id(playlist_id, "playlist_id"),
            user,
            data.track_ids,
            position=data.position,
            expected=expected(request, data.snapshot_id),
        )
        return changed(done.snapshot_id, Snapshot(snapshot_id=done.snapshot_id), HTTP_201_CREATED)

    @delete("/", guards=USERS, status_code=HTTP_200_OK, summary="Remove items")
    async def remove(
        self,
        request: Request[Any, Any, Any],
        playlist_id: PlaylistId,
        data: JSONBody[RemoveItemsIn],
        db_session: Session,
        user: User,
    ) -> Response[Snapshot]:
        done = await items.remove(
            db_session,
            parse_id(playlist_id, "playlist_id"),
            user,
            [ref.removal() for ref in data.items],
            expected=expected(request, data.snapshot_id),
        )
        return changed(done.snapshot_id, Snapshot(snapshot_id=done.snapshot_id))

    @patch("/", guards=USERS, summary="Move a range of items (Spotify's reorder)")
    async def move(
        self,
        request: Request[Any, Any, Any],
        playlist_id: PlaylistId,
        data: JSONBody[MoveItemsIn],
        db_session: Session,
        user: User,
    ) -> Response[Snapshot]:
        done = await items.move(
            db_session,
            parse_id(playlist_id, "playlist_id"),
            user,
            range_start=data.range_start,
            range_length=data.range_length,
            insert_before=data.insert_before,
            expected=expected(request, data.snapshot_id),
        )
        return changed(done.snapshot_id, Snapshot(snapshot_id=done.snapshot_id))

    @put("/", guards=USERS, summary="Replace every item")
    async def replace(
        self,
        request: Request[Any, Any, Any],
        playlist_id: PlaylistId,
        data: JSONBody[ReplaceItemsIn],
        db_session: Session,
        user: User,
    ) -> Response[Snapshot]:
        done = await items.replace(
            db_session,
            parse_id(playlist_id, "playlist_id"),
            user,
            data.track_ids,
            expected=expected(request, data.snapshot_id),
        )
        return changed(done.snapshot_id, Snapshot(snapshot_id=done.snapshot_id))
