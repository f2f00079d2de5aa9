"""Writing the catalog by hand (admins, internal services): create, update, delete, restore,
genres, external ids, images and descriptions.

Every write keeps the normalised and denormalised columns in step (``*_norm``,
``*_search``, ``artist_names``, ``primary_artist_id``, the tracks' album title) and records
exactly one event per entity it changed, in the same transaction.
"""

# ruff: noqa: S608 -- SQL here is assembled from fixed fragments (table and column names
# from constant mappings); every value travels as a bind parameter.

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import asyncpg
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_catalog import events
from medley_catalog.models import ALBUM_TYPES, NAMESPACES
from medley_catalog.normalize import (
    normalize_artist,
    normalize_external_id,
    normalize_text,
    parse_title,
    sort_name_for,
)
from medley_catalog.queries import TABLES, EntityType, as_uuid, resolve_ids
from medley_core.db import driver_connection
from medley_core.ids import new_id
from medley_core.problems import Conflict, NotFound, Unprocessable

UNSET: Any = object()


@dataclass(frozen=True)
class CreditSpec:
    """A credit to write: an existing artist (by id; merged ids are followed) or an artist
    found or created by name. ``name`` is also the credited name (defaults to the artist's)."""

    artist_id: uuid.UUID | None = None
    name: str | None = None
    join_phrase: str = ""


@dataclass(frozen=True)
class ExternalIdSpec:
    namespace: str
    value: str


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


# --- helpers -------------------------------------------------------------------------------


def _not_blank(value: str | None, what: str) -> str:
    if value is None or not value.strip():
        raise Unprocessable(f"{what} must not be blank", field=what)
    if len(value) > 1000:
        raise Unprocessable(f"{what} is at most 1000 characters", field=what)
    return value.strip()


def _external_id(spec: ExternalIdSpec) -> tuple[str, str]:
    if spec.namespace not in NAMESPACES:
        raise Unprocessable(
            f"unknown external id namespace {spec.namespace!r}; one of {', '.join(NAMESPACES)}",
            field="namespace",
        )
    try:
        return spec.namespace, normalize_external_id(spec.namespace, spec.value)
    except ValueError as exc:
        raise Unprocessable(str(exc), field=spec.namespace) from None


def _year_and_date(release_date: date | None, release_year: int | None) -> int | None:
    if release_date is not None:
        if release_year is not None and release_year != release_date.year:
            raise Unprocessable("release_year does not match release_date", field="release_year")
        return release_date.year
    if release_year is not None and not 1 <= release_year <= 9999:
        raise Unprocessable("release_year must be between 1 and 9999", field="release_year")
    return release_year


def _positive(value: int | None, what: str, upper: int = 32767) -> int | None:
    if value is not None and not 0 < value <= upper:
        raise Unprocessable(f"{what} must be between 1 and {upper}", field=what)
    return value


async def require_live(
    conn: asyncpg.Connection[Any], entity_type: EntityType, entity_id: uuid.UUID
) -> uuid.UUID:
    """The live entity ``entity_id`` designates (merges followed), locked; 404 otherwise."""
    final = (await resolve_ids(conn, entity_type, [entity_id])).final.get(entity_id)
    if final is None:
        raise NotFound(f"no {entity_type} {entity_id}")
    await conn.execute(f"SELECT 1 FROM {TABLES[entity_type]} WHERE id = $1 FOR UPDATE", final)
    return final


async def _ensure_artists_by_name(
    conn: asyncpg.Connection[Any], names: Sequence[str]
) -> tuple[dict[str, uuid.UUID], list[uuid.UUID]]:
    """The oldest live artist of each (normalised) name, creating those that are missing."""
    norms = {normalize_artist(n): n.strip() for n in names}
    found = await conn.fetch(
        """
        SELECT DISTINCT ON (name_norm) name_norm, id FROM artists
        WHERE name_norm = ANY($1::text[]) AND deleted_at IS NULL ORDER BY name_norm, id
        """,
        list(norms),
    )
    ids = {r["name_norm"]: as_uuid(r["id"]) for r in found}
    created = []
    for norm, name in norms.items():
        if norm not in ids:
            artist_id = ids[norm] = new_id()
            await conn.execute(
                "INSERT INTO artists (id, name, sort_name, name_norm, name_search, source) "
                "VALUES ($1, $2, $3, $4, $5, 'admin')",
                artist_id,
                name,
                sort_name_for(name),
                norm,
                normalize_text(name),
            )
            created.append(artist_id)
    return ids, created


