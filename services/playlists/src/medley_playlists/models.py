"""The playlists service's tables, all in PostgreSQL schema ``playlists`` (and in no other
metadata).

What users own: playlists, their ordered items, collaborators and external mappings, smart
playlists (rules), collections of saved albums and artists. What the service keeps of other
contexts (projections, rebuilt from their events): catalog tracks, albums and artists, the
users' names, and each user's listening (play counts, last played, likes).

What the database keeps itself:

* an item's order key is compared byte by byte (``COLLATE "C"``), unique in its playlist,
  at most 64 bytes; a playlist holds at most 10,000 items, and its cached count and
  duration are never negative;
* known visibilities, collaborator roles, projection states and collection kinds;
* positive durations, play counts of at least one;
* items, collaborators and mappings go with their playlist.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlmodel import Field, SQLModel

from medley_core.db import one_of, schema_metadata
from medley_core.events.tables import event_tables
from medley_core.models import counter, text_column, timestamp, uuid_pk
from medley_playlists.ordering import MAX_KEY_BYTES
from medley_playlists.settings import MAX_ITEMS, SCHEMA

VISIBILITIES = ("private", "unlisted", "public")
ROLES = ("editor", "viewer")
# A projected track: in the catalog (active), deleted there, merged into another, or known
# only by id so far (an import resolved it; its catalog event has not arrived yet).
TRACK_STATES = ("active", "deleted", "merged", "pending")
ENTITY_STATES = ("active", "deleted", "merged")
COLLECTION_KINDS = ("album", "artist")


class PlaylistsModel(SQLModel):
    """Base of every playlists table: its own metadata, schema ``playlists``."""

    metadata = schema_metadata(SCHEMA)


# medley_core's columns, with the playlists' defaults (instants NOT NULL, set on insert).
_one_of = one_of
_id = uuid_pk
_str = text_column
_count = counter


def _uuid(*, nullable: bool = False, references: str | None = None) -> Any:
    target = [ForeignKey(f"{SCHEMA}.{references}", ondelete="CASCADE")] if references else []
    return Field(default=None, sa_column=Column(PG_UUID(as_uuid=True), *target, nullable=nullable))


def _when(*, nullable: bool = False, now: bool = True) -> Any:
    return timestamp(nullable=nullable, now=now)


# --- what users own ------------------------------------------------------------------------


class Playlist(PlaylistsModel, table=True):
    __tablename__ = "playlists"
    __table_args__ = (
        CheckConstraint("length(btrim(name)) BETWEEN 1 AND 200", name="name_length"),
        CheckConstraint(_one_of("visibility", VISIBILITIES), name="known_visibility"),
        CheckConstraint(f"track_count BETWEEN 0 AND {MAX_ITEMS}", name="track_count_range"),
        CheckConstraint("duration_ms >= 0", name="duration_not_negative"),
        # Keyset lists of one owner's live playlists, by each sort (created = id order).
        Index(
            "ix_playlists_owner_name",
            "owner_id",
            "name_key",
            "id",
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index(
            "ix_playlists_owner_updated",
            "owner_id",
            "updated_at",
            "id",
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index("ix_playlists_owner_id", "owner_id", "id"),
    )

    id: uuid.UUID = _id()
    owner_id: uuid.UUID = _uuid()
    name: str = _str()
    # What name sorts by: case-folded (computed in Python, compared byte by byte).
    name_key: str = Field(sa_column=Column(Text(collation="C"), nullable=False))
    description: str | None = _str(nullable=True)
    visibility: str = _str(default="private")
    collaborative: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false"))
    )
    cover_url: str | None = _str(nullable=True)
    snapshot_id: uuid.UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), nullable=False))
    track_count: int = _count()
    duration_ms: int = _count(big=True)
    created_at: datetime | None = _when()
    updated_at: datetime | None = _when()
    deleted_at: datetime | None = _when(nullable=True, now=False)


# An item as its page answers it, but for its position (which only the order gives): kept
# by PostgreSQL itself on every write of the row (a stored generated column), so a whole
# playlist reads as one index range of ready text, with no JSON built per read. The
# functions are the schema's own (migration 0003): to_json made IMMUTABLE for text and a
# UTC timestamp, written as msgspec writes one ("…Z").
ITEM_JSON = (
    """'"id":"' || id::text || '","track_id":"' || track_id::text"""
    """ || '","available":' || available::text"""
    """ || ',"added_by":' || coalesce('"' || added_by::text || '"', 'null')"""
    """ || ',"added_at":' || coalesce(playlists.json_utc(added_at), 'null')"""
    """ || ',"track":{"title":' || playlists.json_text(title)"""
    """ || ',"artist_names":' || playlists.json_text(artist_names)"""
    """ || ',"album_id":' || coalesce('"' || album_id::text || '"', 'null')"""
    """ || ',"album_title":' || coalesce(playlists.json_text(album_title), 'null')"""
    """ || ',"duration_ms":' || coalesce(duration_ms::text, 'null') || '}}'"""
)


class Item(PlaylistsModel, table=True):
    __tablename__ = "items"
    __table_args__ = (
        CheckConstraint(
            f"octet_length(sort_key) BETWEEN 1 AND {MAX_KEY_BYTES}", name="sort_key_length"
        ),
        # Deferrable: a rebalance rewrites every key of a playlist in one statement.
        UniqueConstraint(
            "playlist_id",
            "sort_key",
            name="uq_items_playlist_id_sort_key",
            deferrable=True,
            initially="IMMEDIATE",
        ),
        Index("ix_items_track_id", "track_id"),
    )

    id: uuid.UUID = _id()
    playlist_id: uuid.UUID = _uuid(references="playlists.id")
    track_id: uuid.UUID = Field(
        sa_column=Column(PG_UUID(as_uuid=True), ForeignKey(f"{SCHEMA}.tracks.id"), nullable=False)
    )
    # The order key (medley_playlists.ordering): byte order, whatever the database's locale.
    sort_key: str = Field(sa_column=Column(Text(collation="C"), nullable=False))
    added_by: uuid.UUID | None = _uuid(nullable=True)
    added_at: datetime | None = _when()
    # What the item shows of its track, kept in step by the projection in the transaction
    # that changes the track: a whole playlist reads as one index range, without a lookup
    # into a million projected tracks per item.
    title: str = _str(default="")
    artist_names: str = _str(default="")
    album_id: uuid.UUID | None = _uuid(nullable=True)
    album_title: str | None = _str(nullable=True)
    duration_ms: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    available: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default=text("true"))
    )
    shown_json: str | None = Field(
        default=None, sa_column=Column(Text, Computed(ITEM_JSON, persisted=True), nullable=True)
    )


class Collaborator(PlaylistsModel, table=True):
    __tablename__ = "collaborators"
    __table_args__ = (
        PrimaryKeyConstraint("playlist_id", "user_id"),
        CheckConstraint(_one_of("role", ROLES), name="known_role"),
        Index("ix_collaborators_user_id", "user_id"),
    )

    playlist_id: uuid.UUID = _uuid(references="playlists.id")
    user_id: uuid.UUID = _uuid()
    role: str = _str()
    added_at: datetime | None = _when()


class ExternalMapping(PlaylistsModel, table=True):
    """Where a playlist also lives: a connector's playlist it is synced with."""

    __tablename__ = "external_mappings"
    __table_args__ = (
        PrimaryKeyConstraint("playlist_id", "connector"),
        CheckConstraint("connector ~ '^[a-z][a-z0-9_-]{0,31}$'", name="connector_name"),
        CheckConstraint(
            "length(connector_playlist_id) BETWEEN 1 AND 200", name="connector_playlist_id_length"
        ),
    )

    playlist_id: uuid.UUID = _uuid(references="playlists.id")
    connector: str = _str()
    connector_playlist_id: str = _str()
    last_synced_at: datetime | None = _when(nullable=True, now=False)
    created_at: datetime | None = _when()


