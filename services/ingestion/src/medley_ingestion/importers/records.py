"""What an importer reads out of a file: listens, likes, skips and rejections.

Pure: no database, no HTTP. Every format module turns its rows into these, and the pipeline
(:mod:`medley_ingestion.pipeline`) stores them. Times are UTC and a listen's time is when
playback **started**.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

# ListenBrainz's own bounds: nothing before Last.fm's scrobbling began, nothing in the future.
EARLIEST_LISTEN = datetime(2002, 10, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(hours=1)

SkipReason = Literal["too_short", "incognito", "not_music"]
SKIP_COUNTERS: dict[SkipReason, str] = {
    "too_short": "too_short_skipped",
    "incognito": "incognito_skipped",
    "not_music": "not_music_skipped",
}


def _fold(value: str | None) -> str:
    return " ".join(value.casefold().split()) if value else ""


@dataclass(slots=True)
class SourceTrack:
    """A track as a source describes it; ``key`` identifies it within its source."""

    title: str
    artist: str
    album: str | None = None
    album_artist: str | None = None
    duration_ms: int | None = None
    spotify_id: str | None = None
    isrc: str | None = None
    recording_mbid: str | None = None
    recording_msid: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    key: str = ""

    def __post_init__(self) -> None:
        if not self.key:
            # The source's own id when it has one; otherwise the names as a person reads
            # them (case and spacing folded), so one song is one connector track.
            if self.spotify_id:
                self.key = f"spotify:track:{self.spotify_id}"
            else:
                self.key = "\x1f".join((_fold(self.artist), _fold(self.title), _fold(self.album)))


@dataclass(slots=True)
class Listen:
    track: SourceTrack
    listened_at: datetime
    ms_played: int | None = None
    client: str | None = None
    position: str = ""


@dataclass(slots=True)
class Liked:
    """A like (``score`` 1) or a hate (-1); ``track`` None when the source named the
    recording by id only (``recording_mbid``/``recording_msid``)."""

    track: SourceTrack | None
    liked_at: datetime
    score: int = 1
    recording_mbid: str | None = None
    recording_msid: str | None = None
    position: str = ""


@dataclass(slots=True, frozen=True)
class Skipped:
    reason: SkipReason


@dataclass(slots=True, frozen=True)
class Rejected:
    """A record that could not be taken; ``position`` is its line or index in the entry."""

    position: str
    reason: str


Outcome = Listen | Liked | Skipped | Rejected


class FileError(ValueError):
    """A file that is broken as a whole (truncated JSON, not UTF-8, no known shape): the job
    fails with this, before any of the file's listens is stored."""

    def __init__(self, message: str, *, entry: str | None = None, position: str | None = None):
        super().__init__(message)
        self.message = message
        self.entry = entry
        self.position = position

    def at(self, entry: str) -> FileError:
        """The same error, naming the entry it happened in."""
        return FileError(self.message, entry=self.entry or entry, position=self.position)


def check_time(when: datetime, now: datetime) -> str | None:
    """Why a listen at ``when`` is refused, or None (ListenBrainz's bounds)."""
    if when < EARLIEST_LISTEN:
        return f"listened_at {when.isoformat()} is before 2002-10-01"
    if when > now + FUTURE_SLACK:
        return f"listened_at {when.isoformat()} is in the future"
    return None


def storable(value: str) -> str:
    """``value`` as PostgreSQL can store it: without NUL characters, lone surrogates
    replaced (an export's text is kept as near as it can be, never refused for this)."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def text_or_none(value: Any) -> str | None:
    """A non-blank string, stripped and storable, or None."""
    if isinstance(value, str):
        stripped = storable(value).strip()
        return stripped or None
    return None
