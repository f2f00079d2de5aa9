"""Spotify's exports.

* Extended Streaming History (``Streaming_History_Audio_*.json``, older ``endsong_*.json``):
  one JSON array of plays; ``ts`` is when playback **ended** (UTC), so a listen started at
  ``ts - ms_played``. A row counts as a listen when played at least ``min_listen_ms`` or to
  its end (``reason_end`` = ``trackdone``), as ListenBrainz's own Spotify importer counts;
  ``incognito_mode`` rows are skipped (the listener asked not to be recorded), and so are
  episodes, audiobooks and rows naming no track, each counted.
* Account data: ``StreamingHistory*.json`` / ``StreamingHistory_music_*.json`` (``endTime``
  "YYYY-MM-DD HH:MM" UTC, ``msPlayed``) and ``YourLibrary.json`` (its ``tracks`` are likes).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from medley_ingestion.importers.common import (
    ReadContext,
    decode_json_array,
    decode_json_object,
    strip_bom,
)
from medley_ingestion.importers.records import (
    EARLIEST_LISTEN,
    FUTURE_SLACK,
    Liked,
    Listen,
    Outcome,
    Rejected,
    Skipped,
    SourceTrack,
    check_time,
    text_or_none,
)

SPOTIFY_ID = re.compile(r"^[0-9A-Za-z]{22}$")
TRACK_URI_PREFIX = "spotify:track:"
# Fields only podcast episodes and audiobooks carry.
NOT_MUSIC_FIELDS = (
    "episode_name",
    "episode_show_name",
    "spotify_episode_uri",
    "audiobook_title",
    "audiobook_uri",
    "audiobook_chapter_uri",
    "audiobook_chapter_title",
)
ACCOUNT_TIME_FORMAT = "%Y-%m-%d %H:%M"


def spotify_id(uri: Any) -> str | None:
    """``spotify:track:<22 base62>`` → the id; anything else (local files…) → None."""
    if isinstance(uri, str) and uri.startswith(TRACK_URI_PREFIX):
        candidate = uri[len(TRACK_URI_PREFIX) :]
        if SPOTIFY_ID.match(candidate):
            return candidate
    return None


def _parse_ts(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # Spotify's ts is UTC ("…Z")
    return parsed.astimezone(UTC)


def _ms(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def extended_row(row: Any, position: str, ctx: ReadContext) -> Outcome:
    """One Extended Streaming History row."""
    if not isinstance(row, dict):
        return Rejected(position, "not a JSON object")
    if row.get("incognito_mode") is True:
        return Skipped("incognito")
    if any(row.get(name) for name in NOT_MUSIC_FIELDS):
        return Skipped("not_music")
    title = text_or_none(row.get("master_metadata_track_name"))
    uri = row.get("spotify_track_uri")
    if title is None and not uri:
        return Skipped("not_music")
    ended = _parse_ts(row.get("ts"))
    if ended is None:
        return Rejected(position, "ts is missing or not an ISO 8601 time")
    ms_played = _ms(row.get("ms_played"))
    if ms_played is None:
        return Rejected(position, "ms_played is missing or not a non-negative integer")
    played_to_end = row.get("reason_end") == "trackdone"
    if ms_played < ctx.min_listen_ms and not played_to_end:
        return Skipped("too_short")
    artist = text_or_none(row.get("master_metadata_album_artist_name"))
    if title is None or artist is None:
        return Rejected(position, "the row names no track title or no artist")
    started = ended - timedelta(milliseconds=ms_played)
    refused = check_time(started, ctx.now)
    if refused:
        return Rejected(position, refused)
    track = SourceTrack(
        title=title,
        artist=artist,
        album=text_or_none(row.get("master_metadata_album_album_name")),
        album_artist=artist,
        # A play to the end took the track's length: a hint for matching.
        duration_ms=ms_played if played_to_end and ms_played > 0 else None,
        spotify_id=spotify_id(uri),
    )
    return Listen(track, started, ms_played, position=position)


class ExtendedRow(msgspec.Struct):
    """The fields of an Extended Streaming History row Medley reads (the rest are skipped
    unbuilt). A file whose rows do not fit these types is read the general way instead."""

    ts: str | None = None
    ms_played: int | None = None
    master_metadata_track_name: str | None = None
    master_metadata_album_artist_name: str | None = None
    master_metadata_album_album_name: str | None = None
    spotify_track_uri: str | None = None
    reason_end: str | None = None
    incognito_mode: bool | None = None
    episode_name: str | None = None
    episode_show_name: str | None = None
    spotify_episode_uri: str | None = None
    audiobook_title: str | None = None
    audiobook_uri: str | None = None
    audiobook_chapter_uri: str | None = None
    audiobook_chapter_title: str | None = None


_EXTENDED_ROWS = msgspec.json.Decoder(list[ExtendedRow])


def read_extended(data: bytes, ctx: ReadContext) -> Iterator[Outcome]:
    """The rows of one file: decoded into :class:`ExtendedRow` (fast: unread fields are never
    built), each row's track described once per file; a file of other shapes (a row that is
    not an object, a field of another type) is read row by row as plain JSON."""
    try:
        rows = _EXTENDED_ROWS.decode(strip_bom(data))
    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError):
        yield from _read_extended_plain(data, ctx)
        return
    described: dict[tuple[Any, ...], SourceTrack] = {}
    min_ms, now = ctx.min_listen_ms, ctx.now
    for index in range(ctx.skip, len(rows)):
        row = rows[index]
        rows[index] = None  # type: ignore[call-overload]  # a read row is not kept
        yield _fast_extended_row(row, index, min_ms, now, described) or extended_row(
            msgspec.structs.asdict(row), f"index {index}", ctx
        )


def _fast_extended_row(
    row: ExtendedRow,
    index: int,
    min_ms: int,
    now: datetime,
    described: dict[tuple[Any, ...], SourceTrack],
) -> Outcome | None:
    """:func:`extended_row` for the common row, its track looked up among those already
    described; None for anything unusual (the general rule then decides)."""
    if row.incognito_mode is True:
        return Skipped("incognito")
    if (
        row.episode_name
        or row.episode_show_name
        or row.spotify_episode_uri
        or row.audiobook_title
        or row.audiobook_uri
        or row.audiobook_chapter_uri
        or row.audiobook_chapter_title
    ):
        return Skipped("not_music")
    ms_played, ts = row.ms_played, row.ts
    if ms_played is None or ms_played < 0 or ts is None or not row.master_metadata_track_name:
        return None
    ended = _parse_ts(ts)
    if ended is None:
        return None
    played_to_end = row.reason_end == "trackdone"
    if ms_played < min_ms and not played_to_end:
        return Skipped("too_short")
    started = ended - timedelta(milliseconds=ms_played)
    if started < EARLIEST_LISTEN or started > now + FUTURE_SLACK:
        return None
    duration = ms_played if played_to_end and ms_played > 0 else None
    raw = (
        row.master_metadata_track_name,
        row.master_metadata_album_artist_name,
        row.master_metadata_album_album_name,
        row.spotify_track_uri,
        duration,
    )
    track = described.get(raw)
    if track is None:
        title, artist = text_or_none(raw[0]), text_or_none(raw[1])
        if title is None or artist is None:
            return None
        track = SourceTrack(
            title=title,
            artist=artist,
            album=text_or_none(raw[2]),
            album_artist=artist,
            duration_ms=duration,
            spotify_id=spotify_id(raw[3]),
        )
        described[raw] = track
    return Listen(track, started, ms_played, position=f"index {index}")


def _read_extended_plain(data: bytes, ctx: ReadContext) -> Iterator[Outcome]:
    for index, row in enumerate(decode_json_array(data)):
        if index < ctx.skip:
            continue
        yield extended_row(row, f"index {index}", ctx)


def account_row(row: Any, position: str, ctx: ReadContext) -> Outcome:
    """One account-data ``StreamingHistory`` row (minute precision, UTC)."""
    if not isinstance(row, dict):
        return Rejected(position, "not a JSON object")
    end_time = row.get("endTime")
    try:
        ended = datetime.strptime(end_time, ACCOUNT_TIME_FORMAT).replace(tzinfo=UTC)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return Rejected(position, 'endTime is missing or not "YYYY-MM-DD HH:MM"')
    ms_played = _ms(row.get("msPlayed"))
    if ms_played is None:
        return Rejected(position, "msPlayed is missing or not a non-negative integer")
    if ms_played < ctx.min_listen_ms:
        return Skipped("too_short")
    title = text_or_none(row.get("trackName"))
    artist = text_or_none(row.get("artistName"))
    if title is None or artist is None:
        return Skipped("not_music")
    started = ended - timedelta(milliseconds=ms_played)
    refused = check_time(started, ctx.now)
    if refused:
        return Rejected(position, refused)
    return Listen(SourceTrack(title=title, artist=artist), started, ms_played, position=position)


def read_account(data: bytes, ctx: ReadContext) -> Iterator[Outcome]:
    for index, row in enumerate(decode_json_array(data)):
        if index < ctx.skip:
            continue
        yield account_row(row, f"index {index}", ctx)


def library_row(row: Any, position: str, ctx: ReadContext) -> Outcome:
    """One saved track of ``YourLibrary.json``: a like, dated when it was imported (the
    export does not say when the track was saved)."""
    if not isinstance(row, dict):
        return Rejected(position, "not a JSON object")
    title = text_or_none(row.get("track"))
    artist = text_or_none(row.get("artist"))
    if title is None or artist is None:
        return Rejected(position, "the saved track names no title or no artist")
    track = SourceTrack(
        title=title,
        artist=artist,
        album=text_or_none(row.get("album")),
        album_artist=artist,
        spotify_id=spotify_id(row.get("uri")),
    )
    return Liked(track, ctx.now, position=position)


def read_library(data: bytes, ctx: ReadContext) -> Iterator[Outcome]:
    document = decode_json_object(data)
    tracks = document.get("tracks") or []
    if not isinstance(tracks, list):
        return
    for index, row in enumerate(tracks):
        if index < ctx.skip:
            continue
        yield library_row(row, f"tracks[{index}]", ctx)
