"""Composed reads through the gateway, every service a real process (``medley_stack``).

A listener scrobbles an album, puts its tracks in a playlist and saves the album; the
composed reads show the catalog's details and the listener's plays beside each service's
own answer. Then real processes are stopped in the middle of the test and started again:
an optional part missing is a 200 naming it in ``meta.degraded``; the primary part missing
is a 503 with ``Retry-After``. Last, the catalog cache: a merge or a delete through the
gateway, then a read at once, never shows the old catalog data.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from e2e_helpers import assert_problem, login, new_account, register

from medley_core.testing.tokens import bearer

PLAYLISTS = "/api/v1/playlists"
SONGS = 3


async def eventually(check: Callable[[], Awaitable[bool]], what: str, seconds: float = 40) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"not within {seconds} s: {what}")


@dataclass
class Listener:
    headers: dict[str, str]
    artist: str
    album: str
    tracks: list[str]  # catalog ids, in the album's order
    album_id: str
    artist_id: str
    playlist_id: str


async def scrobbled_listener(api: httpx.AsyncClient) -> Listener:
    """A user who scrobbled an album (song i played i + 1 times), has its tracks in a
    playlist and saved the album."""
    account = new_account()
    await register(api, account)
    headers = bearer((await login(api, account["username"]))["access_token"])
    created = await api.post("/api/v1/me/api-tokens", json={"name": "scrobbler"}, headers=headers)
    assert created.status_code == 201, created.text
    token = {"Authorization": f"Token {created.json()['token']}"}
    suffix = uuid.uuid4().hex[:8]
    artist, album = f"Compose Band {suffix}", f"Compose Album {suffix}"
    started = int(time.time()) - 3600
    payload = [
        {
            "listened_at": started + 300 * (song * SONGS + n),
            "track_metadata": {
                "artist_name": artist,
                "track_name": f"Compose Song {song}",
                "release_name": album,
                "additional_info": {"duration_ms": 200_000, "tracknumber": song + 1},
            },
        }
        for song in range(SONGS)
        for n in range(song + 1)
    ]
    sent = await api.post(
        "/1/submit-listens", json={"listen_type": "import", "payload": payload}, headers=token
    )
    assert sent.status_code == 200, sent.text

    listens: list[dict[str, Any]] = []

    async def resolved() -> bool:
        nonlocal listens
        page = await api.get("/api/v1/me/listens", params={"limit": 50}, headers=headers)
        assert page.status_code == 200, page.text
        listens = page.json()["items"]
        return len(listens) == len(payload) and all(x["track"]["album_id"] for x in listens)

    await eventually(resolved, "the scrobbles resolved to catalog tracks")
    by_title = {x["track"]["title"]: x["track"] for x in listens}
    tracks = [str(by_title[f"Compose Song {song}"]["id"]) for song in range(SONGS)]
    album_id = str(by_title["Compose Song 0"]["album_id"])
    detail = (await api.get(f"/api/v1/catalog/tracks/{tracks[0]}")).json()
    artist_id = str(detail["credits"][0]["artist_id"])

    made = await api.post(PLAYLISTS, json={"name": f"Composed {suffix}"}, headers=headers)
    assert made.status_code == 201, made.text
    playlist_id = made.json()["id"]

    async def added() -> bool:
        response = await api.post(
            f"{PLAYLISTS}/{playlist_id}/items", json={"track_ids": tracks}, headers=headers
        )
        if response.status_code == 422:  # catalog.track.created has not reached playlists
            return False
        assert response.status_code == 201, response.text
        return True

    await eventually(added, "the tracks reached the playlists service")

    async def saved() -> bool:
        response = await api.put(f"/api/v1/me/collections/albums/{album_id}", headers=headers)
        return response.status_code == 200

    await eventually(saved, "the album reached the playlists service")
    return Listener(headers, artist, album, tracks, album_id, artist_id, playlist_id)


@pytest.fixture
async def listener(api: httpx.AsyncClient) -> Listener:
    return await scrobbled_listener(api)


def child(stack: Any, name: str) -> Any:
    return next(c for c in stack.children if c.name == name)


@asynccontextmanager
async def stopped(stack: Any, name: str) -> AsyncIterator[None]:
    """The service's real process stopped for the block, then started again (and ready)."""
    process = child(stack, name)
    await process.astop(grace=5)
    try:
        yield
    finally:
        await process.restart()


