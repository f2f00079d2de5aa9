"""Merging duplicates: the survivor gains what the duplicate had, and the merged id keeps
answering on every read path."""

from __future__ import annotations

import json
import uuid
from typing import Any

from litestar.testing import AsyncTestClient

from .conftest import CatalogDb, Headers, assert_problem
from .test_api import make_album, make_artist, make_track

Client = AsyncTestClient[Any]


async def merge(client: Client, auth: Headers, kind: str, from_id: str, into: str) -> Any:
    return await client.post(f"/{kind}/{from_id}/merge", json={"into": into}, headers=auth("admin"))


async def test_a_merged_track_redirects_on_every_read_path(
    fresh: CatalogDb, client: Client, auth: Headers
) -> None:
    survivor = await make_track(
        client,
        auth,
        "Karma Police",
        "Radiohead",
        duration_ms=264_000,
        external_ids=[{"namespace": "isrc", "value": "GBAYE9700034"}],
    )
    duplicate = await make_track(
        client,
        auth,
        "Karma Police (dup)",
        "Radiohead",
        external_ids=[
            {"namespace": "spotify", "value": "63OQupATfueTdZMWTxW03A"},
            {"namespace": "isrc", "value": "GBAYE9700099"},
        ],
        genres=["Alternative"],
    )
    response = await merge(client, auth, "tracks", duplicate["id"], survivor["id"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["from"], body["into"]) == (duplicate["id"], survivor["id"])
    gained = {(e["namespace"], e["value"]) for e in body["survivor"]["external_ids"]}
    assert gained == {
        ("isrc", "GBAYE9700034"),
        ("isrc", "GBAYE9700099"),
        ("spotify", "63OQupATfueTdZMWTxW03A"),
    }
    assert [g["slug"] for g in body["survivor"]["genres"]] == ["alternative"]

    # get
    got = await client.get(f"/tracks/{duplicate['id']}")
    assert got.status_code == 200
    assert got.json()["id"] == survivor["id"]
    assert got.json()["redirected_from"] == duplicate["id"]
    # batch get
    batch = (await client.post("/tracks/batch", json={"ids": [duplicate["id"]]})).json()
    assert [t["id"] for t in batch["items"]] == [survivor["id"]]
    assert batch["redirects"] == {duplicate["id"]: survivor["id"]}
    # lookup by an external id the duplicate had
    looked = await client.get(
        "/tracks/lookup", params={"namespace": "spotify", "value": "63OQupATfueTdZMWTxW03A"}
    )
    assert looked.json()["id"] == survivor["id"]
    # writes through the merged id land on the survivor
    patched = await client.patch(
        f"/tracks/{duplicate['id']}", json={"explicit": True}, headers=auth("admin")
    )
    assert (patched.json()["id"], patched.json()["explicit"]) == (survivor["id"], True)
    # lists show the survivor only
    listed = (await client.get("/tracks")).json()["items"]
    assert [t["id"] for t in listed] == [survivor["id"]]

    merged = await fresh.events("catalog.track.merged")
    assert len(merged) == 1
    assert json.loads(merged[0]["data"]) | {"merged_at": None} == {
        "from": duplicate["id"],
        "into": survivor["id"],
        "merged_at": None,
    }
    assert merged[0]["subject"] == duplicate["id"]


async def test_merges_refuse_itself_loops_and_repeats(
    fresh: CatalogDb, client: Client, auth: Headers
) -> None:
    a = await make_artist(client, auth, "Prince")
    b = await make_artist(client, auth, "Prince (2)")
    c = await make_artist(client, auth, "The Artist Formerly Known as Prince")
    assert_problem(await merge(client, auth, "artists", a["id"], a["id"]), 409)
    assert (await merge(client, auth, "artists", b["id"], a["id"])).status_code == 200
    # b now redirects to a: merging a into b would make a loop.
    assert_problem(await merge(client, auth, "artists", a["id"], b["id"]), 409)
    # b was merged already.
    assert_problem(await merge(client, auth, "artists", b["id"], c["id"]), 409)
    # Unknown ids are 404, malformed ones 422.
    assert_problem(await merge(client, auth, "artists", str(uuid.uuid4()), a["id"]), 404)
    assert_problem(await merge(client, auth, "artists", c["id"], str(uuid.uuid4())), 404)
    assert_problem(await merge(client, auth, "artists", "nope", a["id"]), 422)
    # Chains stay one hop deep: a into c, and b (which pointed at a) now points at c.
    assert (await merge(client, auth, "artists", a["id"], c["id"])).status_code == 200
    redirects = {
        (str(r["from_id"]), str(r["into_id"]))
        for r in await fresh.fetch("SELECT from_id, into_id FROM redirects")
    }
    assert redirects == {(a["id"], c["id"]), (b["id"], c["id"])}
    assert (await client.get(f"/artists/{b['id']}")).json()["id"] == c["id"]
    # Only writers merge.
    assert_problem(
        await client.post(
            f"/artists/{c['id']}/merge", json={"into": a["id"]}, headers=auth("user")
        ),
        403,
    )


async def test_an_album_merge_moves_tracks_and_credits(
    fresh: CatalogDb, client: Client, auth: Headers
) -> None:
    survivor = await make_album(client, auth, "Mezzanine", "Massive Attack", release_year=1998)
    duplicate = await make_album(
        client,
        auth,
        "Mezzanine (Deluxe)",
        "Massive Attack",
        cover_url="https://img.example/mezzanine.jpg",
        external_ids=[{"namespace": "discogs", "value": "12345"}],
    )
    featured = await make_artist(client, auth, "Elizabeth Fraser")
    await client.patch(
        f"/albums/{duplicate['id']}",
        json={
            "credits": [
                {"name": "Massive Attack", "join_phrase": " & "},
                {"artist_id": featured["id"]},
            ]
        },
        headers=auth("admin"),
    )
    track = await make_track(client, auth, "Teardrop", "Massive Attack", album_id=duplicate["id"])
    response = await merge(client, auth, "albums", duplicate["id"], survivor["id"])
    assert response.status_code == 200, response.text
    album = response.json()["survivor"]
    assert [t["id"] for t in album["tracks"]] == [track["id"]]
    assert [c["name"] for c in album["credits"]] == ["Massive Attack", "Elizabeth Fraser"]
    assert album["artist_names"] == "Massive Attack & Elizabeth Fraser"
    assert album["cover_url"] == "https://img.example/mezzanine.jpg"
    assert album["external_ids"] == [{"namespace": "discogs", "value": "12345"}]
    moved = (await client.get(f"/tracks/{track['id']}")).json()
    assert moved["album"]["id"] == survivor["id"]
    # The moved track's projection is told (one update), the album merge once.
    assert len(await fresh.events("catalog.album.merged")) == 1
    updates = [
        e for e in await fresh.events("catalog.track.updated") if e["subject"] == track["id"]
    ]
    assert len(updates) == 1


async def test_an_artist_merge_repoints_every_credit(
    fresh: CatalogDb, client: Client, auth: Headers
) -> None:
    survivor = await make_artist(client, auth, "Beyoncé")
    duplicate = await make_artist(client, auth, "Beyonce Knowles")
    track = await make_track(client, auth, "Halo", "Beyonce Knowles")
    album = await make_album(client, auth, "I Am... Sasha Fierce", "Beyonce Knowles")
    assert (
        await merge(client, auth, "artists", duplicate["id"], survivor["id"])
    ).status_code == 200
    credited = (await client.get(f"/tracks/{track['id']}")).json()["credits"]
    # The credit keeps the name as printed, and now names the survivor.
    assert [(c["artist_id"], c["name"]) for c in credited] == [(survivor["id"], "Beyonce Knowles")]
    artist = (await client.get(f"/artists/{survivor['id']}")).json()
    assert (artist["track_count"], artist["album_count"]) == (1, 1)
    by_artist = (await client.get("/albums", params={"artist": survivor["id"]})).json()["items"]
    assert [a["id"] for a in by_artist] == [album["id"]]


async def test_plays_follow_a_merged_track(fresh: CatalogDb, client: Client, auth: Headers) -> None:
    a = await make_track(client, auth, "Song", "Band")
    b = await make_track(client, auth, "Song (dup)", "Band")
    await fresh.execute("UPDATE tracks SET play_count = 5 WHERE id = $1", uuid.UUID(a["id"]))
    await fresh.execute("UPDATE tracks SET play_count = 3 WHERE id = $1", uuid.UUID(b["id"]))
    await merge(client, auth, "tracks", b["id"], a["id"])
    assert (await client.get(f"/tracks/{a['id']}")).json()["play_count"] == 8
