"""Writing tracks, albums and artists by hand (admins, internal services): create, update,
delete, restore.

Rows are written one at a time through the ORM; their aspects through the shared modules
(:mod:`~medley_catalog.artists` for credits, :mod:`~medley_catalog.external_ids`,
:mod:`~medley_catalog.genres`). A PATCH changes only the fields it names, and the entity's
row in one statement (with ``updated_at`` and whatever follows from its credits). Every
write keeps the normalised and denormalised columns in step (``*_norm``, ``*_search``,
``artist_names``, ``primary_artist_id``, the tracks' album title) and collects an event for
each entity it changed into the transaction's unit of work (one per entity per change).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import asyncpg
from sqlalchemy import exists, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_catalog import artists, events, external_ids, genres
from medley_catalog.artists import CreditSpec
from medley_catalog.external_ids import ExternalIdSpec
from medley_catalog.models import ALBUM_TYPES, Album, Artist, Redirect, Track
from medley_catalog.normalize import normalize_artist, normalize_text, parse_title, sort_name_for
from medley_catalog.queries import EntityType, as_uuid, resolve_ids
from medley_catalog.writes import INTEGER_MAX, SMALLINT_MAX, not_blank, positive, require_live
from medley_core.db import driver_connection
from medley_core.errors import NotFound, Unprocessable
from medley_core.ids import new_id

MODELS: dict[EntityType, type[Track] | type[Album] | type[Artist]] = {
    "track": Track,
    "album": Album,
    "artist": Artist,
}


@dataclass
class ArtistFields:
    name: str
    sort_name: str | None = None
    external_ids: Sequence[ExternalIdSpec] = ()
    genres: Sequence[str] = ()


@dataclass
class AlbumFields:
    title: str
    credits: Sequence[CreditSpec]
    album_type: str = "album"
    release_date: date | None = None
    release_year: int | None = None
    total_tracks: int | None = None
    cover_url: str | None = None
    external_ids: Sequence[ExternalIdSpec] = ()
    genres: Sequence[str] = ()


@dataclass
class TrackFields:
    title: str
    credits: Sequence[CreditSpec]
    album_id: uuid.UUID | None = None
    disc_number: int | None = None
    track_number: int | None = None
    duration_ms: int | None = None
    explicit: bool = False
    external_ids: Sequence[ExternalIdSpec] = ()
    genres: Sequence[str] = ()


@dataclass
class Changes:
    """A partial update: only the fields present in ``values`` change."""

    values: dict[str, Any] = field(default_factory=dict)

    def __contains__(self, name: str) -> bool:
        return name in self.values

    def __getitem__(self, name: str) -> Any:
        return self.values[name]


# --- field checks and derived columns (pure) ------------------------------------------------


def artist_name(value: str | None) -> dict[str, Any]:
    """The columns an artist's name sets; 422 for a blank one or one without letters."""
    name = not_blank(value, "name")
    norm = normalize_artist(name)
    if not norm:
        raise Unprocessable("the name has no letters or digits", field="name")
    return {"name": name, "name_norm": norm, "name_search": normalize_text(name)}


def title_columns(value: str | None) -> dict[str, Any]:
    """The columns a track's or album's title sets; 422 for a blank one."""
    title = not_blank(value, "title")
    parsed = parse_title(title)
    return {
        "title": title,
        "title_norm": parsed.norm,
        "title_variant": parsed.variant,
        "title_search": normalize_text(title),
    }


def album_type(value: str) -> str:
    if value not in ALBUM_TYPES:
        raise Unprocessable(
            f"album_type must be one of {', '.join(ALBUM_TYPES)}", field="album_type"
        )
    return value


def year_and_date(release_date: date | None, release_year: int | None) -> int | None:
    """The release year a date and a year agree on; 422 when they do not."""
    if release_date is not None:
        if release_year is not None and release_year != release_date.year:
            raise Unprocessable("release_year does not match release_date", field="release_year")
        return release_date.year
    if release_year is not None and not 1 <= release_year <= 9999:
        raise Unprocessable("release_year must be between 1 and 9999", field="release_year")
    return release_year


def release_columns(
    changes: Changes, current_date: date | None, current_year: int | None
) -> dict[str, Any]:
    """``release_date`` and ``release_year`` after a PATCH naming either. Clearing the date
    alone keeps the year; a new date alone sets the year from it."""
    release_date = changes.values.get("release_date", current_date)
    release_year = changes.values.get("release_year")
    if (
        "release_date" in changes
        and changes["release_date"] is None
        and "release_year" not in changes
    ):
        release_year = current_year
    return {"release_date": release_date, "release_year": year_and_date(release_date, release_year)}


# --- shared steps -------------------------------------------------------------------------------


async def _aspects(
    conn: asyncpg.Connection[Any],
    entity_type: EntityType,
    entity_id: uuid.UUID,
    changes: Changes,
) -> None:
    """The external ids and genres a write names (genres replace the entity's)."""
    if "external_ids" in changes:
        await external_ids.attach(conn, entity_type, entity_id, changes["external_ids"])
    if "genres" in changes:
        await genres.link(conn, entity_type, entity_id, changes["genres"], replace=True)


