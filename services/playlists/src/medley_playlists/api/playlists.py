"""Playlists over HTTP: create, list, read (ETag, 304), change, delete and restore."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from medley_core.api_params import Cursor
from medley_core.pagination import Page
from medley_core.params import parse_id
from medley_playlists import playlists
from medley_playlists.api.answers import PlaylistOut, shaped
from medley_playlists.api.deps import (
    USERS,
    PlaylistId,
    Session,
    UserId,
    changed,
    expected,
    versioned,
)
from medley_playlists.api.schemas import PlaylistIn, PlaylistPatch

User = NamedDependency[uuid.UUID]
Viewer = NamedDependency[uuid.UUID | None]
Limit = Annotated[int, QueryParameter(ge=1, le=100, description="page size (at most 100)")]
SortParam = Annotated[playlists.Sort, QueryParameter(description="name, updated or created")]
OrderParam = Annotated[playlists.Order, QueryParameter(description="asc or desc")]


def _listed(page: Page[dict[str, Any]]) -> Page[PlaylistOut]:
    return page.convert(PlaylistOut)


class PlaylistController(Controller):
    path = "/playlists"
    tags = ["playlists"]

    @post("/", guards=USERS, status_code=HTTP_201_CREATED, summary="Create a playlist")
    async def create(
        self, data: JSONBody[PlaylistIn], db_session: Session, user: User
    ) -> Response[PlaylistOut]:
        created = await playlists.create(db_session, user, data.fields())
        return changed(created["snapshot_id"], shaped(created, PlaylistOut), HTTP_201_CREATED)

    @get("/", guards=USERS, summary="My playlists, those shared with me, or my trash")
    async def list_mine(
        self,
        db_session: Session,
        user: User,
        # "scope" is a name Litestar reserves for the ASGI scope: read under another one.
        which: Annotated[
            playlists.Scope, QueryParameter(name="scope", description="mine, shared or trash")
        ] = "mine",
        sort: SortParam = "updated",
        order: OrderParam = "desc",
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Page[PlaylistOut]:
        listed = playlists.ListQuery(sort=sort, order=order, limit=limit, cursor=cursor)
        return _listed(await playlists.list_own(db_session, user, which, listed))

    @get("/{playlist_id:str}", summary="A playlist (ETag: its snapshot; 304 if unchanged)")
    async def read(
        self,
        request: Request[Any, Any, Any],
        playlist_id: PlaylistId,
        read_session: Session,
        viewer: Viewer,
    ) -> Response[PlaylistOut]:
        result = await playlists.read(
            read_session,
            parse_id(playlist_id, "playlist_id"),
            viewer,
            if_none_match=request.headers.get("if-none-match"),
        )
        return versioned(result, PlaylistOut)

    @patch("/{playlist_id:str}", guards=USERS, summary="Rename, describe, share (the owner)")
    async def change(
        self,
        request: Request[Any, Any, Any],
        playlist_id: PlaylistId,
        data: JSONBody[PlaylistPatch],
        db_session: Session,
        user: User,
    ) -> Response[PlaylistOut]:
        updated = await playlists.change(
            db_session,
            parse_id(playlist_id, "playlist_id"),
            user,
            data.fields(),
            expected(request, data.snapshot_id),
        )
        return changed(updated["snapshot_id"], shaped(updated, PlaylistOut))

    @delete(
        "/{playlist_id:str}",
        guards=USERS,
        status_code=HTTP_204_NO_CONTENT,
        summary="Delete to the trash (the owner)",
    )
    async def remove(
        self,
        request: Request[Any, Any, Any],
        playlist_id: PlaylistId,
        db_session: Session,
        user: User,
    ) -> None:
        playlist = parse_id(playlist_id, "playlist_id")
        await playlists.delete(db_session, playlist, user, expected(request, None))

    @post(
        "/{playlist_id:str}/restore",
        guards=USERS,
        status_code=HTTP_200_OK,
        summary="Restore from the trash (the owner)",
    )
    async def restore(
        self, playlist_id: PlaylistId, db_session: Session, user: User
    ) -> Response[PlaylistOut]:
        restored = await playlists.restore(db_session, parse_id(playlist_id, "playlist_id"), user)
        return changed(restored["snapshot_id"], shaped(restored, PlaylistOut))


class UserPlaylistsController(Controller):
    path = "/users"
    tags = ["playlists"]

    @get("/{user_id:str}/playlists", summary="A user's public playlists")
    async def public(
        self,
        user_id: UserId,
        db_session: Session,
        sort: SortParam = "updated",
        order: OrderParam = "desc",
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Page[PlaylistOut]:
        listed = playlists.ListQuery(sort=sort, order=order, limit=limit, cursor=cursor)
        owner = parse_id(user_id, "user_id")
        return _listed(await playlists.list_public(db_session, owner, listed))
