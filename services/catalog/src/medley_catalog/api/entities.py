"""Tracks, albums and artists over HTTP: reads for anyone, writes for admins and services.

One base controller holds what the three have in common (get, batch get, lookup by
external id, delete, restore, genres, external ids, images, descriptions, merge); each
subclass adds its list (with its filters), create and update.
"""

from __future__ import annotations

import uuid
from typing import Annotated, ClassVar

import msgspec
from litestar import Controller, delete, get, patch, post, put
from litestar.params import FromPath, FromQuery, JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_catalog import editing, external_ids, genres, listing, media, merges, queries
from medley_catalog.api.answers import (
    ALBUM_ANSWERS,
    ARTIST_ANSWERS,
    TRACK_ANSWERS,
    AlbumRow,
    ArtistRow,
    Batch,
    EntityAnswers,
    EntityBatch,
    EntityDetail,
    EntityMerged,
    Merged,
    TrackRow,
)
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
from medley_catalog.queries import EntityType, Row
from medley_core.api_params import Cursor
from medley_core.errors import ContentTooLarge
from medley_core.pagination import Page
from medley_core.params import parse_id, text_param

Limit = Annotated[int, QueryParameter(ge=1, le=1000, description="page size (at most 1,000)")]
Filter = Annotated[str | None, QueryParameter(max_length=100)]
YearParam = Annotated[int | None, QueryParameter(ge=1, le=9999)]
# Documented as a UUID; checked by parse_id, so a malformed id is a 422 naming it rather
# than a bare "no such route".
EntityId = Annotated[str, PathParameter(format="uuid", description="the entity's id (a UUID)")]

WRITERS = [require_writer()]


