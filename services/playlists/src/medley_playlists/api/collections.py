"""The caller's collection over HTTP: ``/me/collections/albums`` and ``…/artists``."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, delete, get, put
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from medley_core.api_params import Cursor
from medley_core.errors import NotFound
from medley_core.pagination import Page
from medley_core.params import parse_id
from medley_playlists import collection
from medley_playlists.api.answers import Contains, Saved, SavedEntry, shaped
from medley_playlists.api.deps import USERS, Session

User = NamedDependency[uuid.UUID]
Kinds = Annotated[str, PathParameter(description="albums or artists")]
EntityId = Annotated[str, PathParameter(format="uuid", description="an album's or artist's id")]
KINDS: dict[str, collection.Kind] = {"albums": "album", "artists": "artist"}


def _kind(kinds: str) -> collection.Kind:
    if kinds not in KINDS:
        raise NotFound(f"a collection holds albums and artists, not {kinds[:50]!r}")
    return KINDS[kinds]


def _ids(value: str) -> list[uuid.UUID]:
    return [parse_id(part.strip(), "ids") for part in value.split(",") if part.strip()]


class CollectionsController(Controller):
    path = "/me/collections"
    tags = ["collections"]
    guards = USERS

    @get("/{kinds:str}", summary="Saved albums or artists, newest first")
    async def listed(
        self,
        kinds: Kinds,
        db_session: Session,
        user: User,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 50,
        cursor: Cursor = None,
    ) -> Page[SavedEntry]:
        page = await collection.listed(db_session, user, _kind(kinds), limit=limit, cursor=cursor)
        return page.convert(SavedEntry)

    @get("/{kinds:str}/contains", summary="Whether each of up to 100 ids is saved")
    async def contains(
        self,
        kinds: Kinds,
        db_session: Session,
        user: User,
        ids: Annotated[str, QueryParameter(max_length=4000, description="comma-separated ids")],
    ) -> Contains:
        asked = _ids(ids)
        saved = await collection.contains(db_session, user, _kind(kinds), asked)
        return Contains(ids=asked, saved=saved)

    @put("/{kinds:str}/{entity_id:str}", summary="Save an album or artist")
    async def save(
        self, kinds: Kinds, entity_id: EntityId, db_session: Session, user: User
    ) -> Saved:
        saved = await collection.save(db_session, user, _kind(kinds), parse_id(entity_id))
        return shaped(saved, Saved)

    @delete(
        "/{kinds:str}/{entity_id:str}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Remove a saved album or artist",
    )
    async def remove(
        self, kinds: Kinds, entity_id: EntityId, db_session: Session, user: User
    ) -> None:
        await collection.remove(db_session, user, _kind(kinds), parse_id(entity_id))
