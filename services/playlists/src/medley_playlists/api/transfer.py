"""Playlist files over HTTP: export one, import some (multipart ``file``), and a playlist's
external mappings."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from pydantic import BaseModel, ConfigDict, StringConstraints

from medley_core.params import parse_id
from medley_playlists import mappings
from medley_playlists.api.answers import Imported, MappingOut, Mappings, shaped
from medley_playlists.api.deps import USERS, PlaylistId, Session
from medley_playlists.api.files import read_upload
from medley_playlists.transfer import exporting, importing
from medley_playlists.transfer.matching import Resolver

User = NamedDependency[uuid.UUID]
Viewer = NamedDependency[uuid.UUID | None]
Connector = Annotated[str, PathParameter(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]


@dataclass
class PlaylistUpload:
    """``file``: the playlist file; ``format`` when its name does not say
    (m3u, m3u8, xspf, json); ``base``: the folder relative paths in it start from."""

    file: UploadFile
    format: Literal["m3u", "m3u8", "xspf", "json"] | None = None
    base: str | None = None


class MappingIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    connector_playlist_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    last_synced_at: datetime | None = None


def resolver_of(request: Request[Any, Any, Any]) -> Resolver | None:
    """The catalog resolution imports use, when the app has one."""
    found: Resolver | None = request.app.state.get("catalog_resolver")
    return found


class TransferController(Controller):
    path = "/playlists"
    tags = ["import and export"]

    @get("/{playlist_id:str}/export", summary="As a file: m3u8, xspf or json")
    async def export(
        self,
        playlist_id: PlaylistId,
        db_session: Session,
        viewer: Viewer,
        format: Annotated[exporting.ExportFormat, QueryParameter()] = "json",
    ) -> Response[bytes]:
        exported = await exporting.export(
            db_session, parse_id(playlist_id, "playlist_id"), viewer, format
        )
        return Response(
            exported.body,
            media_type=exported.media_type,
            headers={"Content-Disposition": f'attachment; filename="{exported.filename}"'},
        )

    @post(
        "/import",
        guards=USERS,
        status_code=HTTP_201_CREATED,
        summary="Import M3U/M3U8, XSPF, Medley JSON or Spotify's Playlist1.json",
    )
    async def import_file(
        self,
        request: Request[Any, Any, Any],
        data: Annotated[PlaylistUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
        db_session: Session,
        user: User,
    ) -> Imported:
        content = await read_upload(data.file)
        imported = await importing.import_file(
            db_session,
            user,
            content,
            data.file.filename,
            declared=data.format,
            base=data.base,
            resolver=resolver_of(request),
        )
        return shaped({"playlists": imported}, Imported)

    @get("/{playlist_id:str}/mappings", guards=USERS, summary="Where else it lives (the owner)")
    async def mappings(self, playlist_id: PlaylistId, db_session: Session, user: User) -> Mappings:
        found = await mappings.listed(db_session, parse_id(playlist_id, "playlist_id"), user)
        return Mappings(items=[shaped(m, MappingOut) for m in found])

    @put(
        "/{playlist_id:str}/mappings/{connector:str}",
        guards=USERS,
        status_code=HTTP_200_OK,
        summary="Record a connector's playlist it is synced with (the owner)",
    )
    async def put_mapping(
        self,
        playlist_id: PlaylistId,
        connector: Connector,
        data: JSONBody[MappingIn],
        db_session: Session,
        user: User,
    ) -> MappingOut:
        mapping = await mappings.put(
            db_session,
            parse_id(playlist_id, "playlist_id"),
            user,
            connector,
            data.connector_playlist_id,
            data.last_synced_at,
        )
        return shaped(mapping, MappingOut)

    @delete(
        "/{playlist_id:str}/mappings/{connector:str}",
        guards=USERS,
        status_code=HTTP_204_NO_CONTENT,
        summary="Forget a mapping (the owner)",
    )
    async def remove_mapping(
        self, playlist_id: PlaylistId, connector: Connector, db_session: Session, user: User
    ) -> None:
        await mappings.remove(db_session, parse_id(playlist_id, "playlist_id"), user, connector)
