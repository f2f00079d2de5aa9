"""ListenBrainz: its export zip, and the ``track_metadata`` its API takes.

Current exports hold ``listens/<year>/<month>.jsonl`` (one listen per line), older ones one
``listens.json`` array; ``feedback.jsonl`` holds loves (score 1) and hates (-1), which become
likes. A listen's ``listened_at`` is Unix seconds, when playback started.

:func:`track_from_metadata` is shared with ``POST /1/submit-listens``: an exported listen and
a submitted one describe their track the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import msgspec

from medley_ingestion.importers.common import (
    ReadContext,
    check_utf8,
    raw_json_array,
    strip_bom,
)
from medley_ingestion.importers.common import valid_mbid as mbid
from medley_ingestion.importers.records import (
    FileError,
    Liked,
    Listen,
    Outcome,
    Rejected,
    SourceTrack,
    check_time,
    text_or_none,
)
from medley_ingestion.importers.spotify import SPOTIFY_ID

ISRC_SHAPE = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$")
# The additional_info keys ListenBrainz documents (and Medley keeps with the track).
KNOWN_ADDITIONAL_INFO = (
    "artist_mbids",
    "release_group_mbid",
    "release_mbid",
    "recording_mbid",
    "track_mbid",
    "work_mbids",
    "tracknumber",
    "isrc",
    "spotify_id",
    "tags",
    "media_player",
    "media_player_version",
    "submission_client",
    "submission_client_version",
    "music_service",
    "music_service_name",
    "origin_url",
    "duration_ms",
    "duration",
    "listening_from",
)


def _spotify_id(value: Any) -> str | None:
    """ListenBrainz carries Spotify ids as URLs (``https://open.spotify.com/track/<id>``)."""
    if not isinstance(value, str):
        return None
    candidate = value.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1].split("?", 1)[0]
    return candidate if SPOTIFY_ID.match(candidate) else None


def _duration_ms(info: dict[str, Any]) -> int | None:
    value = info.get("duration_ms")
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31:
        return value
    seconds = info.get("duration")
    if isinstance(seconds, int) and not isinstance(seconds, bool) and 0 < seconds < 2**21:
        return seconds * 1000
    return None


def track_from_metadata(metadata: dict[str, Any]) -> SourceTrack | None:
    """The track a ListenBrainz ``track_metadata`` names; None without a title or artist."""
    title = text_or_none(metadata.get("track_name"))
    artist = text_or_none(metadata.get("artist_name"))
    if title is None or artist is None:
        return None
    info = metadata.get("additional_info")
    info = info if isinstance(info, dict) else {}
    mapping = metadata.get("mbid_mapping")
    mapping = mapping if isinstance(mapping, dict) else {}
    isrc = info.get("isrc")
    isrc = isrc.upper() if isinstance(isrc, str) and ISRC_SHAPE.match(isrc.upper()) else None
    extra = {key: info[key] for key in KNOWN_ADDITIONAL_INFO if info.get(key) is not None}
    return SourceTrack(
        title=title,
        artist=artist,
        album=text_or_none(metadata.get("release_name")),
        duration_ms=_duration_ms(info),
        spotify_id=_spotify_id(info.get("spotify_id")),
        isrc=isrc,
        recording_mbid=mbid(info.get("recording_mbid")) or mbid(mapping.get("recording_mbid")),
        extra=extra,
        # Not the Spotify id even when given: a submission names the track by its names.
        key="",
    )


def parse_listened_at(value: Any) -> datetime | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(int(value), tz=UTC)
        except (OverflowError, ValueError, OSError):
            return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    return None


def listen_row(row: Any, position: str, ctx: ReadContext) -> Outcome:
    if not isinstance(row, dict):
        return Rejected(position, "not a JSON object")
    metadata = row.get("track_metadata")
    if not isinstance(metadata, dict):
        return Rejected(position, "track_metadata is missing")
    track = track_from_metadata(metadata)
    if track is None:
        return Rejected(position, "track_metadata names no track_name or no artist_name")
    when = parse_listened_at(row.get("listened_at"))
    if when is None:
        return Rejected(position, "listened_at is missing or unreadable")
    refused = check_time(when, ctx.now)
    if refused:
        return Rejected(position, refused)
    track.recording_msid = mbid(row.get("recording_msid"))
    info = metadata.get("additional_info")
    client = None
    if isinstance(info, dict):
        client = text_or_none(info.get("submission_client")) or text_or_none(
            info.get("media_player")
        )
    return Listen(track, when, None, client, position)


def feedback_row(row: Any, position: str, ctx: ReadContext) -> Outcome:
    if not isinstance(row, dict):
        return Rejected(position, "not a JSON object")
    score = row.get("score")
    if score not in (1, -1):
        return Rejected(position, "score must be 1 (love) or -1 (hate)")
    when = parse_listened_at(row.get("created")) or ctx.now
    metadata = row.get("track_metadata")
    track = track_from_metadata(metadata) if isinstance(metadata, dict) else None
    recording_mbid = mbid(row.get("recording_mbid"))
    recording_msid = mbid(row.get("recording_msid"))
    if track is None and recording_mbid is None and recording_msid is None:
        return Rejected(position, "the feedback names no recording")
    return Liked(track, when, int(score), recording_mbid, recording_msid, position)


def jsonl_rows(data: bytes) -> Iterator[tuple[int, Any]]:
    """``(line number, value)`` of each non-blank line; a line that is not JSON is yielded as
    the :class:`FileError` it raised, so the caller decides (a truncated last line…)."""
    data = strip_bom(data)
    check_utf8(data)
    decoder = msgspec.json.Decoder()
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            yield number, decoder.decode(line)
        except msgspec.DecodeError as exc:
            raise FileError(
                f"line {number} is not JSON: {exc}", position=f"line {number}"
            ) from None


def read_listens_jsonl(data: bytes, ctx: ReadContext) -> Iterator[Outcome]:
    for index, (number, row) in enumerate(jsonl_rows(data)):
        if index < ctx.skip:
            continue
        yield listen_row(row, f"line {number}", ctx)


EMPTY_RAW = msgspec.Raw(b"null")


def read_listens_json(data: bytes, ctx: ReadContext) -> Iterator[Outcome]:
    """The older export's ``listens.json`` (one JSON array): its listens decoded one at a
    time, never the whole file as one tree of objects."""
    elements = raw_json_array(data)
    decoder = msgspec.json.Decoder()
    for index in range(ctx.skip, len(elements)):
        row = decoder.decode(elements[index])
        elements[index] = EMPTY_RAW  # a read listen is not kept
        yield listen_row(row, f"index {index}", ctx)


def read_feedback(data: bytes, ctx: ReadContext) -> Iterator[Outcome]:
    for index, (number, row) in enumerate(jsonl_rows(data)):
        if index < ctx.skip:
            continue
        yield feedback_row(row, f"line {number}", ctx)
