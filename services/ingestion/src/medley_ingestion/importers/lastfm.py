"""Last.fm exports as CSV, in the three shapes the usual tools write.

* headerless ``artist,album,track,date`` with dates like "23 Feb 2016 17:59" (lastfm-to-csv);
* a header naming ``uts`` (Unix seconds), usually with ``utc_time`` (quoted: "23 Feb 2016,
  17:59"), ``artist``, ``album``, ``track`` and optional ``*_mbid`` columns;
* Libre.fm/Maloja style: ``#`` comment lines, then ``Artist,Track,Album,Time``.

A shape is recognised by its header and column count, never by the file's name. Last.fm's
time is when the scrobbled track started; every time is UTC.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from medley_ingestion.importers.common import (
    ReadContext,
    check_utf8,
    strip_bom,
)
from medley_ingestion.importers.common import (
    valid_mbid as lb_mbid,
)
from medley_ingestion.importers.records import (
    FileError,
    Listen,
    Outcome,
    Rejected,
    SourceTrack,
    check_time,
    text_or_none,
)

Shape = Literal["headerless", "uts", "maloja"]
DATE_FORMATS = ("%d %b %Y %H:%M", "%d %b %Y, %H:%M", "%d %b %Y %H:%M:%S")
MALOJA_HEADER = ("artist", "track", "album", "time")
HEADERLESS_COLUMNS = 4


@dataclass(frozen=True)
class Layout:
    shape: Shape
    artist: int
    track: int
    album: int | None
    time: int
    track_mbid: int | None = None
    has_header: bool = True


def parse_lastfm_date(value: str) -> datetime | None:
    """ "23 Feb 2016 17:59" (and its variants) as UTC, or None."""
    value = value.strip()
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(value, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def parse_time(value: str) -> datetime | None:
    """Unix seconds, ISO 8601 (UTC when it names no offset) or a Last.fm date."""
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        try:
            return datetime.fromtimestamp(int(value), tz=UTC)
        except (OverflowError, ValueError, OSError):
            return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return parse_lastfm_date(value)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def layout_of(first_row: list[str]) -> Layout | None:
    """The shape a CSV's first data-or-header row announces, or None."""
    cells = [cell.strip().lower() for cell in first_row]
    if "uts" in cells and "artist" in cells and "track" in cells:
        return Layout(
            "uts",
            artist=cells.index("artist"),
            track=cells.index("track"),
            album=cells.index("album") if "album" in cells else None,
            time=cells.index("uts"),
            track_mbid=cells.index("track_mbid") if "track_mbid" in cells else None,
        )
    if all(name in cells for name in MALOJA_HEADER):
        return Layout(
            "maloja",
            artist=cells.index("artist"),
            track=cells.index("track"),
            album=cells.index("album"),
            time=cells.index("time"),
        )
    if len(cells) == HEADERLESS_COLUMNS and parse_lastfm_date(first_row[3]) is not None:
        return Layout("headerless", artist=0, album=1, track=2, time=3, has_header=False)
    return None


def _lines(data: bytes) -> io.StringIO:
    data = strip_bom(data)
    check_utf8(data)
    return io.StringIO(data.decode("utf-8"), newline="")


def data_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    """``(line number, cells)`` of each row that is neither blank nor a ``#`` comment."""
    reader = csv.reader(_lines(data), strict=False)
    try:
        for cells in reader:
            if not cells or not any(cell.strip() for cell in cells):
                continue
            if cells[0].lstrip().startswith("#"):
                continue
            yield reader.line_num, cells
    except csv.Error as exc:
        raise FileError(
            f"the CSV is malformed: {exc}", position=f"line {reader.line_num}"
        ) from None


def sniff(data: bytes) -> Layout | None:
    """The layout of a CSV file (its first rows only), or None when it is not one we know."""
    for _, cells in data_rows(data):
        return layout_of(cells)
    return None


def _row(cells: list[str], layout: Layout, position: str, ctx: ReadContext) -> Outcome:
    needed = max(
        i for i in (layout.artist, layout.track, layout.album, layout.time) if i is not None
    )
    if len(cells) <= needed:
        return Rejected(position, f"expected at least {needed + 1} columns, found {len(cells)}")
    if layout.shape == "headerless" and len(cells) != HEADERLESS_COLUMNS:
        return Rejected(position, f"expected {HEADERLESS_COLUMNS} columns, found {len(cells)}")
    artist, title = text_or_none(cells[layout.artist]), text_or_none(cells[layout.track])
    if artist is None or title is None:
        return Rejected(position, "the row names no artist or no track")
    when = parse_time(cells[layout.time])
    if when is None:
        return Rejected(position, f"unreadable time {cells[layout.time]!r}")
    refused = check_time(when, ctx.now)
    if refused:
        return Rejected(position, refused)
    album = text_or_none(cells[layout.album]) if layout.album is not None else None
    mbid = cells[layout.track_mbid] if layout.track_mbid is not None else None
    track = SourceTrack(title=title, artist=artist, album=album, recording_mbid=lb_mbid(mbid))
    return Listen(track, when, None, position=position)


def read_csv(data: bytes, ctx: ReadContext) -> Iterator[Outcome]:
    layout = sniff(data)
    if layout is None:
        raise FileError("a CSV of no known shape (see the README for the Last.fm shapes)")
    rows = data_rows(data)
    if layout.has_header:
        next(rows)
    for index, (line, cells) in enumerate(rows):
        if index < ctx.skip:
            continue
        yield _row(cells, layout, f"line {line}", ctx)
