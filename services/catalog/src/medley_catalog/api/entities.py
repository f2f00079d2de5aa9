"""Tracks, albums and artists over HTTP: reads for anyone, writes for admins and services.

One base controller holds what the three have in common (get, batch get, lookup by
external id, delete, restore, genres, external ids, images, descriptions, merge); each
subclass adds its list (with its filters), create and update.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, ClassVar

from litestar import Controller, delete, get, patch, post, put
from litestar.params import FromPath, FromQuery, JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_catalog import editing, external_ids, genres, listing, media, merges, queries
from medley_catalog.api.deps import Session, Settings, require_writer
from medley_catalog.api.schemas import (
    AlbumIn,
    AlbumPatch,
    AlbumType,
    ArtistIn,
    ArtistPatch,
    BatchIn,
    DescriptionIn,
    ExternalIdIn,
    GenresIn,
    ImageIn,
    MergeIn,
    Namespace,
    TrackIn,
    TrackPatch,
)
from medley_catalog.listing import storable
from medley_catalog.normalize import normalize_external_id
from medley_catalog.queries import EntityType
from medley_core.db import driver_connection
from medley_core.errors import ContentTooLarge, NotFound, Unprocessable

Limit = Annotated[int, QueryParameter(ge=1, le=1000, description="page size (at most 1,000)")]
Cursor = Annotated[
    str | None, QueryParameter(max_length=2000, description="next_cursor of the previous page")
]
Filter = Annotated[str | None, QueryParameter(max_length=100)]
YearParam = Annotated[int | None, QueryParameter(ge=1, le=9999)]
# Documented as a UUID; checked by parse_id, so a malformed id is a 422 naming it rather
# than a bare "no such route".
EntityId = Annotated[str, PathParameter(format="uuid", description="the entity's id (a UUID)")]

WRITERS = [require_writer()]


def _text_param(value: str | None, name: str) -> str | None:
    if value is not None and not storable(value):
        raise Unprocessable(f"{name} contains characters that cannot be stored", field=name)
    return value


def parse_id(value: str) -> uuid.UUID:
    """A path id; a malformed one is a 422 (an unknown one, later, a 404)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Unprocessable(f"{value[:100]!r} is not a valid id (a UUID)", field="id") from None


def page_body(page: listing.Page) -> dict[str, Any]:
    return {"items": page.items, "next_cursor": page.next_cursor}


async def detail(
    session: AsyncSession, entity_type: EntityType, entity_id: uuid.UUID
) -> dict[str, Any]:
    conn = await driver_connection(session)
    found = await queries.get_one(conn, entity_type, entity_id)
    if found is None:
        raise NotFound(f"no {entity_type} {entity_id}")
    return found


