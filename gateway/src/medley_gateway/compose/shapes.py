"""What the composed reads answer, for the OpenAPI document.

The parts that come from one service as it answers them (a catalog track, a playlist) are
shown as objects described in words: their own shapes are in that service's routes of
this document (``/api/v1/catalog/...``, ``/api/v1/playlists/...``). What composition adds
is typed here: ``meta.degraded``, the caller's plays, the lists each part fills.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

Object = dict[str, Any]


class DegradedPart(msgspec.Struct):
    upstream: Annotated[str, msgspec.Meta(description="the service that did not answer")]
    part: Annotated[str, msgspec.Meta(description="the composition's part it fills")]
    fields: Annotated[list[str], msgspec.Meta(description="the fields left empty (null)")]
    reason: str


class Meta(msgspec.Struct):
    degraded: Annotated[
        list[DegradedPart],
        msgspec.Meta(description="empty when every part answered; the answer is still 200"),
    ]


Details = Annotated[
    Object | None,
    msgspec.Meta(
        description="the catalog's track (as /api/v1/catalog/tracks/batch answers it: "
        "album, credits); null when the catalog part is missing or the track is gone"
    ),
]
MyPlayCount = Annotated[
    int | None, msgspec.Meta(description="the caller's plays; null: anonymous or missing")
]


class PlaylistItem(msgspec.Struct):
    id: str
    track_id: str
    position: int
    available: bool
    added_by: str | None
    added_at: datetime
    track: Annotated[Object, msgspec.Meta(description="what the playlists service shows")]
    details: Details
    my_play_count: MyPlayCount
    my_last_played_at: datetime | None


class ComposedPlaylist(msgspec.Struct):
    """Every field of the playlist (``GET /api/v1/playlists/{id}``), its items, and meta."""

    id: str
    owner_id: str
    name: str
    snapshot_id: str
    track_count: int
    duration_ms: int
    items: list[PlaylistItem]
    meta: Meta


class AlbumTrack(msgspec.Struct):
    id: str
    title: str
    artist_names: str
    duration_ms: int | None
    play_count: Annotated[int, msgspec.Meta(description="everyone's (the catalog's)")]
    my_play_count: MyPlayCount
    my_last_played_at: datetime | None


class PlaylistWithAlbum(msgspec.Struct):
    id: str
    name: str
    updated_at: datetime
    album_items: int


class ComposedAlbum(msgspec.Struct):
    """Every field of ``GET /api/v1/catalog/albums/{id}``, and what the caller did with it."""

    id: str
    title: str
    artist_names: str
    tracks: list[AlbumTrack]
    saved: Annotated[bool | None, msgspec.Meta(description="null: anonymous or missing")]
    in_my_playlists: list[PlaylistWithAlbum] | None
    meta: Meta


class TopTrack(msgspec.Struct):
    track_id: str
    title: str
    artist_names: str
    album_id: str | None
    album_title: str | None
    play_count: int
    ms_played: int


class ComposedArtist(msgspec.Struct):
    """Every field of ``GET /api/v1/catalog/artists/{id}``, their albums, the caller's
    most played tracks of theirs."""

    id: str
    name: str
    albums: Annotated[list[Object] | None, msgspec.Meta(description="catalog albums")]
    my_top_tracks: list[TopTrack] | None
    meta: Meta


class Listen(msgspec.Struct):
    id: str
    listened_at: datetime
    track: Annotated[Object, msgspec.Meta(description="what ingestion shows of the track")]
    details: Details


class ComposedListens(msgspec.Struct):
    items: list[Listen]
    next_cursor: str | None
    meta: Meta


class Home(msgspec.Struct):
    profile: Annotated[Object, msgspec.Meta(description="as GET /api/v1/me answers")]
    recent_listens: list[Listen] | None
    top_artists: Annotated[list[Object] | None, msgspec.Meta(description="this month")]
    recent_playlists: Annotated[
        list[Object] | None, msgspec.Meta(description="most recently changed first")
    ]
    running_imports: Annotated[list[Object] | None, msgspec.Meta(description="queued or running")]
    meta: Meta