class EntityController(Controller):
    """The routes every entity has. Its handlers are annotated with ``EntityDetail``,
    ``EntityBatch`` and ``EntityMerged``, which each subclass's ``signature_namespace``
    resolves to its own entity's answer types."""

    entity_type: ClassVar[EntityType]
    answers: ClassVar[EntityAnswers]

    async def read_detail(self, session: AsyncSession, entity_id: uuid.UUID) -> EntityDetail:
        """The entity as its detail answer (404 when it designates nothing live)."""
        return self.as_detail(await queries.read_one(session, self.entity_type, entity_id))

    def as_detail(self, row: Row) -> EntityDetail:
        detail: EntityDetail = msgspec.convert(row, self.answers.detail)
        return detail

    @get(
        "/{entity_id:str}",
        summary="One entity with its details (a merged id answers with its survivor)",
    )
    async def get_one(self, entity_id: EntityId, read_session: Session) -> EntityDetail:
        return await self.read_detail(read_session, parse_id(entity_id))

    @post("/batch", status_code=HTTP_200_OK, summary="Up to 1,000 entities by id, merges followed")
    async def get_batch(
        self, data: JSONBody[BatchIn], db_session: Session, catalog_settings: Settings
    ) -> EntityBatch:
        limit = catalog_settings.batch_get_max
        if len(data.ids) > limit:
            raise ContentTooLarge(f"at most {limit} ids per batch", limit=limit)
        result = await queries.read_batch(db_session, self.entity_type, data.ids)
        return Batch(
            items=[msgspec.convert(item, self.answers.batch_item) for item in result.items],
            redirects={str(k): v for k, v in result.redirects.items()},
            missing=result.missing,
        )

    @get("/lookup", summary="The entity carrying an external id (namespace and value)")
    async def lookup(
        self,
        read_session: Session,
        namespace: FromQuery[Namespace],
        value: Annotated[str, QueryParameter(min_length=1, max_length=200)],
    ) -> EntityDetail:
        text_param(value, "value")
        row = await queries.read_by_external_id(read_session, self.entity_type, namespace, value)
        return self.as_detail(row)

    @delete(
        "/{entity_id:str}", guards=WRITERS, status_code=HTTP_204_NO_CONTENT, summary="Soft delete"
    )
    async def remove(self, entity_id: EntityId, db_session: Session) -> None:
        await editing.delete(db_session, self.entity_type, parse_id(entity_id))

    @post(
        "/{entity_id:str}/restore",
        guards=WRITERS,
        status_code=HTTP_200_OK,
        summary="Undo a delete",
    )
    async def restore(self, entity_id: EntityId, db_session: Session) -> EntityDetail:
        eid = parse_id(entity_id)
        await editing.restore(db_session, self.entity_type, eid)
        return await self.read_detail(db_session, eid)

    @put("/{entity_id:str}/genres", guards=WRITERS, summary="Tag with genres (replaces the set)")
    async def set_genres(
        self, entity_id: EntityId, data: JSONBody[GenresIn], db_session: Session
    ) -> EntityDetail:
        eid = parse_id(entity_id)
        final = await genres.set_genres(db_session, self.entity_type, eid, data.genres)
        return await self.read_detail(db_session, final)

    @post(
        "/{entity_id:str}/genres",
        guards=WRITERS,
        status_code=HTTP_200_OK,
        summary="Add genre tags",
    )
    async def add_genres(
        self, entity_id: EntityId, data: JSONBody[GenresIn], db_session: Session
    ) -> EntityDetail:
        eid = parse_id(entity_id)
        final = await genres.set_genres(
            db_session, self.entity_type, eid, data.genres, replace=False
        )
        return await self.read_detail(db_session, final)

    @post(
        "/{entity_id:str}/external-ids",
        guards=WRITERS,
        status_code=HTTP_200_OK,
        summary="Attach an external id",
    )
    async def attach_external_id(
        self, entity_id: EntityId, data: JSONBody[ExternalIdIn], db_session: Session
    ) -> EntityDetail:
        eid = parse_id(entity_id)
        final = await external_ids.attach_external_id(
            db_session, self.entity_type, eid, data.spec()
        )
        return await self.read_detail(db_session, final)

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
        text_param(value, "value")
        await external_ids.detach_external_id(db_session, self.entity_type, eid, namespace, value)

    @post(
        "/{entity_id:str}/images", guards=WRITERS, status_code=HTTP_200_OK, summary="Add an image"
    )
    async def add_image(
        self, entity_id: EntityId, data: JSONBody[ImageIn], db_session: Session
    ) -> EntityDetail:
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
        return await self.read_detail(db_session, final)

    @post(
        "/{entity_id:str}/descriptions",
        guards=WRITERS,
        status_code=HTTP_200_OK,
        summary="Set the description of a source in a language",
    )
    async def set_description(
        self, entity_id: EntityId, data: JSONBody[DescriptionIn], db_session: Session
    ) -> EntityDetail:
        eid = parse_id(entity_id)
        final = await media.set_description(
            db_session,
            self.entity_type,
            eid,
            text=data.text,
            source=data.source,
            language=data.language,
        )
        return await self.read_detail(db_session, final)

    @post(
        "/{entity_id:str}/merge",
        guards=WRITERS,
        status_code=HTTP_200_OK,
        summary="Merge this duplicate into another (409 for itself or a loop)",
    )
    async def merge(
        self, entity_id: EntityId, data: JSONBody[MergeIn], db_session: Session
    ) -> EntityMerged:
        eid = parse_id(entity_id)
        result = await merges.merge(db_session, self.entity_type, eid, data.into)
        return Merged(
            from_id=result.from_id,
            into=result.into_id,
            merged_at=result.merged_at,
            survivor=await self.read_detail(db_session, result.into_id),
        )


