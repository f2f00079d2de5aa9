"""Playlist files (pure): M3U/M3U8 with #EXTINF and every kind of location, XSPF, Medley JSON
and Spotify's Playlist1.json; what they are read into, the 422 naming the line or element
of a malformed one, and the files Medley writes (XSPF checked against the spec's rules)."""

from __future__ import annotations

import json
import unicodedata
import uuid
from typing import Any
from xml.etree.ElementTree import Element, fromstring

import pytest

from medley_core.errors import Unprocessable
from medley_playlists.transfer import jsonfiles, m3u, xspf
from medley_playlists.transfer.entries import guess_from_path, normal_location

TRACK = uuid.UUID("0190a0a0-0000-7000-8000-000000000001")


def test_m3u8_with_extinf() -> None:
    content = (
        "\ufeff#EXTM3U\n#PLAYLIST:Night drive\n"
        "#EXTINF:239,Radiohead - Creep\n/music/Radiohead/Pablo Honey/02 Creep.mp3\n"
        "\n# a comment\n"
        '#EXTINF:-1 tvg-id="x",Björk - Jóga\n#EXTALB:Homogenic\nhttp://stream.example/joga\n'
        "Portishead - Roads.flac\n"
    ).encode()
    parsed = m3u.parse(content, name="file name")
    assert parsed.name == "Night drive"
    got = [(e.where, e.artist, e.title, e.album, e.duration_ms) for e in parsed.entries]
    assert got == [
        ("line 4", "Radiohead", "Creep", "Pablo Honey", 239_000),
        ("line 9", "Björk", "Jóga", "Homogenic", None),
        ("line 10", "Portishead", "Roads", None, None),
    ]


@pytest.mark.parametrize(
    ("raw", "base", "expected"),
    [
        ("file:///home/ada/Music/A%20B/song.mp3", None, "/home/ada/Music/A B/song.mp3"),
        ("file://localhost/music/x.ogg", None, "/music/x.ogg"),
        ("file:///C:/Users/Ada/Music/x.mp3", None, "C:/Users/Ada/Music/x.mp3"),
        ("C:\\Users\\Ada\\Music\\x.mp3", None, "C:/Users/Ada/Music/x.mp3"),
        ("\\\\nas\\music\\x.mp3", None, "//nas/music/x.mp3"),
        ("file://nas/music/x.mp3", None, "//nas/music/x.mp3"),
        ("../Other/x.mp3", "/music/Lists", "/music/Other/x.mp3"),
        ("sub\\x.mp3", "D:\\Music", "D:/Music/sub/x.mp3"),
        ("/abs/x.mp3", "/ignored", "/abs/x.mp3"),
        ("https://host/a%20b.mp3", None, "https://host/a%20b.mp3"),
    ],
)
def test_locations_in_one_form(raw: str, base: str | None, expected: str) -> None:
    assert normal_location(raw, base) == expected


def test_nfd_and_nfc_paths_are_one_path() -> None:
    nfd = unicodedata.normalize("NFD", "/music/Björk/Homogenic/Jóga.mp3")
    assert nfd != "/music/Björk/Homogenic/Jóga.mp3"
    assert normal_location(nfd) == "/music/Björk/Homogenic/Jóga.mp3"
    assert guess_from_path(normal_location(nfd)) == ("Björk", "Homogenic", "Jóga")


def test_paths_suggest_artist_album_and_title() -> None:
    assert guess_from_path("/m/Portishead/Dummy/01 - Mysterons.flac") == (
        "Portishead",
        "Dummy",
        "Mysterons",
    )
    assert guess_from_path("/m/Lists/Massive Attack - Teardrop.mp3") == (
        "Massive Attack",
        "Lists",
        "Teardrop",
    )


def test_an_m3u_in_windows_1252_is_read() -> None:
    content = "#EXTINF:200,Sigur Rós - Hoppípolla\nC:\\Music\\h.mp3\n".encode("cp1252")
    [entry] = m3u.parse(content, name="x").entries
    assert (entry.artist, entry.title, entry.location) == (
        "Sigur Rós",
        "Hoppípolla",
        "C:/Music/h.mp3",
    )


def test_ids_in_locations() -> None:
    content = (
        f"medley:track:{TRACK}\nhttps://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC?si=x\n"
    ).encode()
    first, second = m3u.parse(content, name="x").entries
    assert first.track_id == TRACK
    assert second.spotify_id == "4uLU6hMCjMI75M1A2tKUQC"