@dataclass(frozen=True)
class _ResolvedCredit:
    artist_id: uuid.UUID
    credited_name: str
    join_phrase: str


async def _resolve_credits(
    conn: asyncpg.Connection[Any], specs: Sequence[CreditSpec]
) -> tuple[list[_ResolvedCredit], list[uuid.UUID]]:
    if not specs:
        raise Unprocessable("at least one artist credit is required", field="credits")
    if len(specs) > 50:
        raise Unprocessable("at most 50 artist credits", field="credits")
    by_id = [s.artist_id for s in specs if s.artist_id is not None]
    resolved = await resolve_ids(conn, "artist", by_id)
    names_needed = [s.name for s in specs if s.artist_id is None]
    for spec in specs:
        if spec.artist_id is None and (spec.name is None or not normalize_artist(spec.name)):
            raise Unprocessable("a credit needs an artist_id or a name", field="credits")
    by_name, created = await _ensure_artists_by_name(conn, [n for n in names_needed if n])
    unknown = [str(i) for i in by_id if i not in resolved.final]
    if unknown:
        raise Unprocessable(f"unknown artist ids: {', '.join(unknown)}", field="credits")
    artist_names = {
        as_uuid(r["id"]): r["name"]
        for r in await conn.fetch(
            "SELECT id, name FROM artists WHERE id = ANY($1::uuid[])", list(resolved.final.values())
        )
    }
    credits = []
    for position, spec in enumerate(specs):
        if spec.artist_id is not None:
            artist_id = resolved.final[spec.artist_id]
            name = (spec.name or "").strip() or artist_names[artist_id]
        else:
            assert spec.name is not None
            artist_id = by_name[normalize_artist(spec.name)]
            name = spec.name.strip()
        last = position == len(specs) - 1
        credits.append(_ResolvedCredit(artist_id, name, "" if last else spec.join_phrase))
    return credits, created


def _printed(credits: Sequence[_ResolvedCredit]) -> str:
    return "".join(c.credited_name + c.join_phrase for c in credits).strip()


async def _write_credits(
    conn: asyncpg.Connection[Any],
    entity_type: EntityType,
    entity_id: uuid.UUID,
    credits: Sequence[_ResolvedCredit],
) -> None:
    table, key = (
        ("track_credits", "track_id") if entity_type == "track" else ("album_credits", "album_id")
    )
    await conn.execute(f"DELETE FROM {table} WHERE {key} = $1", entity_id)
    await conn.executemany(
        f"INSERT INTO {table} ({key}, position, artist_id, credited_name, join_phrase) "
        "VALUES ($1, $2, $3, $4, $5)",
        [
            (entity_id, i, c.artist_id, c.credited_name, c.join_phrase)
            for i, c in enumerate(credits)
        ],
    )
    printed = _printed(credits)
    await conn.execute(
        f"UPDATE {TABLES[entity_type]} SET artist_names = $2, artist_names_search = $3, "
        "primary_artist_id = $4 WHERE id = $1",
        entity_id,
        printed,
        normalize_text(printed),
        credits[0].artist_id,
    )