class TrackController(EntityController):
    path = "/tracks"
    tags = ["tracks"]
    entity_type = "track"
    answers = TRACK_ANSWERS
    signature_namespace = TRACK_ANSWERS.signature_namespace()

    @get("/", summary="Tracks, a keyset page at a time, with filters")
    async def list_tracks(
        self,
        read_session: Session,
        limit: Limit = 50,
        cursor: Cursor = None,
        sort: FromQuery[listing.TrackSort] = "title",
        artist: FromQuery[uuid.UUID | None] = None,
        album: FromQuery[uuid.UUID | None] = None,
        genre: Filter = None,
        year: YearParam = None,
        album_type: Annotated[AlbumType | None, QueryParameter(name="type")] = None,
        source: Filter = None,
    ) -> Page[TrackRow]:
        page = await listing.list_tracks(
            read_session,
            limit=limit,
            cursor=cursor,
            sort=sort,
            artist_id=artist,
            album_id=album,
            genre=text_param(genre, "genre"),
            year=year,
            album_type=album_type,
            source=text_param(source, "source"),
        )
        return page.convert(TrackRow)

    @post("/", guards=WRITERS, status_code=HTTP_201_CREATED, summary="Create a track")
    async def create(self, data: JSONBody[TrackIn], db_session: Session) -> EntityDetail:
        track_id = await editing.create_track(db_session, data.fields())
        return await self.read_detail(db_session, track_id)

    @patch("/{entity_id:str}", guards=WRITERS, summary="Update a track (only the fields given)")
    async def update(
        self, entity_id: EntityId, data: JSONBody[TrackPatch], db_session: Session
    ) -> EntityDetail:
        final = await editing.update_track(db_session, parse_id(entity_id), data.changes())
        return await self.read_detail(db_session, final)


class AlbumController(EntityController):
    path = "/albums"
    tags = ["albums"]
    entity_type = "album"
    answers = ALBUM_ANSWERS
    signature_namespace = ALBUM_ANSWERS.signature_namespace()

    @get("/", summary="Albums, a keyset page at a time, with filters")
    async def list_albums(
        self,
        read_session: Session,
        limit: Limit = 50,
        cursor: Cursor = None,
        sort: FromQuery[listing.AlbumSort] = "title",
        artist: FromQuery[uuid.UUID | None] = None,
        genre: Filter = None,
        year: YearParam = None,
        album_type: Annotated[AlbumType | None, QueryParameter(name="type")] = None,
        source: Filter = None,
    ) -> Page[AlbumRow]:
        page = await listing.list_albums(
            read_session,
            limit=limit,
            cursor=cursor,
            sort=sort,
            artist_id=artist,
            genre=text_param(genre, "genre"),
            year=year,
            album_type=album_type,
            source=text_param(source, "source"),
        )
        return page.convert(AlbumRow)

    @post("/", guards=WRITERS, status_code=HTTP_201_CREATED, summary="Create an album")
    async def create(self, data: JSONBody[AlbumIn], db_session: Session) -> EntityDetail:
        album_id = await editing.create_album(db_session, data.fields())
        return await self.read_detail(db_session, album_id)

    @patch("/{entity_id:str}", guards=WRITERS, summary="Update an album (only the fields given)")
    async def update(
        self, entity_id: EntityId, data: JSONBody[AlbumPatch], db_session: Session
    ) -> EntityDetail:
        final = await editing.update_album(db_session, parse_id(entity_id), data.changes())
        return await self.read_detail(db_session, final)


class ArtistController(EntityController):
    path = "/artists"
    tags = ["artists"]
    entity_type = "artist"
    answers = ARTIST_ANSWERS
    signature_namespace = ARTIST_ANSWERS.signature_namespace()

    @get("/", summary="Artists with their track and album counts, a keyset page at a time")
    async def list_artists(
        self,
        read_session: Session,
        limit: Limit = 50,
        cursor: Cursor = None,
        sort: FromQuery[listing.ArtistSort] = "name",
        genre: Filter = None,
        source: Filter = None,
    ) -> Page[ArtistRow]:
        page = await listing.list_artists(
            read_session,
            limit=limit,
            cursor=cursor,
            sort=sort,
            genre=text_param(genre, "genre"),
            source=text_param(source, "source"),
        )
        return page.convert(ArtistRow)

    @post("/", guards=WRITERS, status_code=HTTP_201_CREATED, summary="Create an artist")
    async def create(self, data: JSONBody[ArtistIn], db_session: Session) -> EntityDetail:
        artist_id = await editing.create_artist(db_session, data.fields())
        return await self.read_detail(db_session, artist_id)

    @patch("/{entity_id:str}", guards=WRITERS, summary="Update an artist (only the fields given)")
    async def update(
        self, entity_id: EntityId, data: JSONBody[ArtistPatch], db_session: Session
    ) -> EntityDetail:
        final = await editing.update_artist(db_session, parse_id(entity_id), data.changes())
        return await self.read_detail(db_session, final)
