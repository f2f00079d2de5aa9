"""Smart playlists over HTTP (the owner's only): rules, their tracks now, .nsp files."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Response, delete, get, patch, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from pydantic import BaseModel, ConfigDict, Field

from medley_core.api_params import Cursor
from medley_core.pagination import Page
from medley_core.params import parse_id
from medley_playlists.api.answers import SmartPlaylistOut, SmartTracks, shaped
from medley_playlists.api.deps import USERS, Session
from medley_playlists.api.files import read_upload
from medley_playlists.api.schemas import Description, Name
from medley_playlists.smart import playlists as smart

User = NamedDependency[uuid.UUID]
SmartId = Annotated[str, PathParameter(format="uuid", description="the smart playlist's id")]


RULES = "Navidrome .nsp rules: all or any, sort, order, limit or limitPercent, offset"


class SmartIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    description: Description | None = None
    rules: Annotated[dict[str, Any], Field(description=RULES)]


class SmartPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name | None = None
    description: Description | None = None
    # Empty (or absent): the rules stay as they are. Not nullable, so the document shows
    # what it holds.
    rules: dict[str, Any] = Field(default_factory=dict, description=RULES)


@dataclass
class NspUpload:
    file: UploadFile


class SmartPlaylistsController(Controller):
    path = "/smart-playlists"
    tags = ["smart playlists"]
    guards = USERS

    @post("/", status_code=HTTP_201_CREATED, summary="Save rules (Navidrome .nsp shape)")
    async def create(
        self, data: JSONBody[SmartIn], db_session: Session, user: User
    ) -> SmartPlaylistOut:
        created = await smart.create(db_session, user, data.name, data.description, data.rules)
        return shaped(created, SmartPlaylistOut)

    @get("/", summary="My smart playlists")
    async def listed(
        self,
        db_session: Session,
        user: User,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 50,
        cursor: Cursor = None,
    ) -> Page[SmartPlaylistOut]:
        page = await smart.listed(db_session, user, limit=limit, cursor=cursor)
        return page.convert(SmartPlaylistOut)

    @get("/{smart_id:str}", summary="A smart playlist's rules")
    async def read(self, smart_id: SmartId, db_session: Session, user: User) -> SmartPlaylistOut:
        return shaped(await smart.read(db_session, parse_id(smart_id), user), SmartPlaylistOut)

    @patch("/{smart_id:str}", summary="Rename, describe, or change the rules")
    async def change(
        self, smart_id: SmartId, data: JSONBody[SmartPatch], db_session: Session, user: User
    ) -> SmartPlaylistOut:
        changed = await smart.change(
            db_session,
            parse_id(smart_id),
            user,
            name=data.name,
            description=data.description,
            document=data.rules or None,
            clear_description="description" in data.model_fields_set and data.description is None,
        )
        return shaped(changed, SmartPlaylistOut)

    @delete("/{smart_id:str}", status_code=HTTP_204_NO_CONTENT, summary="Delete")
    async def remove(self, smart_id: SmartId, db_session: Session, user: User) -> None:
        await smart.delete(db_session, parse_id(smart_id), user)

    @get("/{smart_id:str}/tracks", summary="The tracks the rules select now")
    async def tracks(
        self,
        smart_id: SmartId,
        db_session: Session,
        user: User,
        offset: Annotated[int, QueryParameter(ge=0, le=10_000)] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=1_000)] = 100,
    ) -> SmartTracks:
        found = await smart.tracks(db_session, parse_id(smart_id), user, offset=offset, limit=limit)
        return shaped(found, SmartTracks)

    @get("/{smart_id:str}/export", summary="As an .nsp file")
    async def export(self, smart_id: SmartId, db_session: Session, user: User) -> Response[bytes]:
        document = await smart.export(db_session, parse_id(smart_id), user)
        return Response(
            json.dumps(document, ensure_ascii=False).encode(),
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="{smart_id}.nsp"'},
        )

    @post("/import", status_code=HTTP_201_CREATED, summary="From an .nsp file (multipart file)")
    async def import_nsp(
        self,
        data: Annotated[NspUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
        db_session: Session,
        user: User,
    ) -> SmartPlaylistOut:
        content = await read_upload(data.file)
        name, comment, document = smart.parse_file(content, data.file.filename)
        created = await smart.create(db_session, user, name, comment, document)
        return shaped(created, SmartPlaylistOut)