@pytest.mark.parametrize(
    ("content", "at"),
    [
        (b"#EXTM3U\n#EXTINF:abc,X - Y\n/a.mp3\n", "line 2"),
        (b"#EXTINF:10,X - Y\n#EXTINF:10,X - Z\n/a.mp3\n", "line 1"),
        (b"/a.mp3\n#EXTINF:10,X - Y\n", "line 2"),
        (b"#EXTM3U\n\n# nothing\n", "the file"),
        (b"/a.mp3\x00\n", "the file"),
    ],
)
def test_a_malformed_m3u_names_the_line(content: bytes, at: str) -> None:
    with pytest.raises(Unprocessable) as caught:
        m3u.parse(content, name="x")
    assert caught.value.extensions["at"] == at
    assert caught.value.detail.startswith(at)


XSPF = b"""<?xml version="1.0" encoding="UTF-8"?>
<playlist version="1" xmlns="http://xspf.org/ns/0/">
  <title>Trip hop</title>
  <annotation>Bristol</annotation>
  <trackList>
    <track><title>Roads</title><creator>Portishead</creator><album>Dummy</album>
      <duration>305000</duration><identifier>isrc:gbaaa9400001</identifier></track>
    <track><location>file:///music/Massive%20Attack/Mezzanine/03%20Teardrop.flac</location></track>
    <track><identifier>spotify:track:4uLU6hMCjMI75M1A2tKUQC</identifier><title>T</title></track>
  </trackList>
</playlist>"""


def test_xspf() -> None:
    parsed = xspf.parse(XSPF, name="x")
    assert (parsed.name, parsed.description) == ("Trip hop", "Bristol")
    first, second, third = parsed.entries
    assert (first.title, first.artist, first.album, first.duration_ms, first.isrc) == (
        "Roads", "Portishead", "Dummy", 305_000, "GBAAA9400001",
    )  # fmt: skip
    assert (second.artist, second.album, second.title) == (
        "Massive Attack",
        "Mezzanine",
        "Teardrop",
    )
    assert second.location == "/music/Massive Attack/Mezzanine/03 Teardrop.flac"
    assert third.spotify_id == "4uLU6hMCjMI75M1A2tKUQC"


@pytest.mark.parametrize(
    ("content", "at"),
    [
        (b"<playlist version='1' xmlns='http://xspf.org/ns/0/'>\n<trackList>\n<track>", "line 3"),
        (b"<rss version='2.0'><channel/></rss>", "<rss>"),
        (b"<playlist version='1' xmlns='http://xspf.org/ns/0/'/>", "playlist"),
        (
            b"<playlist version='1' xmlns='http://xspf.org/ns/0/'><trackList><track/>"
            b"<track><duration>3:05</duration></track></trackList></playlist>",
            "trackList/track[2]/duration",
        ),
        (
            b"<!DOCTYPE lolz [<!ENTITY lol 'lol'>]><playlist version='1' "
            b"xmlns='http://xspf.org/ns/0/'><trackList/></playlist>",
            "the document",
        ),
    ],
)
def test_a_malformed_xspf_names_the_element_or_line(content: bytes, at: str) -> None:
    with pytest.raises(Unprocessable) as caught:
        xspf.parse(content, name="x")
    assert caught.value.extensions["at"].startswith(at)


SPOTIFY = {
    "playlists": [
        {
            "name": "Summer",
            "lastModifiedDate": "2024-06-01",
            "items": [
                {
                    "track": {
                        "trackName": "Teardrop",
                        "artistName": "Massive Attack",
                        "albumName": "Mezzanine",
                        "trackUri": "spotify:track:67Hna13dNDkZvBpTXRIaOJ",
                    },
                    "episode": None,
                    "localTrack": None,
                    "addedDate": "2024-05-01",
                },
                {"track": None, "episode": {"episodeName": "A podcast"}, "localTrack": None},
                {
                    "track": None,
                    "episode": None,
                    "localTrack": {"uri": "spotify:local:Bj%C3%B6rk:Post:Hyperballad:321"},
                },
            ],
        },
        {"name": "Empty", "items": []},
    ]
}


def test_spotify_account_data_export() -> None:
    document = jsonfiles.load(json.dumps(SPOTIFY).encode())
    assert jsonfiles.is_spotify(document)
    summer, empty = jsonfiles.parse_spotify(document)
    assert (summer.name, empty.name, empty.entries) == ("Summer", "Empty", [])
    track, episode, local = summer.entries
    assert (track.title, track.artist, track.spotify_id) == (
        "Teardrop", "Massive Attack", "67Hna13dNDkZvBpTXRIaOJ",
    )  # fmt: skip
    assert episode.skipped == "a podcast episode, not a track"
    assert (local.artist, local.album, local.title, local.duration_ms) == (
        "Björk", "Post", "Hyperballad", 321_000,
    )  # fmt: skip
    assert summer.source_key != empty.source_key