async def add_external_ids(
    conn: asyncpg.Connection[Any],
    entity_type: EntityType,
    entity_id: uuid.UUID,
    specs: Sequence[ExternalIdSpec],
) -> int:
    """Attach external ids; 409 when one belongs to another entity. Returns how many were new."""
    values = list(dict.fromkeys(_external_id(s) for s in specs))
    if not values:
        return 0
    taken = await conn.fetch(
        """
        SELECT e.namespace, e.value, e.entity_id FROM external_ids e
        JOIN unnest($2::text[], $3::text[]) AS v(namespace, value)
            ON e.namespace = v.namespace AND e.value = v.value
        WHERE e.entity_type = $1 AND e.entity_id <> $4
        """,
        entity_type,
        [v[0] for v in values],
        [v[1] for v in values],
        entity_id,
    )
    if taken:
        first = taken[0]
        raise Conflict(
            f"{first['namespace']} {first['value']} already identifies {entity_type} "
            f"{first['entity_id']}",
            namespace=first["namespace"],
            value=first["value"],
            holder=str(first["entity_id"]),
        )
    result = await conn.fetch(
        """
        INSERT INTO external_ids (entity_type, namespace, value, entity_id)
        SELECT $1, v.namespace, v.value, $4
        FROM unnest($2::text[], $3::text[]) AS v(namespace, value)
        ON CONFLICT DO NOTHING RETURNING value
        """,
        entity_type,
        [v[0] for v in values],
        [v[1] for v in values],
        entity_id,
    )
    return len(result)


_SLUG = re.compile(r"[^a-z0-9]+")


def genre_slug(name: str) -> str:
    slug = _SLUG.sub("-", normalize_text(name)).strip("-")
    if not slug:
        raise Unprocessable(f"genre {name!r} has no letters or digits", field="genres")
    return slug


async def ensure_genres(conn: asyncpg.Connection[Any], names: Sequence[str]) -> list[uuid.UUID]:
    """Genre ids by name (matched on their slug), creating the missing ones."""
    wanted: dict[str, str] = {}
    for name in names:
        clean = _not_blank(name, "genre")
        if len(clean) > 100:
            raise Unprocessable("a genre name is at most 100 characters", field="genres")
        wanted.setdefault(genre_slug(clean), clean)
    if not wanted:
        return []
    await conn.execute(
        """
        INSERT INTO genres (id, name, slug)
        SELECT g.id, g.name, g.slug
        FROM unnest($1::uuid[], $2::text[], $3::text[]) AS g(id, name, slug)
        ORDER BY g.slug
        ON CONFLICT (slug) DO NOTHING
        """,
        [new_id() for _ in wanted],
        list(wanted.values()),
        list(wanted),
    )
    found = await conn.fetch(
        "SELECT slug, id FROM genres WHERE slug = ANY($1::text[])", list(wanted)
    )
    ids = {r["slug"]: as_uuid(r["id"]) for r in found}
    return [ids[slug] for slug in wanted]


_GENRE_LINKS: dict[EntityType, tuple[str, str]] = {
    "track": ("track_genres", "track_id"),
    "album": ("album_genres", "album_id"),
    "artist": ("artist_genres", "artist_id"),
}


async def _link_genres(
    conn: asyncpg.Connection[Any],
    entity_type: EntityType,
    entity_id: uuid.UUID,
    genre_ids: Sequence[uuid.UUID],
    *,
    replace: bool,
) -> None:
    table, key = _GENRE_LINKS[entity_type]
    if replace:
        await conn.execute(
            f"DELETE FROM {table} WHERE {key} = $1 AND NOT (genre_id = ANY($2::uuid[]))",
            entity_id,
            list(genre_ids),
        )
    await conn.execute(
        f"INSERT INTO {table} ({key}, genre_id) SELECT $1, g FROM unnest($2::uuid[]) AS g "
        "ON CONFLICT DO NOTHING",
        entity_id,
        list(genre_ids),
    )


async def _touch(
    conn: asyncpg.Connection[Any], entity_type: EntityType, entity_id: uuid.UUID
) -> None:
    await conn.execute(
        f"UPDATE {TABLES[entity_type]} SET updated_at = now() WHERE id = $1",
        entity_id,
    )


# --- artists -------------------------------------------------------------------------------


async def create_artist(session: AsyncSession, fields: ArtistFields) -> uuid.UUID:
    conn = await driver_connection(session)
    name = _not_blank(fields.name, "name")
    if not normalize_artist(name):
        raise Unprocessable("the name has no letters or digits", field="name")
    artist_id = new_id()
    sort_name = (
        _not_blank(fields.sort_name, "sort_name") if fields.sort_name else sort_name_for(name)
    )
    await conn.execute(
        "INSERT INTO artists (id, name, sort_name, name_norm, name_search, source) "
        "VALUES ($1, $2, $3, $4, $5, 'admin')",
        artist_id,
        name,
        sort_name,
        normalize_artist(name),
        normalize_text(name),
    )
    await add_external_ids(conn, "artist", artist_id, fields.external_ids)
    await _link_genres(
        conn, "artist", artist_id, await ensure_genres(conn, fields.genres), replace=True
    )
    await events.publish_changed(session, "artist", [artist_id], created=True)
    return artist_id


