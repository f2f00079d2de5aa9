"""XSPF playlists (pure): read safely, written as XSPF version 1.

Reading goes through defusedxml (no entity expansion, no external references). Tracks take
their ``title``, ``creator``, ``album``, ``duration`` (milliseconds), ``location`` and
``identifier`` (``medley:track:…``, ``spotify:track:…``, ``isrc:…``). XML that does not
parse is a 422 naming the line and column; a document that is not an XSPF playlist, or a
track with a malformed duration, is a 422 naming the element.

Writing follows the XSPF 1 specification: ``<playlist version="1">`` in its namespace, the
title and annotation, one ``<track>`` per item with its identifier, title, creator, album
and duration (a non-negative integer of milliseconds).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from xml.etree.ElementTree import Element, SubElement, tostring

import defusedxml.ElementTree as SafeTree
from defusedxml import DefusedXmlException

from medley_playlists.transfer.entries import (
    Entry,
    ParsedPlaylist,
    clean,
    guess_from_path,
    ids_in,
    malformed,
    normal_location,
)

NS = "http://xspf.org/ns/0/"
Q = "{" + NS + "}"
# Characters XML 1.0 cannot carry at all (controls other than tab and newlines).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(value: object) -> str:
    return _NOT_XML.sub("", str(value))


def _text(parent: Element, name: str) -> str | None:
    found = parent.find(Q + name)
    return clean(found.text) if found is not None and found.text else None


def _track(index: int, node: Element, base: str | None) -> Entry:
    where = f"trackList/track[{index + 1}]"
    duration_ms = None
    raw_duration = _text(node, "duration")
    if raw_duration is not None:
        if not raw_duration.isdigit():
            raise malformed(f"{where}/duration", "a duration is whole milliseconds", element=where)
        duration_ms = int(raw_duration) or None
    location = _text(node, "location")
    identifiers = [clean(i.text) or "" for i in node.findall(Q + "identifier")]
    track_id = spotify_id = isrc = None
    for candidate in [*identifiers, location]:
        found_id, found_spotify = ids_in(candidate)
        track_id = track_id or found_id
        spotify_id = spotify_id or found_spotify
        if candidate and candidate.lower().startswith("isrc:"):
            isrc = candidate[5:].strip().upper() or None
    normal = normal_location(location, base) if location else None
    guessed_artist, guessed_album, guessed_title = (
        guess_from_path(normal) if normal else (None,) * 3
    )
    return Entry(
        index=index,
        where=where,
        title=_text(node, "title") or guessed_title,
        artist=_text(node, "creator") or guessed_artist,
        album=_text(node, "album") or guessed_album,
        duration_ms=duration_ms,
        location=normal,
        track_id=track_id,
        spotify_id=spotify_id,
        isrc=isrc,
    )


def parse(content: bytes, *, name: str, base: str | None = None) -> ParsedPlaylist:
    try:
        root = SafeTree.fromstring(content, forbid_dtd=True)
    except SafeTree.ParseError as exc:
        line, column = exc.position
        reason = str(exc).split(":", 1)[0]
        raise malformed(f"line {line}, column {column}", reason, line=line) from None
    except DefusedXmlException:
        raise malformed("the document", "DTDs and entities are not accepted") from None
    if root.tag != Q + "playlist":
        raise malformed(
            f"<{root.tag.removeprefix(Q)}>",
            f"the root element is <playlist> in the namespace {NS}",
            element=root.tag,
        )
    track_list = root.find(Q + "trackList")
    if track_list is None:
        raise malformed("playlist", "an XSPF playlist has a <trackList>", element="playlist")
    entries = [_track(i, node, base) for i, node in enumerate(track_list.findall(Q + "track"))]
    return ParsedPlaylist(
        name=_text(root, "title") or name,
        description=_text(root, "annotation"),
        entries=entries,
    )


def write(name: str, description: str | None, tracks: Iterable[dict[str, object]]) -> bytes:
    playlist = Element("playlist", {"version": "1", "xmlns": NS})
    SubElement(playlist, "title").text = _xml_text(name)
    if description:
        SubElement(playlist, "annotation").text = _xml_text(description)
    track_list = SubElement(playlist, "trackList")
    for track in tracks:
        node = SubElement(track_list, "track")
        SubElement(node, "identifier").text = f"medley:track:{track['track_id']}"
        SubElement(node, "title").text = _xml_text(track["title"])
        SubElement(node, "creator").text = _xml_text(track["artist_names"])
        if track.get("album_title"):
            SubElement(node, "album").text = _xml_text(track["album_title"])
        if isinstance(track.get("duration_ms"), int):
            SubElement(node, "duration").text = str(track["duration_ms"])
    body: bytes = tostring(playlist, encoding="utf-8", xml_declaration=True)
    return body