class EntityController(Controller):
    entity_type: ClassVar[EntityType]

    @get(
        "/{entity_id:str}",
        summary="One entity with its details (a merged id answers with its survivor)",
    )
    async def get_one(self, entity_id: EntityId, db_session: Session) -> dict[str, Any]:
        eid = parse_id(entity_id)
        return await detail(db_session, self.entity_type, eid)

    @post("/batch", status_code=HTTP_200_OK, summary="Up to 1,000 entities by id, merges followed")
    async def get_batch(
        self, data: JSONBody[BatchIn], db_session: Session, catalog_settings: Settings
    ) -> dict[str, Any]:
        limit = catalog_settings.batch_get_max
        if len(data.ids) > limit:
            raise ContentTooLarge(f"at most {limit} ids per batch", limit=limit)
        conn = await driver_connection(db_session)
        result = await queries.get_many(conn, self.entity_type, data.ids)
        return {
            "items": result.items,
            "redirects": {str(k): v for k, v in result.redirects.items()},
            "missing": result.missing,
        }

    @get("/lookup", summary="The entity carrying an external id (namespace and value)")
    async def lookup(
        self,
        db_session: Session,
        namespace: FromQuery[Namespace],
        value: Annotated[str, QueryParameter(min_length=1, max_length=200)],
    ) -> dict[str, Any]:
        _text_param(value, "value")
        try:
            canonical = normalize_external_id(namespace, value)
        except ValueError as exc:
            raise Unprocessable(str(exc), field="value") from None
        conn = await driver_connection(db_session)
        found = await queries.lookup_external(conn, self.entity_type, namespace, canonical)
        if found is None:
            raise NotFound(f"no {self.entity_type} with {namespace} {canonical}")
        return found

    @delete(
        "/{entity_id:str}", guards=WRITERS, status_code=HTTP_204_NO_CONTENT, summary="Soft delete"
    )
    async def remove(self, entity_id: EntityId, db_session: Session) -> None:
        eid = parse_id(entity_id)
        await editing.delete(db_session, self.entity_type, eid)

    @post(
        "/{entity_id:str}/restore",
        guards=WRITERS,
        status_code=HTTP_200_OK,
        summary="Undo a delete",
    )
    async def restore(self, entity_id: EntityId, db_session: Session) -> dict[str, Any]:
        eid = parse_id(entity_id)
        await editing.restore(db_session, self.entity_type, eid)
        return await detail(db_session, self.entity_type, eid)

    @put("/{entity_id:str}/genres", guards=WRITERS, summary="Tag with genres (replaces the set)")
    async def set_genres(
        self, entity_id: EntityId, data: JSONBody[GenresIn], db_session: Session
    ) -> dict[str, Any]:
        eid = parse_id(entity_id)
        final = await genres.set_genres(db_session, self.entity_type, eid, data.genres)
        return await detail(db_session, self.entity_type, final)

    @post(
        "/{entity_id:str}/genres",
        guards=WRITERS,
        status_code=HTTP_200_OK,
        summary="Add genre tags",
    )
    async def add_genres(
        self, entity_id: EntityId, data: JSONBody[GenresIn], db_session: Session
    ) -> dict[str, Any]:
        eid = parse_id(entity_id)
        final = await genres.set_genres(
            db_session, self.entity_type, eid, data.genres, replace=False
        )
        return await detail(db_session, self.entity_type, final)

    @post(
        "/{entity_id:str}/external-ids",
        guards=WRITERS,
        status_code=HTTP_200_OK,
        summary="Attach an external id",
    )
    async def attach_external_id(
        self, entity_id: EntityId, data: JSONBody[ExternalIdIn], db_session: Session
    ) -> dict[str, Any]:
        eid = parse_id(entity_id)
        final = await external_ids.attach_external_id(
            db_session, self.entity_type, eid, data.spec()
        )
        return await detail(db_session, self.entity_type, final)

    @delete(
        "/{entity_id:str}/external-ids/{namespace:str}/{value:str}",
        guards=WRITERS,
        status_code=HTTP_204_NO_CONTENT,
        summary="Detach an external id",
    )
    async def detach_external_id(
        self,
        entity_id: EntityId,
        namespace: FromPath[str],
        value: FromPath[str],
        db_session: Session,
    ) -> None:
        eid = parse_id(entity_id)
        _text_param(value, "value")
        await external_ids.detach_external_id(db_session, self.entity_type, eid, namespace, value)

    @post(
        "/{entity_id:str}/images", guards=WRITERS, status_code=HTTP_200_OK, summary="Add an image"
    )
    async def add_image(
        self, entity_id: EntityId, data: JSONBody[ImageIn], db_session: Session
    ) -> dict[str, Any]:
        eid = parse_id(entity_id)
        final = await media.add_image(
            db_session,
            self.entity_type,
            eid,
            url=data.url,
            kind=data.kind,
            width=data.width,
            height=data.height,
            source=data.source,
        )
        return await detail(db_session, self.entity_type, final)

    @post(
        "/{entity_id:str}/descriptions",
        guards=WRITERS,
        status_code=HTTP_200_OK,
        summary="Set the description of a source in a language",
    )
    async def set_description(
        self, entity_id: EntityId, data: JSONBody[DescriptionIn], db_session: Session
    ) -> dict[str, Any]:
        eid = parse_id(entity_id)
        final = await media.set_description(
            db_session,
            self.entity_type,
            eid,
            text=data.text,
            source=data.source,
            language=data.language,
        )
        return await detail(db_session, self.entity_type, final)

    @post(
        "/{entity_id:str}/merge",
        guards=WRITERS,
        status_code=HTTP_200_OK,
        summary="Merge this duplicate into another (409 for itself or a loop)",
    )
    async def merge(
        self, entity_id: EntityId, data: JSONBody[MergeIn], db_session: Session
    ) -> dict[str, Any]:
        eid = parse_id(entity_id)
        result = await merges.merge(db_session, self.entity_type, eid, data.into)
        return {
            "from": result.from_id,
            "into": result.into_id,
            "merged_at": result.merged_at,
            "survivor": await detail(db_session, self.entity_type, result.into_id),
        }