def _read_json(content: bytes) -> object:
    document = jsonfiles.load(content)
    if jsonfiles.is_spotify(document):
        return jsonfiles.parse_spotify(document)
    return jsonfiles.parse_medley(document, name="x")


@pytest.mark.parametrize(
    ("content", "at"),
    [
        (b'{"name": "x",\n "tracks": [}', "line 2, column 13"),
        (b'{"playlists": [{"items": [3]}]}', "playlists.0.items.0"),
        (b'{"playlists": []}', "playlists"),
        (b'{"name": "x", "tracks": [{"track_id": "nope"}]}', "tracks.0"),
        (b'{"name": "x", "tracks": [{"duration_ms": -5}]}', "tracks.0.duration_ms"),
        (b'{"name": "x"}', "the document"),
    ],
)
def test_a_malformed_json_playlist_names_the_element(content: bytes, at: str) -> None:
    with pytest.raises(Unprocessable) as caught:
        _read_json(content)
    assert caught.value.extensions["at"] == at


TRACKS: list[dict[str, Any]] = [
    {
        "track_id": TRACK,
        "title": "Jóga <live> & \x01more",
        "artist_names": "Björk",
        "album_title": "Homogenic",
        "duration_ms": 305_000,
        "available": True,
    },
    {
        "track_id": uuid.UUID(int=2),
        "title": "Untitled",
        "artist_names": "Unknown\nArtist",
        "album_title": None,
        "duration_ms": None,
        "available": False,
    },
]


def test_m3u8_round_trip() -> None:
    written = m3u.write("Mix", TRACKS)
    assert written.startswith("#EXTM3U\n#PLAYLIST:Mix\n#EXTINF:305,Björk - Jóga")
    first, second = m3u.parse(written.encode(), name="x").entries
    assert (first.track_id, first.album, first.duration_ms) == (TRACK, "Homogenic", 305_000)
    assert (second.artist, second.title, second.duration_ms) == ("Unknown Artist", "Untitled", None)


# XSPF version 1 (https://xspf.org/spec): what each element may hold and how often.
PLAYLIST_CHILDREN = {"title": 1, "creator": 1, "annotation": 1, "info": 1, "location": 1,
                     "identifier": 1, "image": 1, "date": 1, "license": 1, "attribution": 1,
                     "link": None, "meta": None, "extension": None, "trackList": 1}  # fmt: skip
TRACK_CHILDREN = {"location": None, "identifier": None, "title": 1, "creator": 1,
                  "annotation": 1, "info": 1, "image": 1, "album": 1, "trackNum": 1,
                  "duration": 1, "link": None, "meta": None, "extension": None}  # fmt: skip
URI_ELEMENTS = {"location", "identifier", "info", "image", "license"}


def _children_follow(node: Element, allowed: dict[str, int | None]) -> None:
    counts: dict[str, int] = {}
    for child in node:
        assert child.tag.startswith("{http://xspf.org/ns/0/}"), child.tag
        name = child.tag.split("}", 1)[1]
        assert name in allowed, name
        counts[name] = counts.get(name, 0) + 1
        most = allowed[name]
        assert most is None or counts[name] <= most, name
        if name in URI_ELEMENTS:
            assert child.text, name
            assert ":" in child.text, child.text
            assert " " not in child.text, child.text
        if name in ("duration", "trackNum"):
            assert child.text is not None
            assert child.text.isdigit()
        assert len(child) == 0 or name in ("trackList", "extension", "attribution")


def test_xspf_written_follows_the_spec_and_reads_back() -> None:
    written = xspf.write("Mix & match", "for <you>", TRACKS)
    root = fromstring(written)  # noqa: S314 -- our own output
    assert root.tag == "{http://xspf.org/ns/0/}playlist"
    assert root.attrib == {"version": "1"}
    _children_follow(root, PLAYLIST_CHILDREN)
    [track_list] = [c for c in root if c.tag.endswith("trackList")]
    assert all(t.tag.endswith("}track") for t in track_list)
    for track in track_list:
        _children_follow(track, TRACK_CHILDREN)
    parsed = xspf.parse(written, name="x")
    assert (parsed.name, parsed.description) == ("Mix & match", "for <you>")
    assert [e.track_id for e in parsed.entries] == [TRACK, uuid.UUID(int=2)]
    assert parsed.entries[0].title == "Jóga <live> & more"
