"""Listening-history formats, recognised by their content.

An upload is one file or a zip of them (:mod:`.archive`). Each entry's first bytes say what
it is (:func:`detect`): a :class:`Kind` knows its format, its source, how to check the whole
entry before anything is stored (:attr:`Kind.check`) and how to read its records
(:attr:`Kind.read`). A ``format`` given with the upload does not replace detection; it says
what the upload must be, and an upload that is something else fails.

Pure: no database, no HTTP. Adding a format is a module and a :class:`Kind`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import msgspec

from medley_ingestion.importers import lastfm, listenbrainz, spotify
from medley_ingestion.importers.common import (
    ReadContext,
    check_utf8,
    decode_json,
    decode_json_object,
    strip_bom,
)
from medley_ingestion.importers.records import FileError, Outcome

HEAD_BYTES = 64 * 1024


def _check_json_array(data: bytes) -> None:
    """The whole entry is one well-formed JSON array (values not built: cheap)."""
    data = strip_bom(data)
    check_utf8(data)
    try:
        msgspec.json.decode(data, type=list[msgspec.Raw])
    except msgspec.ValidationError:
        raise FileError("expected a JSON array of records") from None
    except msgspec.DecodeError:
        decode_json(data)  # raises naming where it broke
        raise


def _check_json_object(data: bytes) -> None:
    decode_json_object(data)


def _check_jsonl(data: bytes) -> None:
    for _ in listenbrainz.jsonl_rows(data):
        pass


def _check_csv(data: bytes) -> None:
    layout = lastfm.sniff(data)
    if layout is None:
        raise FileError("a CSV of no known shape (see the README for the Last.fm shapes)")
    for _ in lastfm.data_rows(data):
        pass


def _read_nothing(data: bytes, ctx: ReadContext) -> Iterator[Outcome]:
    del data, ctx
    return iter(())


@dataclass(frozen=True)
class Kind:
    """One kind of entry: ``format`` is the export it belongs to (what a user may name),
    ``source`` where its listens come from."""

    name: str
    format: str
    source: str
    check: Callable[[bytes], None]
    read: Callable[[bytes, ReadContext], Iterator[Outcome]]


SPOTIFY_EXTENDED = Kind(
    "spotify_extended", "spotify_extended", "spotify", _check_json_array, spotify.read_extended
)
SPOTIFY_HISTORY = Kind(
    "spotify_history", "spotify_account", "spotify", _check_json_array, spotify.read_account
)
SPOTIFY_LIBRARY = Kind(
    "spotify_library", "spotify_account", "spotify", _check_json_object, spotify.read_library
)
LASTFM_CSV = Kind("lastfm_csv", "lastfm_csv", "lastfm", _check_csv, lastfm.read_csv)
LISTENBRAINZ_LISTENS = Kind(
    "listenbrainz_listens",
    "listenbrainz",
    "listenbrainz",
    _check_jsonl,
    listenbrainz.read_listens_jsonl,
)
LISTENBRAINZ_LISTENS_ARRAY = Kind(
    "listenbrainz_listens_array",
    "listenbrainz",
    "listenbrainz",
    _check_json_array,
    listenbrainz.read_listens_json,
)
LISTENBRAINZ_FEEDBACK = Kind(
    "listenbrainz_feedback",
    "listenbrainz",
    "listenbrainz",
    _check_jsonl,
    listenbrainz.read_feedback,
)
# An empty JSON array (Spotify writes some): a known file with nothing in it.
EMPTY = Kind("empty", "", "", _check_json_array, _read_nothing)

KINDS = (
    SPOTIFY_EXTENDED,
    SPOTIFY_HISTORY,
    SPOTIFY_LIBRARY,
    LASTFM_CSV,
    LISTENBRAINZ_LISTENS,
    LISTENBRAINZ_LISTENS_ARRAY,
    LISTENBRAINZ_FEEDBACK,
)
FORMATS = ("spotify_extended", "spotify_account", "lastfm_csv", "listenbrainz")

_EMPTY_ARRAY = re.compile(rb"^\[\s*\]\s*$")


def _has(head: bytes, *keys: str) -> bool:
    return all(f'"{key}"'.encode() in head for key in keys)


def _detect_array(head: bytes) -> Kind | None:
    if _EMPTY_ARRAY.match(head):
        return EMPTY
    if _has(head, "ts", "ms_played"):
        return SPOTIFY_EXTENDED
    if _has(head, "endTime", "msPlayed"):
        return SPOTIFY_HISTORY
    if _has(head, "listened_at", "track_metadata"):
        return LISTENBRAINZ_LISTENS_ARRAY
    return None


def _detect_object(head: bytes) -> Kind | None:
    first_line = head.split(b"\n", 1)[0]
    try:
        first = msgspec.json.decode(first_line)
    except (msgspec.DecodeError, UnicodeDecodeError):
        first = None
    if isinstance(first, dict):
        if "track_metadata" in first and "listened_at" in first:
            return LISTENBRAINZ_LISTENS
        if "score" in first and ("recording_msid" in first or "recording_mbid" in first):
            return LISTENBRAINZ_FEEDBACK
    if _has(head, "tracks") and (_has(head, "bannedTracks") or _has(head, "albums")):
        return SPOTIFY_LIBRARY
    return None


def detect(head: bytes) -> Kind | None:
    """What an entry is, from its first bytes (at least :data:`HEAD_BYTES` when it is that
    long), or None for anything Medley does not import."""
    head = strip_bom(head).lstrip()
    if head.startswith(b"["):
        return _detect_array(head)
    if head.startswith(b"{"):
        return _detect_object(head)
    # CSV: judged on whole lines only, so a cut-off last line cannot mislead; and on its
    # shape, not its encoding (a Last.fm CSV saved as Latin-1 is one, and fails its check
    # naming the first byte that is not UTF-8).
    complete = head.rsplit(b"\n", 1)[0] if b"\n" in head else head
    complete = complete.decode("utf-8", "replace").encode("utf-8")
    try:
        layout = lastfm.sniff(complete)
    except FileError:
        return None
    return LASTFM_CSV if layout is not None else None
