"""JSON playlists (pure): Medley's own export, and Spotify's account-data ``Playlist1.json``.

Medley's: ``{"name", "description", "tracks": [{"track_id", "title", "artist", "album",
"duration_ms"}]}``; a track is found again by its id, else by what it says.

Spotify's (the "Account data" export): ``{"playlists": [{"name", "description",
"items": [{"track": {"trackName", "artistName", "albumName", "trackUri"}, "episode",
"localTrack", "addedDate"}]}]}``, one file holding all of a user's playlists: each becomes a
playlist of its own. Podcast episodes are reported as skipped; local files keep what their
``spotify:local:<artist>:<album>:<title>:<seconds>`` URI says.

A file that is not JSON is a 422 naming the line and column; one of neither shape, or an
entry of the wrong shape, a 422 naming the element (``playlists.0.items.3``).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote_plus

from medley_playlists.transfer.entries import (
    Entry,
    ParsedPlaylist,
    clean,
    ids_in,
    malformed,
)


def load(content: bytes) -> Any:
    try:
        return json.loads(content.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise malformed("the file", "a JSON playlist is UTF-8") from None
    except json.JSONDecodeError as exc:
        raise malformed(
            f"line {exc.lineno}, column {exc.colno}", f"not JSON: {exc.msg}", line=exc.lineno
        ) from None
    except RecursionError:
        raise malformed("the file", "nested too deep") from None


def is_spotify(document: Any) -> bool:
    return isinstance(document, dict) and isinstance(document.get("playlists"), list)


def _text(value: Any) -> str | None:
    return clean(value) if isinstance(value, str) else None


def _duration(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise malformed(where, "duration_ms is a whole number of milliseconds", element=where)
    return value or None


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def parse_medley(document: Any, *, name: str) -> ParsedPlaylist:
    if not isinstance(document, dict) or not isinstance(document.get("tracks"), list):
        raise malformed("the document", 'a JSON playlist is {"name", "tracks": [...]}')
    entries = []
    for index, track in enumerate(document["tracks"]):
        where = f"tracks.{index}"
        if not isinstance(track, dict):
            raise malformed(where, "a track is an object", element=where)
        track_id = None
        if track.get("track_id") is not None:
            try:
                track_id = uuid.UUID(str(track["track_id"]))
            except ValueError:
                raise malformed(where, "track_id is not an id", element=where) from None
        entries.append(
            Entry(
                index=index,
                where=where,
                title=_text(track.get("title")),
                artist=_text(track.get("artist")),
                album=_text(track.get("album")),
                duration_ms=_duration(track.get("duration_ms"), f"{where}.duration_ms"),
                track_id=track_id,
                isrc=_text(track.get("isrc")),
            )
        )
    return ParsedPlaylist(
        name=_text(document.get("name")) or name,
        description=_text(document.get("description")),
        entries=entries,
        source_key=_digest(document),
    )


def _local(uri: str) -> tuple[str | None, str | None, str | None, int | None]:
    """(artist, album, title, ms) of ``spotify:local:<artist>:<album>:<title>:<seconds>``."""
    parts = uri.split(":")
    if len(parts) < 6:
        return None, None, None, None
    artist, album, title, seconds = (clean(unquote_plus(p)) for p in parts[2:6])
    duration = int(seconds) * 1000 if seconds and seconds.isdigit() and seconds != "0" else None
    return artist, album, title, duration


def _spotify_item(index: int, item: Any, where: str) -> Entry:
    if not isinstance(item, dict):
        raise malformed(where, "an item is an object", element=where)
    track = item.get("track")
    if isinstance(track, dict):
        _, spotify_id = ids_in(_text(track.get("trackUri")))
        return Entry(
            index=index,
            where=where,
            title=_text(track.get("trackName")),
            artist=_text(track.get("artistName")),
            album=_text(track.get("albumName")),
            spotify_id=spotify_id,
        )
    local = item.get("localTrack")
    if isinstance(local, dict) and isinstance(local.get("uri"), str):
        artist, album, title, duration_ms = _local(local["uri"])
        return Entry(index, where, title, artist, album, duration_ms, location=local["uri"])
    if item.get("episode") is not None:
        return Entry(index, where, skipped="a podcast episode, not a track")
    raise malformed(where, "an item holds a track, a localTrack or an episode", element=where)


def parse_spotify(document: dict[str, Any]) -> list[ParsedPlaylist]:
    found = []
    for number, playlist in enumerate(document["playlists"]):
        where = f"playlists.{number}"
        if not isinstance(playlist, dict) or not isinstance(playlist.get("items", []), list):
            raise malformed(where, "a playlist is an object with a list of items", element=where)
        entries = [
            _spotify_item(i, item, f"{where}.items.{i}")
            for i, item in enumerate(playlist.get("items", []))
        ]
        found.append(
            ParsedPlaylist(
                name=_text(playlist.get("name")) or f"Spotify playlist {number + 1}",
                description=_text(playlist.get("description")),
                entries=entries,
                source_key=_digest(playlist),
            )
        )
    if not found:
        raise malformed("playlists", "the file holds no playlist", element="playlists")
    return found


def write(name: str, description: str | None, tracks: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "tracks": [
            {
                "track_id": str(t["track_id"]),
                "title": t["title"],
                "artist": t["artist_names"],
                "album": t["album_title"],
                "duration_ms": t["duration_ms"],
                "available": t["available"],
            }
            for t in tracks
        ],
    }
