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

from medley_ingestion.importers.common import ReadContext, decode_json_array, decode_json_object
from medley_ingestion.importers.records import (
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


def read_extended(data: bytes, ctx: ReadContext) -> Iterator[Outcome]:
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
