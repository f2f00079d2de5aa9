"""Importing and exporting over HTTP against real PostgreSQL: a report per entry, matches
found in the projection, idempotent re-imports, Spotify's multi-playlist export, round trips
through every export format, and nothing created from a file that cannot be read."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

import pytest

from medley_core.db import driver_connection
from medley_playlists.transfer import m3u, matching

from .conftest import Client, People, PlaylistsDb, Sessions, add_tracks, assert_problem, track_event
from .test_items_api import new_playlist


async def upload(client: Client, who: Any, content: bytes, filename: str, **form: str) -> Any:
    return await client.post(
        "/playlists/import",
        files={"file": (filename, content, "application/octet-stream")},
        data=form,
        headers=who.headers,
    )


@pytest.fixture
async def library(sessions: Sessions) -> dict[str, uuid.UUID]:
    tracks = [
        track_event("Creep", "Radiohead", duration_ms=239_000),
        track_event("Creep", "Radiohead", duration_ms=300_000),  # a live version, longer
        track_event("Jóga", "Björk", duration_ms=305_000),
        track_event("Roads", "Portishead", duration_ms=305_000),
    ]
    ids = await add_tracks(sessions, *tracks)
    return {"creep": ids[0], "creep live": ids[1], "joga": ids[2], "roads": ids[3]}


async def test_an_m3u8_becomes_a_playlist_with_a_report(
    client: Client, people: People, library: dict[str, uuid.UUID], fresh: PlaylistsDb
) -> None:
    content = (
        "#EXTM3U\n"
        "#EXTINF:240,RADIOHEAD - creep\n/m/creep.mp3\n"  # any case: the studio version (240 s)
        "#EXTINF:305,Bjo\u0308rk - Jo\u0301ga\n/m/joga.mp3\n"  # decomposed accents
        "#EXTINF:200,Nobody - Nothing\n/m/nothing.mp3\n"
        "/m/Portishead/Dummy/01 - Roads.flac\n"  # no tags: the path says
        f"medley:track:{library['creep live']}\n"
        "/m/notags.mp3\n"
    ).encode()
    response = await upload(client, people.alice, content, "Night drive.m3u8")
    assert response.status_code == 201, response.text
    [result] = response.json()["playlists"]
    assert result["playlist"]["name"] == "Night drive"
    assert (result["matched"], result["unmatched"], result["skipped"]) == (4, 2, 0)
    report = [(r["at"], r["status"], r["method"], r["track_id"]) for r in result["report"]]
    assert report == [
        ("line 3", "matched", "local", str(library["creep"])),
        ("line 5", "matched", "local", str(library["joga"])),
        ("line 7", "unmatched", None, None),
        ("line 8", "matched", "local", str(library["roads"])),
        ("line 9", "matched", "id", str(library["creep live"])),
        ("line 10", "unmatched", None, None),
    ]
    assert result["report"][2]["reason"] == "not in the catalog the service knows"
    assert result["report"][5]["reason"] == "no title and artist to look for"
    playlist = result["playlist"]
    assert (playlist["track_count"], playlist["duration_ms"]) == (
        4,
        239_000 + 305_000 * 2 + 300_000,
    )
    items = await client.get(f"/playlists/{playlist['id']}/items", headers=people.alice.headers)
    assert [i["track_id"] for i in items.json()["items"]] == [
        str(library[k]) for k in ("creep", "joga", "roads", "creep live")
    ]
    [created] = [e for e in await fresh.events("playlists.playlist.created")]
    assert json.loads(created["data"])["track_count"] == 4


async def test_importing_the_same_file_again_gives_the_same_playlist(
    client: Client, people: People, library: dict[str, uuid.UUID]
) -> None:
    content = b"#EXTINF:305,Portishead - Roads\n/m/roads.mp3\n"
    first = (await upload(client, people.alice, content, "a.m3u")).json()["playlists"][0]
    again = await upload(client, people.alice, content, "b.m3u")
    assert again.status_code == 201
    [second] = again.json()["playlists"]
    assert (second["existing"], second["playlist"]["id"]) == (True, first["playlist"]["id"])
    mine = await client.get("/playlists", headers=people.alice.headers)
    assert len(mine.json()["items"]) == 1
    # Someone else importing the same file gets a playlist of their own.
    bobs = (await upload(client, people.bob, content, "a.m3u")).json()["playlists"][0]
    assert not bobs["existing"]
    # Once deleted, importing again makes a new one.
    await client.delete(f"/playlists/{first['playlist']['id']}", headers=people.alice.headers)
    third = (await upload(client, people.alice, content, "a.m3u")).json()["playlists"][0]
    assert not third["existing"]
    assert third["playlist"]["id"] != first["playlist"]["id"]


async def test_spotifys_export_makes_one_playlist_each(
    client: Client, people: People, library: dict[str, uuid.UUID]
) -> None:
    document = {
        "playlists": [
            {
                "name": "Bristol",
                "items": [
                    {"track": {"trackName": "Roads", "artistName": "Portishead",
                               "trackUri": "spotify:track:2uLU6hMCjMI75M1A2tKUQC"}},
                    {"track": None, "episode": {"episodeName": "Talk"}, "localTrack": None},
                ],
            },
            {"name": "Iceland", "items": [{"track": {"trackName": "Jóga", "artistName": "Björk"}}]},
        ]
    }  # fmt: skip
    response = await upload(client, people.alice, json.dumps(document).encode(), "Playlist1.json")
    assert response.status_code == 201, response.text
    bristol, iceland = response.json()["playlists"]
    assert (bristol["playlist"]["name"], bristol["matched"], bristol["skipped"]) == (
        "Bristol",
        1,
        1,
    )
    assert bristol["report"][1]["reason"] == "a podcast episode, not a track"
    assert (iceland["playlist"]["name"], iceland["playlist"]["track_count"]) == ("Iceland", 1)


@pytest.mark.parametrize("fmt", ["json", "m3u8", "xspf"])
async def test_export_and_import_again_find_the_same_tracks(
    client: Client, people: People, library: dict[str, uuid.UUID], fmt: str
) -> None:
    playlist = await new_playlist(client, people.alice, visibility="unlisted")
    order = [library["roads"], library["creep live"], library["joga"], library["roads"]]
    await playlist.add(order)
    exported = await client.get(
        f"/playlists/{playlist.id}/export", params={"format": fmt}, headers=people.bob.headers
    )
    assert exported.status_code == 200
    assert exported.headers["content-disposition"] == f'attachment; filename="Road trip.{fmt}"'
    again = await upload(client, people.bob, exported.content, f"copy.{fmt}")
    [result] = again.json()["playlists"]
    assert result["playlist"]["name"] == "Road trip"
    assert [r["method"] for r in result["report"]] == ["id"] * 4
    items = await client.get(
        f"/playlists/{result['playlist']['id']}/items", headers=people.bob.headers
    )
    assert [i["track_id"] for i in items.json()["items"]] == [str(t) for t in order]


async def test_export_of_a_private_playlist_is_its_owners(
    client: Client, people: People, library: dict[str, uuid.UUID]
) -> None:
    playlist = await new_playlist(client, people.alice)
    assert_problem(
        await client.get(f"/playlists/{playlist.id}/export", headers=people.bob.headers), 404
    )
    assert_problem(await client.get(f"/playlists/{playlist.id}/export"), 404)
    bad_format = await client.get(
        f"/playlists/{playlist.id}/export", params={"format": "pls"}, headers=people.alice.headers
    )
    assert assert_problem(bad_format, 422)["errors"][0]["field"] == "format"


async def test_a_file_that_cannot_be_read_creates_nothing(
    client: Client, people: People, library: dict[str, uuid.UUID], fresh: PlaylistsDb
) -> None:
    for content, filename, at in (
        (b"#EXTINF:oops,A - B\n/a.mp3\n", "x.m3u", "line 1"),
        (b"<playlist version='1' xmlns='http://xspf.org/ns/0/'><trackList>", "x.xspf", "line 1"),
        (
            b'{"playlists": [{"name": "ok", "items": []}, {"items": 5}]}',
            "Playlist1.json",
            "playlists.1",
        ),
    ):
        response = await upload(client, people.alice, content, filename)
        assert assert_problem(response, 422)["at"].startswith(at), response.text
    too_long = "".join(f"/m/{i}.mp3\n" for i in range(10_001)).encode()
    limited = await upload(client, people.alice, too_long, "big.m3u")
    assert assert_problem(limited, 422)["limit"] == 10_000
    assert await fresh.fetchval("SELECT count(*) FROM playlists") == 0
    unknown = await upload(client, people.alice, b"/a.mp3\n", "x.m3u", format="pls")
    assert assert_problem(unknown, 422)["errors"][0]["field"] == "format"


async def test_mappings_are_the_owners(client: Client, people: People) -> None:
    playlist = await new_playlist(client, people.alice, visibility="public")
    url = f"/playlists/{playlist.id}/mappings"
    put = await client.put(
        f"{url}/spotify", json={"connector_playlist_id": "37i9dQZF1DXcBWIGoYBM5M"},
        headers=people.alice.headers,
    )  # fmt: skip
    assert put.status_code == 200
    listed = await client.get(url, headers=people.alice.headers)
    assert [m["connector"] for m in listed.json()["items"]] == ["spotify"]
    assert_problem(await client.get(url, headers=people.bob.headers), 403)
    assert_problem(
        await client.put(
            f"{url}/spotify", json={"connector_playlist_id": "x"}, headers=people.bob.headers
        ),
        403,
    )
    assert (await client.delete(f"{url}/spotify", headers=people.alice.headers)).status_code == 204
    assert_problem(await client.delete(f"{url}/spotify", headers=people.alice.headers), 404)


class OwnersFiles:
    """A stand-in for the owner's library files (audio libraries are not built yet)."""

    def __init__(self, owner: uuid.UUID, files: dict[str, uuid.UUID]) -> None:
        self.owner = owner
        self.files = files

    async def tracks_at(self, owner: uuid.UUID, locations: Sequence[str]) -> dict[str, uuid.UUID]:
        return {at: self.files[at] for at in locations if owner == self.owner and at in self.files}


async def test_m3u_paths_match_library_files_once_there_is_a_library(
    fresh: PlaylistsDb, sessions: Sessions, library: dict[str, uuid.UUID]
) -> None:
    """The seam for audio libraries: a path one of the owner's files has is matched first
    (``library``); without a library the same entry goes on to the projection."""
    owner = uuid.uuid4()
    parsed = m3u.parse(
        b"#EXTINF:240,Radiohead - Creep\n/music/live/creep.flac\n/music/other.mp3\n",
        name="x",
        base=None,
    )
    files = OwnersFiles(owner, {"/music/live/creep.flac": library["creep live"]})
    async with sessions() as session:
        conn = await driver_connection(session)
        with_library = await matching.match(conn, parsed.entries, None, owner=owner, library=files)
        without = await matching.match(conn, parsed.entries, None, owner=owner)
    assert [(m.method, m.track_id) for m in with_library] == [
        ("library", library["creep live"]),
        (None, None),
    ]
    assert [(m.method, m.track_id) for m in without] == [("local", library["creep"]), (None, None)]
