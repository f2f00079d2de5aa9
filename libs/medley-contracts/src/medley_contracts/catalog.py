"""Events published by the catalog context (version 1).

Every change to a track, album or artist is published once, from the catalog's outbox:
``catalog.<entity>.created`` and ``.updated`` carry the entity's full snapshot (a consumer
keeping a projection replaces its row), ``.deleted`` its id, ``.merged`` the id that went
away (``from``) and the one that absorbed it (``into``). The merged id keeps resolving to
``into`` on every catalog read, so a consumer may re-point its references lazily; the event
lets it do so at once.

The subject of every event is the entity id (for ``.merged``, the ``from`` id).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from medley_contracts.envelope import EventType
from medley_contracts.users import user_data_erased

AlbumType = Literal["album", "single", "ep", "compilation"]


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class ArtistCreditV1(_Payload):
    """One ordered credit (MusicBrainz style): the artist, the name as credited, and the
    phrase printed after it (" feat. ", " & ", "")."""

    artist_id: uuid.UUID
    name: str
    join_phrase: str = ""


class TrackV1(_Payload):
    """A track's snapshot (``catalog.track.created`` / ``catalog.track.updated``)."""

    track_id: uuid.UUID
    title: str
    artist_names: str = Field(description="the credits as printed, e.g. 'A feat. B'")
    credits: list[ArtistCreditV1]
    album_id: uuid.UUID | None
    album_title: str | None
    album_year: int | None = Field(default=None, description="the album's release year")
    duration_ms: int | None = Field(default=None, gt=0)
    disc_number: int | None = None
    track_number: int | None = None
    explicit: bool = False
    isrcs: list[str] = Field(default_factory=list)
    genres: list[str] = Field(default_factory=list, description="genre names, ordered by slug")
    created_at: datetime | None = Field(default=None, description="when it entered the catalog")
    updated_at: datetime


class AlbumV1(_Payload):
    """An album's snapshot (``catalog.album.created`` / ``catalog.album.updated``)."""

    album_id: uuid.UUID
    title: str
    album_type: AlbumType
    artist_names: str
    credits: list[ArtistCreditV1]
    release_date: date | None = None
    release_year: int | None = None
    total_tracks: int | None = None
    cover_url: str | None = None
    genres: list[str] = Field(default_factory=list, description="genre names, ordered by slug")
    updated_at: datetime


class ArtistV1(_Payload):
    """An artist's snapshot (``catalog.artist.created`` / ``catalog.artist.updated``)."""

    artist_id: uuid.UUID
    name: str
    sort_name: str
    updated_at: datetime


class EntityDeletedV1(_Payload):
    """A track, album or artist was (soft) deleted; reads of its id now answer 404."""

    id: uuid.UUID
    deleted_at: datetime


class EntityMergedV1(BaseModel):
    """A duplicate was merged: ``from`` now redirects to ``into``, which gained its
    external ids and credits. Serialised with the keys ``from`` and ``into``."""

    model_config = ConfigDict(
        frozen=True,
        extra="ignore",
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )

    from_id: uuid.UUID = Field(alias="from")
    into: uuid.UUID
    merged_at: datetime


TRACK_CREATED = EventType("catalog.track.created", 1, TrackV1)
TRACK_UPDATED = EventType("catalog.track.updated", 1, TrackV1)
TRACK_DELETED = EventType("catalog.track.deleted", 1, EntityDeletedV1)
TRACK_MERGED = EventType("catalog.track.merged", 1, EntityMergedV1)

ALBUM_CREATED = EventType("catalog.album.created", 1, AlbumV1)
ALBUM_UPDATED = EventType("catalog.album.updated", 1, AlbumV1)
ALBUM_DELETED = EventType("catalog.album.deleted", 1, EntityDeletedV1)
ALBUM_MERGED = EventType("catalog.album.merged", 1, EntityMergedV1)

ARTIST_CREATED = EventType("catalog.artist.created", 1, ArtistV1)
ARTIST_UPDATED = EventType("catalog.artist.updated", 1, ArtistV1)
ARTIST_DELETED = EventType("catalog.artist.deleted", 1, EntityDeletedV1)
ARTIST_MERGED = EventType("catalog.artist.merged", 1, EntityMergedV1)

# The catalog's answer to users.user.deleted: it holds nothing a user owns.
USER_DATA_ERASED = user_data_erased("catalog")
