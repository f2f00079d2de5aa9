"""What ingestion's HTTP API answers: one msgspec Struct per shape, so each route's OpenAPI
document shows it (and the gateway can compose from it).

The capability modules answer plain rows and dicts; a controller turns them into these with
:func:`answer` (:func:`msgspec.convert`, which checks them and drops what a shape does not
show). The ListenBrainz shapes are ListenBrainz's own, key for key.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

import msgspec

from medley_core.pagination import Page

T = TypeVar("T")

# ListenBrainz's additional_info: the keys a client sent (it documents a few, allows any).
AdditionalInfo = Annotated[
    dict[str, Any],
    msgspec.Meta(description="what the client sent: recording_mbid, isrc, spotify_id, …"),
]
SubmittedMetadata = Annotated[
    dict[str, Any],
    msgspec.Meta(description="the track_metadata the client submitted, as it sent it"),
]


def answer(value: Any, shape: type[T]) -> T:
    """``value`` (rows, dicts) as the answer ``shape``."""
    return msgspec.convert(value, shape, from_attributes=True)


class Answer(msgspec.Struct, kw_only=True):
    pass


# --- imports ---------------------------------------------------------------------------------


class ImportProgress(Answer):
    bytes_read: int
    records_read: int
    listens_imported: int
    likes_imported: int
    duplicates_skipped: int
    too_short_skipped: int
    incognito_skipped: int
    not_music_skipped: int
    unmatched: int
    rejected: int


class Rejection(Answer):
    entry: str
    position: str
    reason: str


class ImportOut(Answer):
    id: uuid.UUID
    status: str
    filename: str
    format: str | None
    detected_format: str | None
    upload_bytes: int
    upload_kept: bool
    progress: ImportProgress
    error: str | None
    error_position: str | None
    cancel_requested: bool
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ImportDetail(ImportOut):
    rejections: list[Rejection]


ImportPage = Page[ImportOut]


# --- listens, likes, stats -------------------------------------------------------------------


class ListenTrack(Answer):
    id: uuid.UUID
    title: str | None
    artist_names: str | None
    album_title: str | None
    album_id: uuid.UUID | None
    duration_ms: int | None
    available: bool


class SourceTrackOut(Answer):
    title: str
    artist: str
    album: str | None


class ListenOut(Answer):
    id: uuid.UUID
    listened_at: datetime
    ms_played: int | None
    source: str
    client: str | None
    import_id: uuid.UUID | None
    track: ListenTrack
    source_track: SourceTrackOut


ListenPage = Page[ListenOut]


class LikeOut(Answer):
    track_id: uuid.UUID
    score: int
    liked_at: datetime


class TopItem(Answer, omit_defaults=True):
    """A track, artist or album with how often and how long it was heard (the fields of
    what was asked for)."""

    listen_count: int
    ms_played: int
    track_id: uuid.UUID | None = None
    title: str | None = None
    artist_id: uuid.UUID | None = None
    artist_name: str | None = None
    artist_names: str | None = None
    album_id: uuid.UUID | None = None
    album_title: str | None = None
    deleted: bool | None = None


class StatsRange(Answer):
    range: str
    from_: date | None = msgspec.field(name="from")
    to: date | None


class TopAnswer(StatsRange):
    total: int
    items: list[TopItem]


class ActivityItem(Answer):
    bucket: int | date
    listen_count: int
    ms_played: int


class ActivityAnswer(StatsRange):
    by: str
    items: list[ActivityItem]


class TotalsAnswer(StatsRange):
    listens: int
    tracks: int
    artists: int
    albums: int
    ms_played: int


# --- ListenBrainz ----------------------------------------------------------------------------


class LBStatus(Answer):
    status: str


class LBTokenValidity(Answer, omit_defaults=True):
    code: int
    message: str
    valid: bool
    user_name: str | None = None


class LBTrackMetadata(Answer):
    artist_name: str
    track_name: str
    release_name: str | None = None
    additional_info: AdditionalInfo = msgspec.field(default_factory=dict)


class LBListen(Answer):
    inserted_at: int
    listened_at: int
    recording_msid: str
    track_metadata: LBTrackMetadata
    user_name: str


class LBListensPayload(Answer):
    count: int
    latest_listen_ts: int
    oldest_listen_ts: int
    user_id: str
    listens: list[LBListen]


class LBListens(Answer):
    payload: LBListensPayload


class LBCount(Answer):
    count: int


class LBListenCount(Answer):
    payload: LBCount


class LBPlayingNowListen(Answer):
    playing_now: bool
    track_metadata: SubmittedMetadata


class LBPlayingNowPayload(Answer):
    count: int
    listens: list[LBPlayingNowListen]
    playing_now: bool
    user_id: str


class LBPlayingNow(Answer):
    payload: LBPlayingNowPayload


class LBLatestImport(Answer):
    latest_import: int
    musicbrainz_id: str


class LBFeedback(Answer):
    created: int
    recording_mbid: str | None
    recording_msid: str
    score: int
    track_metadata: LBTrackMetadata | None
    user_id: str


class LBFeedbackPage(Answer):
    count: int
    offset: int
    total_count: int
    feedback: list[LBFeedback]


class LBArtistStat(Answer):
    artist_mbid: str | None
    artist_mbids: list[str]
    artist_name: str | None
    listen_count: int


class LBReleaseStat(Answer):
    artist_mbids: list[str]
    artist_name: str | None
    release_mbid: str | None
    release_name: str | None
    listen_count: int


class LBRecordingStat(Answer):
    artist_mbids: list[str]
    artist_name: str | None
    recording_mbid: str | None
    release_mbid: str | None
    release_name: str | None
    track_name: str | None
    listen_count: int


class LBActivity(Answer):
    from_ts: int
    to_ts: int
    time_range: str
    listen_count: int


class LBHourCount(Answer):
    hour: int
    listen_count: int


class LBStatsPayload(Answer, omit_defaults=True):
    """One of ListenBrainz's user statistics: the list it asked for and its totals."""

    range: str
    from_ts: int
    to_ts: int
    last_updated: int
    user_id: str
    count: int | None = None
    offset: int | None = None
    artists: list[LBArtistStat] | None = None
    total_artist_count: int | None = None
    releases: list[LBReleaseStat] | None = None
    total_release_count: int | None = None
    recordings: list[LBRecordingStat] | None = None
    total_recording_count: int | None = None
    listening_activity: list[LBActivity] | None = None
    daily_activity: dict[str, list[LBHourCount]] | None = None


class LBStats(Answer):
    payload: LBStatsPayload
