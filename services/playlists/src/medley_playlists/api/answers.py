"""What the playlists API answers: one msgspec Struct per shape, so each route's OpenAPI
document shows it (and the gateway documents the same shapes).

The capability modules answer rows (dicts); a controller converts them with
:func:`msgspec.convert` (:func:`shaped`), which drops what a shape does not show and checks
the rest.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

import msgspec

T = TypeVar("T")

Visibility = Literal["private", "unlisted", "public"]


class Answer(msgspec.Struct, kw_only=True):
    pass


def shaped(row: Any, answer: type[T]) -> T:
    """A row (a mapping) as an answer type."""
    return msgspec.convert(row, answer, from_attributes=True)


class PlaylistOut(Answer):
    id: uuid.UUID
    owner_id: uuid.UUID
    name: str
    description: str | None
    visibility: Visibility
    collaborative: bool
    cover_url: str | None
    snapshot_id: Annotated[str, msgspec.Meta(description="changes with every change; its ETag")]
    track_count: int
    duration_ms: int
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    role: Annotated[
        Literal["owner", "editor", "viewer"] | None,
        msgspec.Meta(description="the caller's; null for a reader of a public playlist"),
    ]


class Snapshot(Answer):
    snapshot_id: str


class TrackShown(Answer):
    title: str
    artist_names: str
    album_id: uuid.UUID | None
    album_title: str | None
    duration_ms: int | None


class ItemOut(Answer):
    id: uuid.UUID
    track_id: uuid.UUID
    position: Annotated[int, msgspec.Meta(description="0-based, in the playlist's order")]
    available: Annotated[bool, msgspec.Meta(description="false: deleted from the catalog")]
    added_by: uuid.UUID | None
    added_at: datetime
    track: TrackShown


class ItemsPage(Answer):
    """A page of items (``medley_core.pagination``'s shape) and the snapshot it shows."""

    items: list[ItemOut]
    next_cursor: Annotated[
        str | None, msgspec.Meta(description="pass as ?cursor= for the next page; null on the last")
    ]
    snapshot_id: str


class CollaboratorOut(Answer):
    user_id: uuid.UUID
    username: str | None
    role: Literal["editor", "viewer"]
    added_at: datetime


class Collaborators(Answer):
    items: list[CollaboratorOut]


class SavedEntry(Answer):
    """A saved album (``title``, ``artist_names``, ``release_year``, ``cover_url``) or artist
    (``name``, ``sort_name``)."""

    id: uuid.UUID
    saved_at: datetime
    status: str
    title: str | None = None
    artist_names: str | None = None
    release_year: int | None = None
    cover_url: str | None = None
    name: str | None = None
    sort_name: str | None = None


class Saved(Answer):
    id: uuid.UUID
    saved_at: datetime


class Contains(Answer):
    ids: list[uuid.UUID]
    saved: Annotated[list[bool], msgspec.Meta(description="for each id, in order")]


class SmartPlaylistOut(Answer):
    id: uuid.UUID
    owner_id: uuid.UUID
    name: str
    description: str | None
    rules: Annotated[dict[str, Any], msgspec.Meta(description="Navidrome .nsp rules")]
    created_at: datetime
    updated_at: datetime


class SmartTrack(Answer):
    id: uuid.UUID
    title: str
    artist_names: str
    album_id: uuid.UUID | None
    album_title: str | None
    album_year: int | None
    duration_ms: int | None
    genres: list[str]
    added_at: datetime
    play_count: int
    last_played_at: datetime | None
    loved: bool
    loved_at: datetime | None


class SmartTracks(Answer):
    items: list[SmartTrack]
    next_offset: Annotated[int | None, msgspec.Meta(description="null on the last page")]


class MappingOut(Answer):
    connector: str
    connector_playlist_id: str
    last_synced_at: datetime | None
    created_at: datetime


class Mappings(Answer):
    items: list[MappingOut]


class ReportEntry(Answer):
    index: int
    at: Annotated[str, msgspec.Meta(description="where in the file: a line or an element")]
    title: str | None
    artist: str | None
    status: Literal["matched", "unmatched", "skipped"]
    method: Annotated[
        str | None,
        msgspec.Meta(description="id, local, or the catalog's: external_id, exact, fuzzy, created"),
    ]
    confidence: int | None
    track_id: uuid.UUID | None
    reason: str | None


class ImportedPlaylist(Answer):
    playlist: PlaylistOut
    existing: Annotated[bool, msgspec.Meta(description="imported before: that playlist")]
    report: list[ReportEntry] | None
    matched: int = 0
    unmatched: int = 0
    skipped: int = 0


class Imported(Answer):
    playlists: list[ImportedPlaylist]