async def update_artist(session: AsyncSession, artist_id: uuid.UUID, changes: Changes) -> uuid.UUID:
    conn = await driver_connection(session)
    artist_id = await require_live(conn, "artist", artist_id)
    if "name" in changes:
        name = _not_blank(changes["name"], "name")
        if not normalize_artist(name):
            raise Unprocessable("the name has no letters or digits", field="name")
        await conn.execute(
            "UPDATE artists SET name = $2, name_norm = $3, name_search = $4 WHERE id = $1",
            artist_id,
            name,
            normalize_artist(name),
            normalize_text(name),
        )
        if "sort_name" not in changes:
            await conn.execute(
                "UPDATE artists SET sort_name = $2 WHERE id = $1", artist_id, sort_name_for(name)
            )
    if "sort_name" in changes:
        await conn.execute(
            "UPDATE artists SET sort_name = $2 WHERE id = $1",
            artist_id,
            _not_blank(changes["sort_name"], "sort_name"),
        )
    if "external_ids" in changes:
        await add_external_ids(conn, "artist", artist_id, changes["external_ids"])
    if "genres" in changes:
        genre_ids = await ensure_genres(conn, changes["genres"])
        await _link_genres(conn, "artist", artist_id, genre_ids, replace=True)
    await _touch(conn, "artist", artist_id)
    await events.publish_changed(session, "artist", [artist_id])
    return artist_id


# --- albums --------------------------------------------------------------------------------


async def create_album(session: AsyncSession, fields: AlbumFields) -> uuid.UUID:
    conn = await driver_connection(session)
    title = _not_blank(fields.title, "title")
    if fields.album_type not in ALBUM_TYPES:
        raise Unprocessable(
            f"album_type must be one of {', '.join(ALBUM_TYPES)}", field="album_type"
        )
    year = _year_and_date(fields.release_date, fields.release_year)
    _positive(fields.total_tracks, "total_tracks")
    credits, new_artists = await _resolve_credits(conn, fields.credits)
    parsed = parse_title(title)
    album_id = new_id()
    await conn.execute(
        """
        INSERT INTO albums (id, title, title_norm, title_variant, title_search, album_type,
            release_date, release_year, total_tracks, cover_url, primary_artist_id, source)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'admin')
        """,
        album_id,
        title,
        parsed.norm,
        parsed.variant,
        normalize_text(title),
        fields.album_type,
        fields.release_date,
        year,
        fields.total_tracks,
        fields.cover_url,
        credits[0].artist_id,
    )
    await _write_credits(conn, "album", album_id, credits)
    await add_external_ids(conn, "album", album_id, fields.external_ids)
    await _link_genres(
        conn, "album", album_id, await ensure_genres(conn, fields.genres), replace=True
    )
    await events.publish_changed(session, "artist", new_artists, created=True)
    await events.publish_changed(session, "album", [album_id], created=True)
    return album_id


