"""What every playlist file is read into: a name, a description and its entries, each with
what the file says of a track and where in the file it says it (for the 422 that names a
line or an element, and for the per-entry report).

Locations (M3U lines, XSPF ``<location>``) are kept in one normal form: ``file://`` URLs as
paths, percent-escapes decoded, Windows separators as ``/``, relative paths joined to the
playlist's folder when the importer knows it, Unicode in NFC (a path written in NFD by macOS
is the same path). A file name also yields a guess of artist and title for files without
tags (``Artist - Title.mp3``, ``Artist/Album/01 - Title.flac``).
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from medley_core.errors import Unprocessable

# medley:track:<id>: how Medley's own exports name a track, so a round trip finds it by id.
MEDLEY_TRACK = re.compile(r"^medley:track:([0-9a-fA-F-]{36})$")
SPOTIFY_TRACK = re.compile(
    r"^(?:spotify:track:|https?://open\.spotify\.com/(?:intl-[a-z]+/)?track/)([A-Za-z0-9]{22})"
)
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:/")
_TRACK_NUMBER = re.compile(r"^\s*(?:\d{1,3}[\s.\-_]+)+")
_AUDIO_SUFFIX = re.compile(r"\.[A-Za-z0-9]{2,5}$")
MAX_TEXT = 1000


@dataclass(frozen=True)
class Entry:
    """One track as a file describes it."""

    index: int
    where: str  # "line 12", "track 3", "items.4"
    title: str | None = None
    artist: str | None = None
    album: str | None = None
    duration_ms: int | None = None
    location: str | None = None
    track_id: uuid.UUID | None = None
    spotify_id: str | None = None
    isrc: str | None = None
    skipped: str | None = None  # why it is not a track at all (a podcast episode…)


@dataclass(frozen=True)
class ParsedPlaylist:
    name: str
    description: str | None
    entries: list[Entry] = field(default_factory=list)
    # What identifies this playlist in its source, for re-imports (a content digest).
    source_key: str = ""


def malformed(where: str, reason: str, **extensions: Any) -> Unprocessable:
    return Unprocessable(
        f"{where}: {reason}", slug="malformed-playlist", field="file", at=where, **extensions
    )


def clean(value: str | None) -> str | None:
    """Text as stored: NFC, trimmed, without what PostgreSQL cannot hold (NUL, lone
    surrogates), at most :data:`MAX_TEXT` characters; None when empty."""
    if value is None:
        return None
    storable = value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    text = unicodedata.normalize("NFC", storable).strip()
    return text[:MAX_TEXT] if text else None


def split_artist_title(text: str) -> tuple[str | None, str | None]:
    """``Artist - Title`` as (artist, title); just a title without the separator."""
    artist, separator, title = text.partition(" - ")
    if separator and artist.strip() and title.strip():
        return clean(artist), clean(title)
    return None, clean(text)


def normal_location(raw: str, base: str | None = None) -> str:
    """A location in one form (see the module's docstring)."""
    text = raw.strip()
    if text.lower().startswith("file:"):
        parts = urlsplit(text)
        path = unquote(parts.path)
        # file:///C:/x arrives as /C:/x; file://server/share as a UNC path.
        if re.match(r"^/[A-Za-z]:/", path):
            path = path[1:]
        elif parts.netloc and parts.netloc.lower() != "localhost":
            path = f"//{parts.netloc}{path}"
        text = path
    elif "://" in text:
        return unicodedata.normalize("NFC", text)
    text = text.replace("\\", "/")
    is_absolute = text.startswith("/") or bool(_WINDOWS_DRIVE.match(text))
    if not is_absolute and base:
        text = posixpath.join(base.replace("\\", "/"), text)
    if text.startswith("//"):
        text = "//" + posixpath.normpath(text[2:])
    else:
        text = posixpath.normpath(text)
    return unicodedata.normalize("NFC", text)


def guess_from_path(location: str) -> tuple[str | None, str | None, str | None]:
    """(artist, album, title) a file's path suggests: ``Artist - Title.ext``, or
    ``…/Artist/Album/01 - Title.ext``."""
    if "://" in location:
        return None, None, None
    parts = [p for p in location.split("/") if p]
    if not parts:
        return None, None, None
    stem = _AUDIO_SUFFIX.sub("", parts[-1])
    artist, title = split_artist_title(_TRACK_NUMBER.sub("", stem) or stem)
    album = clean(parts[-2]) if len(parts) >= 2 else None
    if artist is None and len(parts) >= 3:
        artist = clean(parts[-3])
    return artist, album, title


def ids_in(location: str | None) -> tuple[uuid.UUID | None, str | None]:
    """(Medley track id, Spotify track id) a location or identifier names."""
    if not location:
        return None, None
    medley = MEDLEY_TRACK.match(location.strip())
    if medley:
        return uuid.UUID(medley.group(1)), None
    spotify = SPOTIFY_TRACK.match(location.strip())
    return None, spotify.group(1) if spotify else None