async def _update_row(
    session: AsyncSession, entity_type: EntityType, entity_id: uuid.UUID, values: dict[str, Any]
) -> None:
    """One UPDATE of the entity's row: the columns that change, and ``updated_at``."""
    model = MODELS[entity_type]
    await session.exec(
        update(model)
        .where(col(model.id) == entity_id)
        .values(**values, updated_at=func.now())
        .execution_options(synchronize_session=False)
    )


async def _credit_columns(
    conn: asyncpg.Connection[Any], entity_type: EntityType, entity_id: uuid.UUID, changes: Changes
) -> tuple[dict[str, Any], list[uuid.UUID]]:
    """Replace the credits a PATCH names; the row's columns that follow, and new artists."""
    if "credits" not in changes:
        return {}, []
    credits, created = await artists.resolve_credits(conn, changes["credits"])
    columns = await artists.write_credits(conn, entity_type, entity_id, credits, replace=True)
    return columns, [a.id for a in created]


async def _album_of_track(
    conn: asyncpg.Connection[Any], album_id: uuid.UUID | None
) -> dict[str, Any]:
    """A track's album columns: the live album (merges followed; 422 if none) and its title
    as search sees it."""
    if album_id is None:
        return {"album_id": None, "album_title_search": ""}
    final = (await resolve_ids(conn, "album", [album_id])).final.get(album_id)
    if final is None:
        raise Unprocessable(f"no album {album_id}", field="album_id")
    title = await conn.fetchval("SELECT title FROM albums WHERE id = $1", final)
    return {"album_id": final, "album_title_search": normalize_text(title)}


async def _insert(
    session: AsyncSession,
    conn: asyncpg.Connection[Any],
    row: Track | Album | Artist,
    entity_type: EntityType,
    fields: ArtistFields | AlbumFields | TrackFields,
) -> None:
    """Insert a new row, then the external ids and genres its fields name."""
    session.add(row)
    await session.flush()
    await external_ids.attach(conn, entity_type, row.id, fields.external_ids)
    await genres.link(conn, entity_type, row.id, fields.genres, replace=True)


# --- artists ------------------------------------------------------------------------------------


async def create_artist(session: AsyncSession, fields: ArtistFields) -> uuid.UUID:
    columns = artist_name(fields.name)
    sort_name = (
        not_blank(fields.sort_name, "sort_name")
        if fields.sort_name
        else sort_name_for(columns["name"])
    )
    artist = Artist(id=new_id(), sort_name=sort_name, source="admin", **columns)
    await _insert(session, await driver_connection(session), artist, "artist", fields)
    await events.collect_changed(session, "artist", [artist.id], created=True)
    return artist.id


async def update_artist(session: AsyncSession, artist_id: uuid.UUID, changes: Changes) -> uuid.UUID:
    conn = await driver_connection(session)
    artist_id = await require_live(conn, "artist", artist_id)
    values: dict[str, Any] = {}
    if "name" in changes:
        values.update(artist_name(changes["name"]))
        values["sort_name"] = sort_name_for(values["name"])
    if "sort_name" in changes:
        values["sort_name"] = not_blank(changes["sort_name"], "sort_name")
    await _aspects(conn, "artist", artist_id, changes)
    await _update_row(session, "artist", artist_id, values)
    await events.collect_changed(session, "artist", [artist_id])
    return artist_id


# --- albums -------------------------------------------------------------------------------------


async def create_album(session: AsyncSession, fields: AlbumFields) -> uuid.UUID:
    conn = await driver_connection(session)
    columns = title_columns(fields.title)
    album_type(fields.album_type)
    year = year_and_date(fields.release_date, fields.release_year)
    positive(fields.total_tracks, "total_tracks")
    credits, created = await artists.resolve_credits(conn, fields.credits)
    album = Album(
        id=new_id(),
        album_type=fields.album_type,
        release_date=fields.release_date,
        release_year=year,
        total_tracks=fields.total_tracks,
        cover_url=fields.cover_url,
        source="admin",
        **columns,
        **artists.owner_columns(credits),
    )
    await _insert(session, conn, album, "album", fields)
    await artists.write_credits(conn, "album", album.id, credits, replace=False)
    await events.collect_changed(session, "artist", [a.id for a in created], created=True)
    await events.collect_changed(session, "album", [album.id], created=True)
    return album.id


async def update_album(session: AsyncSession, album_id: uuid.UUID, changes: Changes) -> uuid.UUID:
    conn = await driver_connection(session)
    album_id = await require_live(conn, "album", album_id)
    current = select(col(Album.title), col(Album.release_date), col(Album.release_year))
    title, release_date, release_year = (
        await session.exec(current.where(col(Album.id) == album_id))
    ).one()
    values: dict[str, Any] = {}
    if "title" in changes:
        values.update(title_columns(changes["title"]))
    if "album_type" in changes:
        values["album_type"] = album_type(changes["album_type"])
    if "release_date" in changes or "release_year" in changes:
        values.update(release_columns(changes, release_date, release_year))
    if "total_tracks" in changes:
        values["total_tracks"] = positive(changes["total_tracks"], "total_tracks")
    if "cover_url" in changes:
        values["cover_url"] = changes["cover_url"]
    credit_columns, new_artists = await _credit_columns(conn, "album", album_id, changes)
    await _aspects(conn, "album", album_id, changes)
    await _update_row(session, "album", album_id, values | credit_columns)
    tracks = await _retitle_tracks(session, album_id, values.get("title_search"))
    await events.collect_changed(session, "artist", new_artists, created=True)
    await events.collect_changed(session, "album", [album_id])
    if "title" in values and values["title"] != title:
        await events.collect_changed(session, "track", tracks)
    return album_id