def degraded(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {part["part"]: part for part in body["meta"]["degraded"]}


async def test_composed_reads_with_every_upstream_up(
    api: httpx.AsyncClient, listener: Listener
) -> None:
    me = listener.headers
    # The playlist, expanded: catalog details and my plays per item; meta says nothing missing.
    expanded = await api.get(
        f"{PLAYLISTS}/{listener.playlist_id}", params={"expand": "tracks"}, headers=me
    )
    assert expanded.status_code == 200, expanded.text
    playlist = expanded.json()
    assert playlist["meta"] == {"degraded": []}
    assert playlist["track_count"] == SONGS
    assert playlist["snapshot_id"]
    items = playlist["items"]
    assert [item["track_id"] for item in items] == listener.tracks
    assert [item["my_play_count"] for item in items] == [1, 2, 3]
    assert all(item["my_last_played_at"] for item in items)
    assert [item["details"]["title"] for item in items] == [
        f"Compose Song {i}" for i in range(SONGS)
    ]
    assert {item["details"]["album"]["title"] for item in items} == {listener.album}
    assert {item["details"]["credits"][0]["name"] for item in items} == {listener.artist}
    # Private: to anyone else it does not exist, composed or not.
    hidden = await api.get(f"{PLAYLISTS}/{listener.playlist_id}", params={"expand": "tracks"})
    assert_problem(hidden, 404)
    # Unexpanded it is the playlists service's answer as it was (ETag, 304).
    plain = await api.get(f"{PLAYLISTS}/{listener.playlist_id}", headers=me)
    assert "items" not in plain.json()
    assert "meta" not in plain.json()
    assert plain.headers["etag"]
    not_modified = await api.get(
        f"{PLAYLISTS}/{listener.playlist_id}",
        headers={**me, "If-None-Match": plain.headers["etag"]},
    )
    assert not_modified.status_code == 304

    # The album: the catalog's fields, my plays per track, saved, my playlists holding it.
    album = (await api.get(f"/api/v1/albums/{listener.album_id}", headers=me)).json()
    catalog_album = (await api.get(f"/api/v1/catalog/albums/{listener.album_id}")).json()
    assert {k: v for k, v in album.items() if k in catalog_album and k != "tracks"} == {
        k: v for k, v in catalog_album.items() if k != "tracks"
    }
    plays = {t["id"]: t["my_play_count"] for t in album["tracks"]}
    assert [plays[t] for t in listener.tracks] == [1, 2, 3]
    assert album["saved"] is True
    assert [p["id"] for p in album["in_my_playlists"]] == [listener.playlist_id]
    assert album["in_my_playlists"][0]["album_items"] == SONGS
    assert album["meta"] == {"degraded": []}
    # Anonymous: the album, with nothing of anyone's (null, not degraded).
    anonymous = (await api.get(f"/api/v1/albums/{listener.album_id}")).json()
    assert anonymous["saved"] is None
    assert anonymous["in_my_playlists"] is None
    assert {t["my_play_count"] for t in anonymous["tracks"]} == {None}
    assert anonymous["meta"] == {"degraded": []}
    assert_problem(await api.get(f"/api/v1/albums/{uuid.uuid4()}", headers=me), 404)
    assert_problem(await api.get("/api/v1/albums/not-a-uuid", headers=me), 422)

    # The artist: albums and my top tracks of theirs.
    artist = (await api.get(f"/api/v1/artists/{listener.artist_id}", headers=me)).json()
    assert artist["name"] == listener.artist
    assert [a["id"] for a in artist["albums"]] == [listener.album_id]
    assert [t["track_id"] for t in artist["my_top_tracks"]] == listener.tracks[::-1]
    assert [t["play_count"] for t in artist["my_top_tracks"]] == [3, 2, 1]

    # Home: profile, recent listens with details, top artists this month, playlists, imports.
    home = (await api.get("/api/v1/me/home", headers=me)).json()
    assert home["meta"] == {"degraded": []}
    assert home["profile"]["username"]
    assert len(home["recent_listens"]) == 6
    assert home["recent_listens"][0]["details"]["credits"][0]["name"] == listener.artist
    assert home["top_artists"][0]["artist_name"] == listener.artist
    assert home["top_artists"][0]["listen_count"] == 6
    assert [p["id"] for p in home["recent_playlists"]] == [listener.playlist_id]
    assert home["running_imports"] == []
    assert_problem(await api.get("/api/v1/me/home"), 401)

    # My listens keep ingestion's fields and gain the catalog's details.
    listens = (await api.get("/api/v1/me/listens", params={"limit": 2}, headers=me)).json()
    assert len(listens["items"]) == 2
    assert listens["next_cursor"]
    first = listens["items"][0]
    assert first["track"]["title"] == first["details"]["title"]
    assert first["details"]["album"]["id"] == listener.album_id
    assert listens["meta"] == {"degraded": []}
    bad = await api.get("/api/v1/me/listens", params={"cursor": "nonsense"}, headers=me)
    assert_problem(bad, 422)


async def test_a_stopped_service_degrades_or_refuses_and_comes_back(
    api: httpx.AsyncClient, listener: Listener, medley_stack: Any
) -> None:
    me = listener.headers
    expanded = f"{PLAYLISTS}/{listener.playlist_id}?expand=tracks"

    async with stopped(medley_stack, "ingestion"):
        # Optional here: the playlist comes, my plays are named missing.
        response = await api.get(expanded, headers=me)
        assert response.status_code == 200, response.text
        body = response.json()
        missing = degraded(body)
        assert set(missing) == {"plays"}
        assert missing["plays"]["upstream"] == "ingestion"
        assert missing["plays"]["fields"] == ["items[].my_play_count", "items[].my_last_played_at"]
        assert {item["my_play_count"] for item in body["items"]} == {None}
        assert [item["details"]["title"] for item in body["items"]] == [
            f"Compose Song {i}" for i in range(SONGS)
        ]
        home = await api.get("/api/v1/me/home", headers=me)
        assert home.status_code == 200, home.text
        assert set(degraded(home.json())) == {"listens", "listen_tracks", "top_artists", "imports"}
        assert home.json()["recent_listens"] is None
        assert [p["id"] for p in home.json()["recent_playlists"]] == [listener.playlist_id]
        # Primary here: a 503 problem naming it, with Retry-After.
        refused = await api.get("/api/v1/me/listens", headers=me)
        assert refused.status_code == 503, refused.text
        assert refused.json()["upstream"] == "ingestion"
        assert int(refused.headers["retry-after"]) >= 1

    async def whole_again() -> bool:
        again = await api.get(expanded, headers=me)
        return again.status_code == 200 and again.json()["meta"]["degraded"] == []

    await eventually(whole_again, "ingestion back in the composed playlist")

    async with stopped(medley_stack, "playlists"):
        refused = await api.get(expanded, headers=me)
        assert refused.status_code == 503, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["upstream"] == "playlists"
        assert int(refused.headers["retry-after"]) >= 1
        album = await api.get(f"/api/v1/albums/{listener.album_id}", headers=me)
        assert album.status_code == 200, album.text
        assert set(degraded(album.json())) == {"saved", "in_playlists"}
        assert album.json()["saved"] is None
        assert [t["my_play_count"] for t in album.json()["tracks"]] == [1, 2, 3]

    async with stopped(medley_stack, "catalog"):
        # An album never read (nothing cached): the primary part is missing.
        refused = await api.get(f"/api/v1/albums/{uuid.uuid4()}", headers=me)
        assert refused.status_code == 503, refused.text
        assert refused.json()["upstream"] == "catalog"
        assert int(refused.headers["retry-after"]) >= 1

    async def album_again() -> bool:
        again = await api.get(f"/api/v1/albums/{listener.album_id}", headers=me)
        return again.status_code == 200 and again.json()["meta"]["degraded"] == []

    await eventually(album_again, "playlists and catalog back in the composed album")


async def test_a_merge_or_a_delete_is_never_served_from_the_cache(
    api: httpx.AsyncClient, listener: Listener, admin_headers: dict[str, str]
) -> None:
    me = listener.headers
    expanded = f"{PLAYLISTS}/{listener.playlist_id}?expand=tracks"
    first, second, third = listener.tracks
    # Read twice: the second read's catalog part may come from the cache.
    for _ in range(2):
        items = (await api.get(expanded, headers=me)).json()["items"]
        assert items[0]["details"]["id"] == first

    merged = await api.post(
        f"/api/v1/admin/catalog/tracks/{first}/merge", json={"into": second}, headers=admin_headers
    )
    assert merged.status_code == 200, merged.text
    items = (await api.get(expanded, headers=me)).json()["items"]
    assert items[0]["details"]["id"] == second  # the survivor, at once

    deleted = await api.delete(f"/api/v1/admin/catalog/tracks/{third}", headers=admin_headers)
    assert deleted.status_code == 204, deleted.text
    items = (await api.get(expanded, headers=me)).json()["items"]
    assert items[-1]["details"] is None  # gone from the catalog, at once


async def test_a_change_made_elsewhere_empties_the_cache_from_its_event(
    api: httpx.AsyncClient,
    listener: Listener,
    admin_headers: dict[str, str],
    medley_stack: Any,
) -> None:
    """A rename on the catalog itself (not through this gateway) reaches the gateway's cache
    as a ``catalog.track.updated`` event."""
    me = listener.headers
    expanded = f"{PLAYLISTS}/{listener.playlist_id}?expand=tracks"
    for _ in range(2):
        assert (await api.get(expanded, headers=me)).json()["items"][0]["details"]["title"]
    catalog = medley_stack.service_urls["catalog"]
    renamed = f"Renamed {uuid.uuid4().hex[:6]}"
    async with httpx.AsyncClient(base_url=catalog, timeout=10) as direct:
        changed = await direct.patch(
            f"/tracks/{listener.tracks[0]}", json={"title": renamed}, headers=admin_headers
        )
        assert changed.status_code == 200, changed.text

    async def fresh() -> bool:
        items = (await api.get(expanded, headers=me)).json()["items"]
        return bool(items[0]["details"]["title"] == renamed)

    # Within less than the cache's lifetime (5 s): the event did it, not the clock.
    await eventually(fresh, "the catalog event emptied the gateway's cache", seconds=3)