class SmartPlaylist(PlaylistsModel, table=True):
    """Rules in Navidrome's ``.nsp`` shape, evaluated on read against the projections."""

    __tablename__ = "smart_playlists"
    __table_args__ = (
        CheckConstraint("length(btrim(name)) BETWEEN 1 AND 200", name="name_length"),
        Index("ix_smart_playlists_owner_id", "owner_id", "id"),
    )

    id: uuid.UUID = _id()
    owner_id: uuid.UUID = _uuid()
    name: str = _str()
    description: str | None = _str(nullable=True)
    rules: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    created_at: datetime | None = _when()
    updated_at: datetime | None = _when()


class CollectionEntry(PlaylistsModel, table=True):
    """A saved album or artist."""

    __tablename__ = "collection_entries"
    __table_args__ = (
        PrimaryKeyConstraint("user_id", "kind", "entity_id"),
        CheckConstraint(_one_of("kind", COLLECTION_KINDS), name="known_kind"),
        # Newest first, keyset.
        Index("ix_collection_entries_saved", "user_id", "kind", "saved_at", "entity_id"),
        Index("ix_collection_entries_entity", "kind", "entity_id"),
    )

    user_id: uuid.UUID = _uuid()
    kind: str = _str()
    entity_id: uuid.UUID = _uuid()
    saved_at: datetime | None = _when()


# --- projections of other contexts ---------------------------------------------------------