async def update_album(session: AsyncSession, album_id: uuid.UUID, changes: Changes) -> uuid.UUID:
    conn = await driver_connection(session)
    album_id = await require_live(conn, "album", album_id)
    current = await conn.fetchrow(
        "SELECT title, release_date, release_year FROM albums WHERE id = $1", album_id
    )
    assert current is not None
    tracks_changed = False
    if "title" in changes:
        title = _not_blank(changes["title"], "title")
        parsed = parse_title(title)
        await conn.execute(
            "UPDATE albums SET title = $2, title_norm = $3, title_variant = $4, title_search = $5 "
            "WHERE id = $1",
            album_id,
            title,
            parsed.norm,
            parsed.variant,
            normalize_text(title),
        )
        await conn.execute(
            "UPDATE tracks SET album_title_search = $2, updated_at = now() WHERE album_id = $1",
            album_id,
            normalize_text(title),
        )
        tracks_changed = title != current["title"]
    if "album_type" in changes:
        if changes["album_type"] not in ALBUM_TYPES:
            raise Unprocessable(
                f"album_type must be one of {', '.join(ALBUM_TYPES)}", field="album_type"
            )
        await conn.execute(
            "UPDATE albums SET album_type = $2 WHERE id = $1", album_id, changes["album_type"]
        )
    if "release_date" in changes or "release_year" in changes:
        release_date = (
            changes["release_date"] if "release_date" in changes else current["release_date"]
        )
        release_year = changes.values.get("release_year")
        if (
            "release_date" in changes
            and changes["release_date"] is None
            and "release_year" not in changes
        ):
            release_year = current["release_year"]
        year = _year_and_date(release_date, release_year)
        await conn.execute(
            "UPDATE albums SET release_date = $2, release_year = $3 WHERE id = $1",
            album_id,
            release_date,
            year,
        )
    if "total_tracks" in changes:
        await conn.execute(
            "UPDATE albums SET total_tracks = $2 WHERE id = $1",
            album_id,
            _positive(changes["total_tracks"], "total_tracks"),
        )
    if "cover_url" in changes:
        await conn.execute(
            "UPDATE albums SET cover_url = $2 WHERE id = $1", album_id, changes["cover_url"]
        )
    new_artists: list[uuid.UUID] = []
    if "credits" in changes:
        credits, new_artists = await _resolve_credits(conn, changes["credits"])
        await _write_credits(conn, "album", album_id, credits)
    if "external_ids" in changes:
        await add_external_ids(conn, "album", album_id, changes["external_ids"])
    if "genres" in changes:
        genre_ids = await ensure_genres(conn, changes["genres"])
        await _link_genres(conn, "album", album_id, genre_ids, replace=True)
    await _touch(conn, "album", album_id)
    await events.publish_changed(session, "artist", new_artists, created=True)
    await events.publish_changed(session, "album", [album_id])
    if tracks_changed:
        track_ids = await conn.fetch(
            "SELECT id FROM tracks WHERE album_id = $1 AND deleted_at IS NULL ORDER BY id", album_id
        )
        await events.publish_changed(session, "track", [as_uuid(r["id"]) for r in track_ids])
    return album_id


# --- tracks --------------------------------------------------------------------------------


async def _album_title_search(
    conn: asyncpg.Connection[Any], album_id: uuid.UUID | None
) -> tuple[uuid.UUID | None, str]:
    if album_id is None:
        return None, ""
    final = (await resolve_ids(conn, "album", [album_id])).final.get(album_id)
    if final is None:
        raise Unprocessable(f"no album {album_id}", field="album_id")
    title = await conn.fetchval("SELECT title FROM albums WHERE id = $1", final)
    return final, normalize_text(title)


async def create_track(session: AsyncSession, fields: TrackFields) -> uuid.UUID:
    conn = await driver_connection(session)
    title = _not_blank(fields.title, "title")
    _positive(fields.duration_ms, "duration_ms", 2_147_483_647)
    _positive(fields.disc_number, "disc_number")
    _positive(fields.track_number, "track_number")
    album_id, album_search = await _album_title_search(conn, fields.album_id)
    credits, new_artists = await _resolve_credits(conn, fields.credits)
    parsed = parse_title(title)
    track_id = new_id()
    await conn.execute(
        """
        INSERT INTO tracks (id, title, title_norm, title_variant, title_search, album_id,
            album_title_search, disc_number, track_number, duration_ms, explicit,
            primary_artist_id, source)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'admin')
        """,
        track_id,
        title,
        parsed.norm,
        parsed.variant,
        normalize_text(title),
        album_id,
        album_search,
        fields.disc_number,
        fields.track_number,
        fields.duration_ms,
        fields.explicit,
        credits[0].artist_id,
    )
    await _write_credits(conn, "track", track_id, credits)
    await add_external_ids(conn, "track", track_id, fields.external_ids)
    await _link_genres(
        conn, "track", track_id, await ensure_genres(conn, fields.genres), replace=True
    )
    await events.publish_changed(session, "artist", new_artists, created=True)
    await events.publish_changed(session, "track", [track_id], created=True)
    return track_id


