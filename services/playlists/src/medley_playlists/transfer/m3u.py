"""M3U and M3U8 playlists (pure): read with their ``#EXTINF`` lines, written as M3U8.

Reading: UTF-8 (a BOM is allowed; ``.m3u`` files that are not UTF-8 are read as
Windows-1252, as the players that wrote them did), one location per line, ``#EXTINF:<seconds>
[attributes],<artist> - <title>`` before it, ``#PLAYLIST:`` for the name, ``#EXTALB:`` /
``#EXTART:`` for album and artist, other ``#`` lines ignored. A malformed ``#EXTINF``, one
without a location after it, or a file with NUL bytes is a 422 naming the line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from medley_playlists.transfer.entries import (
    Entry,
    ParsedPlaylist,
    clean,
    guess_from_path,
    ids_in,
    malformed,
    normal_location,
    split_artist_title,
)

_EXTINF = re.compile(r"^#EXTINF:\s*(-?\d+(?:\.\d+)?)\s*(?:[^,]*?)?,(.*)$", re.IGNORECASE)


def decode(content: bytes) -> str:
    if b"\x00" in content:
        raise malformed("the file", "it is binary (NUL bytes), not a playlist")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("cp1252", errors="replace")


def parse(content: bytes, *, name: str, base: str | None = None) -> ParsedPlaylist:
    """The playlist an M3U file holds; ``name`` unless it names itself (``#PLAYLIST:``),
    relative locations joined to ``base``."""
    lines = decode(content).splitlines()
    entries: list[Entry] = []
    title = artist = album = None
    duration_ms: int | None = None
    pending: int | None = None  # the line of an #EXTINF waiting for its location
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        upper = line.upper()
        if upper.startswith("#EXTINF"):
            if pending is not None:
                raise malformed(
                    f"line {pending}", "#EXTINF without a location after it", line=pending
                )
            found = _EXTINF.match(line)
            if found is None:
                raise malformed(
                    f"line {number}",
                    "#EXTINF is #EXTINF:<seconds>,<artist> - <title>",
                    line=number,
                )
            seconds = float(found.group(1))
            duration_ms = int(seconds * 1000) if seconds > 0 else None
            artist, title = split_artist_title(found.group(2))
            pending = number
            continue
        if upper.startswith("#PLAYLIST:"):
            name = clean(line[len("#PLAYLIST:") :]) or name
            continue
        if upper.startswith("#EXTALB:"):
            album = clean(line[len("#EXTALB:") :])
            continue
        if upper.startswith("#EXTART:"):
            artist = artist or clean(line[len("#EXTART:") :])
            continue
        if line.startswith("#"):
            continue
        location = normal_location(line, base)
        track_id, spotify_id = ids_in(line)
        guessed_artist, guessed_album, guessed_title = guess_from_path(location)
        entries.append(
            Entry(
                index=len(entries),
                where=f"line {number}",
                title=title or guessed_title,
                artist=artist or guessed_artist,
                album=album or guessed_album,
                duration_ms=duration_ms,
                location=location,
                track_id=track_id,
                spotify_id=spotify_id,
            )
        )
        title = artist = album = None
        duration_ms = None
        pending = None
    if pending is not None:
        raise malformed(f"line {pending}", "#EXTINF without a location after it", line=pending)
    if not entries:
        raise malformed("the file", "no entries: an M3U playlist lists one location per line")
    return ParsedPlaylist(name=name, description=None, entries=entries)


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def write(name: str, tracks: Iterable[dict[str, object]]) -> str:
    """An M3U8 playlist: ``#EXTINF`` with seconds, artist and title, then the track as
    ``medley:track:<id>`` (what a Medley import finds it by)."""
    lines = ["#EXTM3U", f"#PLAYLIST:{_one_line(name)}"]
    for track in tracks:
        duration = track.get("duration_ms")
        seconds = round(int(duration) / 1000) if isinstance(duration, int) else -1
        label = f"{_one_line(str(track['artist_names']))} - {_one_line(str(track['title']))}"
        lines.append(f"#EXTINF:{seconds},{label}")
        if track.get("album_title"):
            lines.append(f"#EXTALB:{_one_line(str(track['album_title']))}")
        lines.append(f"medley:track:{track['track_id']}")
    return "\n".join(lines) + "\n"