class Track(PlaylistsModel, table=True):
    """A catalog track as the playlists service needs it (from ``catalog.track.*``).

    ``*_key`` columns are case-folded (NFKC) in Python, so rules compare them exactly
    whatever the database's locale."""

    __tablename__ = "tracks"
    __table_args__ = (
        CheckConstraint(_one_of("status", TRACK_STATES), name="known_status"),
        CheckConstraint("duration_ms > 0", name="duration_positive"),
        CheckConstraint(
            "(status = 'merged') = (merged_into IS NOT NULL)", name="merged_names_survivor"
        ),
        # Rules on the artist; imports matching by (artist, title).
        Index("ix_tracks_artist_title", "artist_key", "title_key"),
        Index("ix_tracks_album_id", "album_id"),
        Index("ix_tracks_primary_artist_id", "primary_artist_id"),
    )

    id: uuid.UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), primary_key=True))
    title: str = _str()
    title_key: str = _str()
    artist_names: str = _str()
    artist_key: str = _str()
    primary_artist_id: uuid.UUID | None = _uuid(nullable=True)
    album_id: uuid.UUID | None = _uuid(nullable=True)
    album_title: str | None = _str(nullable=True)
    album_key: str | None = _str(nullable=True)
    album_year: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    duration_ms: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    genres: list[str] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")),
    )
    genre_keys: list[str] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")),
    )
    status: str = _str(default="active")
    merged_into: uuid.UUID | None = _uuid(nullable=True)
    # When it entered the catalog ("date added" in smart playlists).
    added_at: datetime | None = _when()
    # The catalog's updated_at of the state held: an older event changes nothing.
    catalog_updated_at: datetime | None = _when(nullable=True, now=False)


class Album(PlaylistsModel, table=True):
    """A catalog album (from ``catalog.album.*``): what a collection shows."""

    __tablename__ = "albums"
    __table_args__ = (CheckConstraint(_one_of("status", ENTITY_STATES), name="known_status"),)

    id: uuid.UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), primary_key=True))
    title: str = _str()
    artist_names: str = _str()
    release_year: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    cover_url: str | None = _str(nullable=True)
    status: str = _str(default="active")
    catalog_updated_at: datetime | None = _when(nullable=True, now=False)


class Artist(PlaylistsModel, table=True):
    """A catalog artist (from ``catalog.artist.*``): what a collection shows."""

    __tablename__ = "artists"
    __table_args__ = (CheckConstraint(_one_of("status", ENTITY_STATES), name="known_status"),)

    id: uuid.UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), primary_key=True))
    name: str = _str()
    sort_name: str = _str()
    status: str = _str(default="active")
    catalog_updated_at: datetime | None = _when(nullable=True, now=False)


class Member(PlaylistsModel, table=True):
    """A registered user's id and username (from ``users.user.registered``), so owners can
    name collaborators; removed with the account."""

    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("username"),)

    id: uuid.UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), primary_key=True))
    username: str = _str()
    registered_at: datetime | None = _when()


class Play(PlaylistsModel, table=True):
    """One user's listening of one track (from ``ingestion.listens.recorded``)."""

    __tablename__ = "plays"
    __table_args__ = (
        PrimaryKeyConstraint("user_id", "track_id"),
        CheckConstraint("play_count > 0", name="play_count_positive"),
        Index("ix_plays_user_last_played", "user_id", "last_played_at"),
        Index("ix_plays_user_play_count", "user_id", "play_count"),
        Index("ix_plays_track_id", "track_id"),
    )

    user_id: uuid.UUID = _uuid()
    track_id: uuid.UUID = _uuid()
    play_count: int = _count()
    last_played_at: datetime | None = _when(now=False)


class ListenBatch(PlaylistsModel, table=True):
    """A listens batch already counted (the same batch under a new event id counts once)."""

    __tablename__ = "listen_batches"

    batch_id: uuid.UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), primary_key=True))
    user_id: uuid.UUID = _uuid()
    counted_at: datetime | None = _when()


class Like(PlaylistsModel, table=True):
    """A track one user likes (from ``ingestion.likes.changed``)."""

    __tablename__ = "likes"
    __table_args__ = (
        PrimaryKeyConstraint("user_id", "track_id"),
        Index("ix_likes_track_id", "track_id"),
    )

    user_id: uuid.UUID = _uuid()
    track_id: uuid.UUID = _uuid()
    liked_at: datetime | None = _when(now=False)


class CatalogBackfill(PlaylistsModel, table=True):
    """A backfill of the catalog projection from the catalog's export: why it ran, and
    whether it finished (a finished one is not needed again after the stream lost its
    start)."""

    __tablename__ = "catalog_backfills"

    id: uuid.UUID = _id()
    reason: str = _str()
    tracks: int = _count()
    started_at: datetime | None = _when()
    completed_at: datetime | None = _when(nullable=True, now=False)


# outbox, inbox, dead_letters: the events machinery of medley_core, in this schema.
EVENT_TABLES = event_tables(PlaylistsModel.metadata)