async def update_track(session: AsyncSession, track_id: uuid.UUID, changes: Changes) -> uuid.UUID:
    conn = await driver_connection(session)
    track_id = await require_live(conn, "track", track_id)
    if "title" in changes:
        title = _not_blank(changes["title"], "title")
        parsed = parse_title(title)
        await conn.execute(
            "UPDATE tracks SET title = $2, title_norm = $3, title_variant = $4, title_search = $5 "
            "WHERE id = $1",
            track_id,
            title,
            parsed.norm,
            parsed.variant,
            normalize_text(title),
        )
    if "album_id" in changes:
        album_id, album_search = await _album_title_search(conn, changes["album_id"])
        await conn.execute(
            "UPDATE tracks SET album_id = $2, album_title_search = $3 WHERE id = $1",
            track_id,
            album_id,
            album_search,
        )
    for name, upper in (
        ("disc_number", 32767),
        ("track_number", 32767),
        ("duration_ms", 2_147_483_647),
    ):
        if name in changes:
            await conn.execute(
                f"UPDATE tracks SET {name} = $2 WHERE id = $1",
                track_id,
                _positive(changes[name], name, upper),
            )
    if "explicit" in changes:
        await conn.execute(
            "UPDATE tracks SET explicit = $2 WHERE id = $1", track_id, bool(changes["explicit"])
        )
    new_artists: list[uuid.UUID] = []
    if "credits" in changes:
        credits, new_artists = await _resolve_credits(conn, changes["credits"])
        await _write_credits(conn, "track", track_id, credits)
    if "external_ids" in changes:
        await add_external_ids(conn, "track", track_id, changes["external_ids"])
    if "genres" in changes:
        genre_ids = await ensure_genres(conn, changes["genres"])
        await _link_genres(conn, "track", track_id, genre_ids, replace=True)
    await _touch(conn, "track", track_id)
    await events.publish_changed(session, "artist", new_artists, created=True)
    await events.publish_changed(session, "track", [track_id])
    return track_id


# --- any entity ----------------------------------------------------------------------------


async def delete(session: AsyncSession, entity_type: EntityType, entity_id: uuid.UUID) -> None:
    """Soft delete: reads answer 404, the row stays for a restore. Merged ids cannot be
    deleted (delete the survivor)."""
    conn = await driver_connection(session)
    deleted_at = await conn.fetchval(
        f"UPDATE {TABLES[entity_type]} SET deleted_at = now(), updated_at = now() "
        "WHERE id = $1 AND deleted_at IS NULL RETURNING deleted_at",
        entity_id,
    )
    if deleted_at is None:
        raise NotFound(f"no {entity_type} {entity_id}")
    await events.publish_deleted(session, entity_type, entity_id, deleted_at)


async def restore(session: AsyncSession, entity_type: EntityType, entity_id: uuid.UUID) -> None:
    """Undo a delete (not a merge: a merged id keeps redirecting)."""
    conn = await driver_connection(session)
    restored = await conn.fetchval(
        f"""
        UPDATE {TABLES[entity_type]} e SET deleted_at = NULL, updated_at = now()
        WHERE e.id = $1 AND e.deleted_at IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM redirects r WHERE r.entity_type = $2 AND r.from_id = e.id)
        RETURNING e.id
        """,
        entity_id,
        entity_type,
    )
    if restored is None:
        raise NotFound(f"no deleted {entity_type} {entity_id}")
    await events.publish_changed(session, entity_type, [entity_id])


async def set_genres(
    session: AsyncSession,
    entity_type: EntityType,
    entity_id: uuid.UUID,
    names: Sequence[str],
    *,
    replace: bool = True,
) -> uuid.UUID:
    """Tag an entity with genres (created on first use); ``replace`` drops the others."""
    conn = await driver_connection(session)
    entity_id = await require_live(conn, entity_type, entity_id)
    await _link_genres(
        conn, entity_type, entity_id, await ensure_genres(conn, names), replace=replace
    )
    await _touch(conn, entity_type, entity_id)
    await events.publish_changed(session, entity_type, [entity_id])
    return entity_id