async def _retitle_tracks(
    session: AsyncSession, album_id: uuid.UUID, title_search: str | None
) -> list[uuid.UUID]:
    """Keep the album's tracks' search text in step with a new title; their live ids."""
    if title_search is None:
        return []
    await session.exec(
        update(Track)
        .where(col(Track.album_id) == album_id)
        .values(album_title_search=title_search, updated_at=func.now())
        .execution_options(synchronize_session=False)
    )
    live = select(Track.id).where(col(Track.album_id) == album_id, col(Track.deleted_at).is_(None))
    return [as_uuid(i) for i in (await session.exec(live.order_by(col(Track.id)))).all()]


# --- tracks -------------------------------------------------------------------------------------


async def create_track(session: AsyncSession, fields: TrackFields) -> uuid.UUID:
    conn = await driver_connection(session)
    columns = title_columns(fields.title)
    positive(fields.duration_ms, "duration_ms", INTEGER_MAX)
    positive(fields.disc_number, "disc_number")
    positive(fields.track_number, "track_number")
    album = await _album_of_track(conn, fields.album_id)
    credits, created = await artists.resolve_credits(conn, fields.credits)
    track = Track(
        id=new_id(),
        disc_number=fields.disc_number,
        track_number=fields.track_number,
        duration_ms=fields.duration_ms,
        explicit=fields.explicit,
        source="admin",
        **columns,
        **album,
        **artists.owner_columns(credits),
    )
    await _insert(session, conn, track, "track", fields)
    await artists.write_credits(conn, "track", track.id, credits, replace=False)
    await events.collect_changed(session, "artist", [a.id for a in created], created=True)
    await events.collect_changed(session, "track", [track.id], created=True)
    return track.id


async def update_track(session: AsyncSession, track_id: uuid.UUID, changes: Changes) -> uuid.UUID:
    conn = await driver_connection(session)
    track_id = await require_live(conn, "track", track_id)
    values: dict[str, Any] = {}
    if "title" in changes:
        values.update(title_columns(changes["title"]))
    if "album_id" in changes:
        values.update(await _album_of_track(conn, changes["album_id"]))
    for name, upper in (
        ("disc_number", SMALLINT_MAX),
        ("track_number", SMALLINT_MAX),
        ("duration_ms", INTEGER_MAX),
    ):
        if name in changes:
            values[name] = positive(changes[name], name, upper)
    if "explicit" in changes:
        values["explicit"] = bool(changes["explicit"])
    credit_columns, new_artists = await _credit_columns(conn, "track", track_id, changes)
    await _aspects(conn, "track", track_id, changes)
    await _update_row(session, "track", track_id, values | credit_columns)
    await events.collect_changed(session, "artist", new_artists, created=True)
    await events.collect_changed(session, "track", [track_id])
    return track_id


# --- any entity ---------------------------------------------------------------------------------


async def delete(session: AsyncSession, entity_type: EntityType, entity_id: uuid.UUID) -> None:
    """Soft delete: reads answer 404, the row stays for a restore. Merged ids cannot be
    deleted (delete the survivor)."""
    model = MODELS[entity_type]
    deleted_at = (
        await session.exec(
            update(model)
            .where(col(model.id) == entity_id, col(model.deleted_at).is_(None))
            .values(deleted_at=func.now(), updated_at=func.now())
            .returning(col(model.deleted_at))
            .execution_options(synchronize_session=False)
        )
    ).scalar_one_or_none()
    if deleted_at is None:
        raise NotFound(f"no {entity_type} {entity_id}")
    events.collect_deleted(session, entity_type, entity_id, deleted_at)


async def restore(session: AsyncSession, entity_type: EntityType, entity_id: uuid.UUID) -> None:
    """Undo a delete (not a merge: a merged id keeps redirecting)."""
    model = MODELS[entity_type]
    merged = exists().where(
        col(Redirect.entity_type) == entity_type, col(Redirect.from_id) == col(model.id)
    )
    restored = (
        await session.exec(
            update(model)
            .where(col(model.id) == entity_id, col(model.deleted_at).is_not(None), ~merged)
            .values(deleted_at=None, updated_at=func.now())
            .returning(col(model.id))
            .execution_options(synchronize_session=False)
        )
    ).scalar_one_or_none()
    if restored is None:
        raise NotFound(f"no deleted {entity_type} {entity_id}")
    await events.collect_changed(session, entity_type, [entity_id])
