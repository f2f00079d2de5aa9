"""The catalog's tables, all in PostgreSQL schema ``catalog`` (and in no other metadata).

One row per real artist, album and track. What the database keeps itself:

* positive durations, disc and track numbers; known album types; a release year that
  agrees with the release date;
* external ids unique per (entity type, namespace, value), namespaces from a fixed list,
  ISRCs in their canonical shape;
* ordered credits (position, credited name, join phrase) with foreign keys to artists;
* one redirect per merged id, never to itself.

Normalised columns (``*_norm``, ``*_search``) are computed by :mod:`medley_catalog.normalize`
on every write; the full-text vectors are generated columns over them, and a statement-level
trigger (see the migration) keeps the search vocabulary (``search_words``) in step.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    Date,
    Index,
    Integer,
    SmallInteger,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlmodel import Field, SQLModel

from medley_core.db import one_of, schema_metadata
from medley_core.events.tables import event_tables
from medley_core.models import text_column, timestamp, uuid_fk, uuid_pk

SCHEMA = "catalog"

ENTITY_TYPES = ("track", "album", "artist")
ALBUM_TYPES = ("album", "single", "ep", "compilation")
NAMESPACES = ("isrc", "mbid", "spotify", "discogs", "lastfm", "local")
ISRC_REGEX = "^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$"
# The indexed expressions of the trigram indexes; queries use them verbatim (`expr % $1`).
TRGM_ARTIST_NAME = "(' ' || name_norm)"
TRGM_WORD = "(' ' || word)"
# GIN indexes buffer inserts in a pending list that every lookup scans linearly (and only
# VACUUM or a full list flushes it). Artist trigram lookups run once per unknown name of a
# resolution batch: no list at all. The vocabulary takes many new words per batch and a few
# lookups per search: a very short list (256 kB). Full-text indexes take bulk inserts: a
# short list (1 MB) keeps searches fast between flushes.
NO_PENDING_LIST = {"fastupdate": "off"}
SHORT_PENDING_LIST = {"gin_pending_list_limit": "256"}
SMALL_PENDING_LIST = {"gin_pending_list_limit": "1024"}


class CatalogModel(SQLModel):
    """Base of every catalog table: its own metadata, schema ``catalog``."""

    metadata = schema_metadata(SCHEMA)


# The catalog's columns: medley_core's, with the catalog's defaults (text is NOT NULL).
_uuid_pk = uuid_pk
_text = text_column


def _fk(target: str, **options: Any) -> Column[uuid.UUID]:
    return uuid_fk(f"{SCHEMA}.{target}", **options)


def _created() -> Any:
    return timestamp(nullable=False, now=True)


def _deleted() -> Any:
    return timestamp()


def _vector(expression: str) -> Any:
    return Field(
        default=None,
        sa_column=Column(TSVECTOR, Computed(expression, persisted=True), nullable=True),
    )


def _live(column: str) -> Any:
    return text(f"{column} IS NULL")


class Artist(CatalogModel, table=True):
    __tablename__ = "artists"
    __table_args__ = (
        CheckConstraint("length(btrim(name)) > 0", name="name_not_blank"),
        Index(
            "ix_artists_name_norm_live",
            "name_norm",
            "id",
            postgresql_where=_live("deleted_at"),
        ),
        # Trigrams of ' ' || name_norm (the same trigrams as name_norm's): an expression the
        # planner cannot mistake for an equality index (pg_trgm's GIN answers = slowly).
        Index(
            "ix_artists_name_trgm", text(TRGM_ARTIST_NAME + " gin_trgm_ops"), postgresql_using="gin"
        ),
        Index(
            "ix_artists_search_vector",
            "search_vector",
            postgresql_using="gin",
            postgresql_with=SMALL_PENDING_LIST,
        ),
        Index("ix_artists_source_live", "source", "id", postgresql_where=_live("deleted_at")),
    )

    id: uuid.UUID = _uuid_pk()
    name: str = _text()
    sort_name: str = _text()
    # Identity for matching: folded, "&" as "and", no leading "The".
    name_norm: str = _text()
    # What search sees: the folded name, "The" kept.
    name_search: str = _text()
    search_vector: str | None = _vector("to_tsvector('simple'::regconfig, name_search)")
    source: str | None = _text(nullable=True)
    created_at: datetime | None = _created()
    updated_at: datetime | None = _created()
    deleted_at: datetime | None = _deleted()


class Album(CatalogModel, table=True):
    __tablename__ = "albums"
    __table_args__ = (
        CheckConstraint("length(btrim(title)) > 0", name="title_not_blank"),
        CheckConstraint(one_of("album_type", ALBUM_TYPES), name="known_album_type"),
        CheckConstraint("release_year BETWEEN 1 AND 9999", name="release_year_range"),
        CheckConstraint(
            "release_date IS NULL OR release_year = EXTRACT(YEAR FROM release_date)::int",
            name="release_year_matches_date",
        ),
        CheckConstraint("total_tracks > 0", name="total_tracks_positive"),
        Index(
            "ix_albums_title_norm_live", "title_norm", "id", postgresql_where=_live("deleted_at")
        ),
        Index(
            "ix_albums_release_year_live",
            "release_year",
            "id",
            postgresql_where=_live("deleted_at"),
        ),
        Index("ix_albums_source_live", "source", "id", postgresql_where=_live("deleted_at")),
        Index("ix_albums_primary_artist_id", "primary_artist_id"),
        Index(
            "ix_albums_search_vector",
            "search_vector",
            postgresql_using="gin",
            postgresql_with=SMALL_PENDING_LIST,
        ),
    )

    id: uuid.UUID = _uuid_pk()
    title: str = _text()
    # Identity: normalised title without featuring credits and variant markers.
    title_norm: str = _text()
    # The variant marker split off the title ("deluxe edition", "2011 remaster"), or "".
    title_variant: str = _text(default="")
    title_search: str = _text()
    album_type: str = _text(default="album")
    release_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    release_year: int | None = Field(default=None, sa_column=Column(SmallInteger, nullable=True))
    total_tracks: int | None = Field(default=None, sa_column=Column(SmallInteger, nullable=True))
    cover_url: str | None = _text(nullable=True)
    # Denormalised credits, kept in step with album_credits on every write.
    artist_names: str = _text(default="")
    artist_names_search: str = _text(default="")
    primary_artist_id: uuid.UUID | None = Field(
        default=None, sa_column=_fk("artists.id", nullable=True)
    )
    source: str | None = _text(nullable=True)
    search_vector: str | None = _vector(
        "setweight(to_tsvector('simple'::regconfig, title_search), 'A') || "
        "setweight(to_tsvector('simple'::regconfig, artist_names_search), 'B')"
    )
    created_at: datetime | None = _created()
    updated_at: datetime | None = _created()
    deleted_at: datetime | None = _deleted()


class Track(CatalogModel, table=True):
    __tablename__ = "tracks"
    __table_args__ = (
        CheckConstraint("length(btrim(title)) > 0", name="title_not_blank"),
        CheckConstraint("duration_ms > 0", name="duration_positive"),
        CheckConstraint("disc_number > 0", name="disc_number_positive"),
        CheckConstraint("track_number > 0", name="track_number_positive"),
        CheckConstraint("play_count >= 0", name="play_count_not_negative"),
        Index(
            "ix_tracks_title_norm_live", "title_norm", "id", postgresql_where=_live("deleted_at")
        ),
        Index(
            "ix_tracks_popularity_live",
            text("play_count DESC"),
            text("id DESC"),
            postgresql_where=_live("deleted_at"),
        ),
        Index("ix_tracks_album_position", "album_id", "disc_number", "track_number"),
        # Covering: fuzzy resolution reads an artist's titles from the index alone.
        Index(
            "ix_tracks_primary_artist_title",
            "primary_artist_id",
            "title_norm",
            postgresql_include=["id", "deleted_at"],
        ),
        Index(
            "ix_tracks_search_vector",
            "search_vector",
            postgresql_using="gin",
            postgresql_with=SMALL_PENDING_LIST,
        ),
    )

    id: uuid.UUID = _uuid_pk()
    title: str = _text()
    title_norm: str = _text()
    title_variant: str = _text(default="")
    title_search: str = _text()
    album_id: uuid.UUID | None = Field(default=None, sa_column=_fk("albums.id", nullable=True))
    # The album's title as search sees it, kept in step with the album.
    album_title_search: str = _text(default="")
    disc_number: int | None = Field(default=None, sa_column=Column(SmallInteger, nullable=True))
    track_number: int | None = Field(default=None, sa_column=Column(SmallInteger, nullable=True))
    duration_ms: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    explicit: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false"))
    )
    artist_names: str = _text(default="")
    artist_names_search: str = _text(default="")
    primary_artist_id: uuid.UUID | None = Field(
        default=None, sa_column=_fk("artists.id", nullable=True)
    )
    # Global plays (popularity), summed from ingestion.listens.recorded.
    play_count: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, server_default=text("0"))
    )
    source: str | None = _text(nullable=True)
    search_vector: str | None = _vector(
        "setweight(to_tsvector('simple'::regconfig, title_search), 'A') || "
        "setweight(to_tsvector('simple'::regconfig, artist_names_search), 'B') || "
        "setweight(to_tsvector('simple'::regconfig, album_title_search), 'C')"
    )
    created_at: datetime | None = _created()
    updated_at: datetime | None = _created()
    deleted_at: datetime | None = _deleted()


class TrackCredit(CatalogModel, table=True):
    __tablename__ = "track_credits"
    __table_args__ = (
        CheckConstraint("position >= 0", name="position_not_negative"),
        Index("ix_track_credits_artist_id", "artist_id", "track_id"),
    )

    track_id: uuid.UUID = Field(sa_column=_fk("tracks.id", ondelete="CASCADE", primary_key=True))
    position: int = Field(sa_column=Column(SmallInteger, primary_key=True))
    artist_id: uuid.UUID = Field(sa_column=_fk("artists.id"))
    credited_name: str = _text()
    join_phrase: str = _text(default="")


class AlbumCredit(CatalogModel, table=True):
    __tablename__ = "album_credits"
    __table_args__ = (
        CheckConstraint("position >= 0", name="position_not_negative"),
        Index("ix_album_credits_artist_id", "artist_id", "album_id"),
    )

    album_id: uuid.UUID = Field(sa_column=_fk("albums.id", ondelete="CASCADE", primary_key=True))
    position: int = Field(sa_column=Column(SmallInteger, primary_key=True))
    artist_id: uuid.UUID = Field(sa_column=_fk("artists.id"))
    credited_name: str = _text()
    join_phrase: str = _text(default="")


class Genre(CatalogModel, table=True):
    __tablename__ = "genres"
    __table_args__ = (
        CheckConstraint("length(btrim(name)) > 0", name="name_not_blank"),
        CheckConstraint("slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'", name="slug_format"),
        UniqueConstraint("slug"),
    )

    id: uuid.UUID = _uuid_pk()
    name: str = _text()
    slug: str = _text()
    created_at: datetime | None = _created()


class TrackGenre(CatalogModel, table=True):
    __tablename__ = "track_genres"
    __table_args__ = (Index("ix_track_genres_genre_id", "genre_id", "track_id"),)

    track_id: uuid.UUID = Field(sa_column=_fk("tracks.id", ondelete="CASCADE", primary_key=True))
    genre_id: uuid.UUID = Field(sa_column=_fk("genres.id", ondelete="CASCADE", primary_key=True))


class AlbumGenre(CatalogModel, table=True):
    __tablename__ = "album_genres"
    __table_args__ = (Index("ix_album_genres_genre_id", "genre_id", "album_id"),)

    album_id: uuid.UUID = Field(sa_column=_fk("albums.id", ondelete="CASCADE", primary_key=True))
    genre_id: uuid.UUID = Field(sa_column=_fk("genres.id", ondelete="CASCADE", primary_key=True))


class ArtistGenre(CatalogModel, table=True):
    __tablename__ = "artist_genres"
    __table_args__ = (Index("ix_artist_genres_genre_id", "genre_id", "artist_id"),)

    artist_id: uuid.UUID = Field(sa_column=_fk("artists.id", ondelete="CASCADE", primary_key=True))
    genre_id: uuid.UUID = Field(sa_column=_fk("genres.id", ondelete="CASCADE", primary_key=True))


class ExternalId(CatalogModel, table=True):
    """An id the entity has elsewhere. One entity per (entity type, namespace, value)."""

    __tablename__ = "external_ids"
    __table_args__ = (
        CheckConstraint(one_of("entity_type", ENTITY_TYPES), name="known_entity_type"),
        CheckConstraint(one_of("namespace", NAMESPACES), name="known_namespace"),
        CheckConstraint(f"namespace <> 'isrc' OR value ~ '{ISRC_REGEX}'", name="isrc_format"),
        CheckConstraint("length(value) BETWEEN 1 AND 200", name="value_length"),
        Index("ix_external_ids_entity", "entity_type", "entity_id"),
    )

    entity_type: str = Field(sa_column=Column(Text, primary_key=True))
    namespace: str = Field(sa_column=Column(Text, primary_key=True))
    value: str = Field(sa_column=Column(Text, primary_key=True))
    entity_id: uuid.UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), nullable=False))
    created_at: datetime | None = _created()


class Image(CatalogModel, table=True):
    __tablename__ = "images"
    __table_args__ = (
        CheckConstraint(one_of("entity_type", ENTITY_TYPES), name="known_entity_type"),
        CheckConstraint("width > 0 AND height > 0", name="dimensions_positive"),
        UniqueConstraint("entity_type", "entity_id", "url"),
    )

    id: uuid.UUID = _uuid_pk()
    entity_type: str = _text()
    entity_id: uuid.UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), nullable=False))
    url: str = _text()
    kind: str = _text(default="cover")
    width: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    height: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    source: str | None = _text(nullable=True)
    created_at: datetime | None = _created()


class Description(CatalogModel, table=True):
    __tablename__ = "descriptions"
    __table_args__ = (
        CheckConstraint(one_of("entity_type", ENTITY_TYPES), name="known_entity_type"),
        CheckConstraint("language ~ '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$'", name="language_tag"),
        UniqueConstraint("entity_type", "entity_id", "source", "language"),
    )

    id: uuid.UUID = _uuid_pk()
    entity_type: str = _text()
    entity_id: uuid.UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), nullable=False))
    text: str = _text()
    source: str = _text()
    language: str = _text()
    created_at: datetime | None = _created()
    updated_at: datetime | None = _created()


class Redirect(CatalogModel, table=True):
    """A merged id and the survivor it resolves to (always one hop: chains are compressed)."""

    __tablename__ = "redirects"
    __table_args__ = (
        CheckConstraint(one_of("entity_type", ENTITY_TYPES), name="known_entity_type"),
        CheckConstraint("from_id <> into_id", name="not_to_itself"),
        Index("ix_redirects_into", "entity_type", "into_id"),
    )

    entity_type: str = Field(sa_column=Column(Text, primary_key=True))
    from_id: uuid.UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), primary_key=True))
    into_id: uuid.UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), nullable=False))
    merged_at: datetime | None = _created()


class SearchWord(CatalogModel, table=True):
    """The search vocabulary: every normalised word of a title or name (typo correction)."""

    __tablename__ = "search_words"
    __table_args__ = (
        Index(
            "ix_search_words_trgm",
            text(TRGM_WORD + " gin_trgm_ops"),
            postgresql_using="gin",
            postgresql_with=SHORT_PENDING_LIST,
        ),
    )

    # Byte order (COLLATE "C"): the primary key also answers prefix ranges.
    word: str = Field(sa_column=Column(Text(collation="C"), primary_key=True))


class ListenBatch(CatalogModel, table=True):
    """A batch of listens already counted (ingestion.listens.recorded is idempotent on it)."""

    __tablename__ = "listen_batches"

    batch_id: uuid.UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), primary_key=True))
    plays: int = Field(sa_column=Column(Integer, nullable=False))
    processed_at: datetime | None = _created()


EVENT_TABLES = event_tables(CatalogModel.metadata)