async def attach_external_id(
    session: AsyncSession, entity_type: EntityType, entity_id: uuid.UUID, spec: ExternalIdSpec
) -> uuid.UUID:
    conn = await driver_connection(session)
    entity_id = await require_live(conn, entity_type, entity_id)
    if await add_external_ids(conn, entity_type, entity_id, [spec]):
        await _touch(conn, entity_type, entity_id)
        await events.publish_changed(session, entity_type, [entity_id])
    return entity_id


async def detach_external_id(
    session: AsyncSession, entity_type: EntityType, entity_id: uuid.UUID, namespace: str, value: str
) -> None:
    conn = await driver_connection(session)
    entity_id = await require_live(conn, entity_type, entity_id)
    namespace, value = _external_id(ExternalIdSpec(namespace, value))
    removed = await conn.fetchval(
        "DELETE FROM external_ids WHERE entity_type = $1 AND namespace = $2 AND value = $3 "
        "AND entity_id = $4 RETURNING value",
        entity_type,
        namespace,
        value,
        entity_id,
    )
    if removed is None:
        raise NotFound(f"{entity_type} {entity_id} has no {namespace} {value}")
    await _touch(conn, entity_type, entity_id)
    await events.publish_changed(session, entity_type, [entity_id])


async def add_image(
    session: AsyncSession,
    entity_type: EntityType,
    entity_id: uuid.UUID,
    *,
    url: str,
    kind: str = "cover",
    width: int | None = None,
    height: int | None = None,
    source: str | None = None,
) -> uuid.UUID:
    """Add an image (idempotent per URL); returns the image id."""
    conn = await driver_connection(session)
    entity_id = await require_live(conn, entity_type, entity_id)
    url = _not_blank(url, "url")
    if not url.startswith(("https://", "http://")):
        raise Unprocessable("an image url must be http(s)", field="url")
    if (width is None) != (height is None):
        raise Unprocessable("give both width and height, or neither", field="width")
    _positive(width, "width", 100_000)
    _positive(height, "height", 100_000)
    image_id = await conn.fetchval(
        """
        INSERT INTO images (id, entity_type, entity_id, url, kind, width, height, source)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (entity_type, entity_id, url) DO UPDATE
            SET kind = EXCLUDED.kind, width = EXCLUDED.width, height = EXCLUDED.height,
                source = EXCLUDED.source
        RETURNING id
        """,
        new_id(),
        entity_type,
        entity_id,
        url,
        _not_blank(kind, "kind"),
        width,
        height,
        source,
    )
    await _touch(conn, entity_type, entity_id)
    await events.publish_changed(session, entity_type, [entity_id])
    return as_uuid(image_id)


_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


async def set_description(
    session: AsyncSession,
    entity_type: EntityType,
    entity_id: uuid.UUID,
    *,
    text: str,
    source: str,
    language: str,
) -> uuid.UUID:
    """Set the description from ``source`` in ``language`` (one per source and language)."""
    conn = await driver_connection(session)
    entity_id = await require_live(conn, entity_type, entity_id)
    if not _LANGUAGE.match(language):
        raise Unprocessable(
            "language must be a BCP 47 tag such as 'en' or 'pt-BR'", field="language"
        )
    body = (text or "").strip()
    if not body:
        raise Unprocessable("text must not be blank", field="text")
    if len(body) > 20_000:
        raise Unprocessable("text is at most 20,000 characters", field="text")
    description_id = await conn.fetchval(
        """
        INSERT INTO descriptions (id, entity_type, entity_id, text, source, language)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (entity_type, entity_id, source, language) DO UPDATE
            SET text = EXCLUDED.text, updated_at = now()
        RETURNING id
        """,
        new_id(),
        entity_type,
        entity_id,
        body,
        _not_blank(source, "source"),
        language,
    )
    await _touch(conn, entity_type, entity_id)
    await events.publish_changed(session, entity_type, [entity_id])
    return as_uuid(description_id)


async def create_genre(session: AsyncSession, name: str) -> uuid.UUID:
    conn = await driver_connection(session)
    (genre_id,) = await ensure_genres(conn, [name])
    return genre_id