class TrackController(EntityController):
    path = "/tracks"
    tags = ["tracks"]
    entity_type = "track"

    @get("/", summary="Tracks, a keyset page at a time, with filters")
    async def list_tracks(
        self,
        db_session: Session,
        limit: Limit = 50,
        cursor: Cursor = None,
        sort: FromQuery[listing.TrackSort] = "title",
        artist: FromQuery[uuid.UUID | None] = None,
        album: FromQuery[uuid.UUID | None] = None,
        genre: Filter = None,
        year: YearParam = None,
        album_type: Annotated[AlbumType | None, QueryParameter(name="type")] = None,
        source: Filter = None,
    ) -> dict[str, Any]:
        conn = await driver_connection(db_session)
        page = await listing.list_tracks(
            conn,
            limit=limit,
            cursor=_text_param(cursor, "cursor"),
            sort=sort,
            artist_id=artist,
            album_id=album,
            genre=_text_param(genre, "genre"),
            year=year,
            album_type=album_type,
            source=_text_param(source, "source"),
        )
        return page_body(page)

    @post("/", guards=WRITERS, status_code=HTTP_201_CREATED, summary="Create a track")
    async def create(self, data: JSONBody[TrackIn], db_session: Session) -> dict[str, Any]:
        track_id = await editing.create_track(db_session, data.fields())
        return await detail(db_session, "track", track_id)

    @patch("/{entity_id:str}", guards=WRITERS, summary="Update a track (only the fields given)")
    async def update(
        self, entity_id: EntityId, data: JSONBody[TrackPatch], db_session: Session
    ) -> dict[str, Any]:
        eid = parse_id(entity_id)
        final = await editing.update_track(db_session, eid, data.changes())
        return await detail(db_session, "track", final)


class AlbumController(EntityController):
    path = "/albums"
    tags = ["albums"]
    entity_type = "album"

    @get("/", summary="Albums, a keyset page at a time, with filters")
    async def list_albums(
        self,
        db_session: Session,
        limit: Limit = 50,
        cursor: Cursor = None,
        sort: FromQuery[listing.AlbumSort] = "title",
        artist: FromQuery[uuid.UUID | None] = None,
        genre: Filter = None,
        year: YearParam = None,
        album_type: Annotated[AlbumType | None, QueryParameter(name="type")] = None,
        source: Filter = None,
    ) -> dict[str, Any]:
        conn = await driver_connection(db_session)
        page = await listing.list_albums(
            conn,
            limit=limit,
            cursor=_text_param(cursor, "cursor"),
            sort=sort,
            artist_id=artist,
            genre=_text_param(genre, "genre"),
            year=year,
            album_type=album_type,
            source=_text_param(source, "source"),
        )
        return page_body(page)

    @post("/", guards=WRITERS, status_code=HTTP_201_CREATED, summary="Create an album")
    async def create(self, data: JSONBody[AlbumIn], db_session: Session) -> dict[str, Any]:
        album_id = await editing.create_album(db_session, data.fields())
        return await detail(db_session, "album", album_id)

    @patch("/{entity_id:str}", guards=WRITERS, summary="Update an album (only the fields given)")
    async def update(
        self, entity_id: EntityId, data: JSONBody[AlbumPatch], db_session: Session
    ) -> dict[str, Any]:
        eid = parse_id(entity_id)
        final = await editing.update_album(db_session, eid, data.changes())
        return await detail(db_session, "album", final)


class ArtistController(EntityController):
    path = "/artists"
    tags = ["artists"]
    entity_type = "artist"

    @get("/", summary="Artists with their track and album counts, a keyset page at a time")
    async def list_artists(
        self,
        db_session: Session,
        limit: Limit = 50,
        cursor: Cursor = None,
        sort: FromQuery[listing.ArtistSort] = "name",
        genre: Filter = None,
        source: Filter = None,
    ) -> dict[str, Any]:
        conn = await driver_connection(db_session)
        page = await listing.list_artists(
            conn,
            limit=limit,
            cursor=_text_param(cursor, "cursor"),
            sort=sort,
            genre=_text_param(genre, "genre"),
            source=_text_param(source, "source"),
        )
        return page_body(page)

    @post("/", guards=WRITERS, status_code=HTTP_201_CREATED, summary="Create an artist")
    async def create(self, data: JSONBody[ArtistIn], db_session: Session) -> dict[str, Any]:
        artist_id = await editing.create_artist(db_session, data.fields())
        return await detail(db_session, "artist", artist_id)

    @patch("/{entity_id:str}", guards=WRITERS, summary="Update an artist (only the fields given)")
    async def update(
        self, entity_id: EntityId, data: JSONBody[ArtistPatch], db_session: Session
    ) -> dict[str, Any]:
        eid = parse_id(entity_id)
        final = await editing.update_artist(db_session, eid, data.changes())
        return await detail(db_session, "artist", final)
