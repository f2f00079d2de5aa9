"""Playlists through the gateway, every part real (``medley_stack``): tracks the catalog
creates reach the playlists service over NATS, two users edit one playlist without
overwriting each other (ETag, If-Match, 412), a private playlist stays private, a file
goes out and comes back in, and an erased account's playlists go."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from e2e_helpers import assert_problem, login, new_account, register

from medley_core.testing.tokens import bearer

PLAYLISTS = "/api/v1/playlists"


async def eventually(check: Callable[[], Awaitable[bool]], what: str, seconds: float = 30) -> None:
    for _ in range(int(seconds / 0.2)):
        if await check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"not within {seconds} s: {what}")


async def person(api: httpx.AsyncClient) -> tuple[dict[str, Any], dict[str, str]]:
    account = new_account()
    user = await register(api, account)
    tokens = await login(api, account["username"])
    return {**user, "username": account["username"], "password": account["password"]}, bearer(
        tokens["access_token"]
    )


async def test_two_people_edit_a_playlist_through_the_gateway(
    api: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    alice, as_alice = await person(api)
    bob, as_bob = await person(api)
    suffix = uuid.uuid4().hex[:6]
    tracks = []
    for title in ("Teardrop", "Angel", "Inertia Creeps"):
        body = {"title": title, "credits": [{"name": f"Massive Attack {suffix}"}],
                "duration_ms": 300_000}  # fmt: skip
        created = await api.post("/api/v1/admin/catalog/tracks", json=body, headers=admin_headers)
        assert created.status_code == 201, created.text
        tracks.append(created.json()["id"])

    made = await api.post(
        PLAYLISTS, json={"name": "Mezzanine", "collaborative": True}, headers=as_alice
    )
    assert made.status_code == 201, made.text
    playlist = made.json()
    url = f"{PLAYLISTS}/{playlist['id']}"

    # The catalog's events reach the playlists service: then the tracks can be added.
    async def added() -> bool:
        response = await api.post(f"{url}/items", json={"track_ids": tracks}, headers=as_alice)
        if response.status_code == 422:
            return False
        assert response.status_code == 201, response.text
        return True

    await eventually(added, "catalog.track.created reached playlists")

    # Read with its ETag; unchanged, it is a 304.
    read = await api.get(url, headers=as_alice)
    assert (read.json()["track_count"], read.json()["duration_ms"]) == (3, 900_000)
    etag = read.headers["etag"]
    assert (await api.get(url, headers={**as_alice, "If-None-Match": etag})).status_code == 304
    # Private: Bob sees nothing, not even that it exists.
    assert_problem(await api.get(url, headers=as_bob), 404)

    # Alice names Bob an editor (his username reached playlists from users over NATS).
    async def named() -> bool:
        response = await api.post(
            f"{url}/collaborators", json={"username": bob["username"], "role": "editor"},
            headers=as_alice,
        )  # fmt: skip
        return response.status_code == 201

    await eventually(named, "users.user.registered reached playlists")

    # Both edit against the snapshot they read: one wins, the other is told (412).
    alice_move = api.patch(
        f"{url}/items",
        json={"range_start": 0, "insert_before": 3},
        headers={**as_alice, "If-Match": etag},
    )
    bob_remove = api.request(
        "DELETE",
        f"{url}/items",
        json={"items": [{"track_id": tracks[1], "position": 1}]},
        headers={**as_bob, "If-Match": etag},
    )
    first, second = await asyncio.gather(alice_move, bob_remove)
    assert sorted([first.status_code, second.status_code]) == [200, 412], (first.text, second.text)
    loser = first if first.status_code == 412 else second
    winner = second if loser is first else first
    assert assert_problem(loser, 412)["snapshot_id"] == winner.json()["snapshot_id"]
    assert loser.headers["etag"] == winner.headers["etag"]

    # Exported, and imported again by Bob: the same tracks, found by their ids.
    exported = await api.get(f"{url}/export", params={"format": "m3u8"}, headers=as_bob)
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-disposition"].endswith('.m3u8"')
    imported = await api.post(
        f"{PLAYLISTS}/import",
        files={"file": ("mezzanine.m3u8", exported.content, "audio/x-mpegurl")},
        headers=as_bob,
    )
    assert imported.status_code == 201, imported.text
    [copy] = imported.json()["playlists"]
    items = await api.get(f"{PLAYLISTS}/{copy['playlist']['id']}/items", headers=as_bob)
    original = await api.get(f"{url}/items", headers=as_alice)
    assert [i["track_id"] for i in items.json()["items"]] == [
        i["track_id"] for i in original.json()["items"]
    ]

    # Alice's account goes: so do her playlists, and the erasure completes once playlists
    # (and the catalog) answered over NATS.
    deleted = await api.request(
        "DELETE", "/api/v1/me", json={"password": alice["password"]}, headers=as_alice
    )
    assert deleted.status_code == 202, deleted.text

    async def erased() -> bool:
        status = await api.get(f"/api/v1/admin/erasures/{alice['id']}", headers=admin_headers)
        return bool(status.json()["status"] == "completed")

    await eventually(erased, "the erasure completed")
    assert_problem(await api.get(url, headers=as_bob), 404)
    # Bob's copy is his own and stays.
    assert (
        await api.get(f"{PLAYLISTS}/{copy['playlist']['id']}", headers=as_bob)
    ).status_code == 200


async def test_an_import_resolves_through_the_catalog_with_the_launchers_service_client(
    api: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """The launcher gives playlists the catalog's URL and a client the users service grants
    ``catalog:resolve``: an entry the projection cannot match as written (a featured artist
    in the artist field) is resolved by the catalog; one it does not know is unmatched."""
    _, as_carol = await person(api)
    artist = f"Portishead {uuid.uuid4().hex[:6]}"
    body = {"title": "Glory Box", "credits": [{"name": artist}], "duration_ms": 306_000}
    created = await api.post("/api/v1/admin/catalog/tracks", json=body, headers=admin_headers)
    assert created.status_code == 201, created.text
    content = (
        f"#EXTM3U\n#EXTINF:306,{artist} feat. Nobody Else - Glory Box\n/m/glory.mp3\n"
        f"#EXTINF:200,{artist} - A Song Nobody Wrote\n/m/none.mp3\n"
    ).encode()
    imported = await api.post(
        f"{PLAYLISTS}/import",
        files={"file": ("dummy.m3u8", content, "audio/x-mpegurl")},
        headers=as_carol,
    )
    assert imported.status_code == 201, imported.text
    [result] = imported.json()["playlists"]
    found, missing = result["report"]
    assert (found["status"], found["track_id"]) == ("matched", created.json()["id"])
    assert found["method"] in ("exact", "fuzzy")
    assert (missing["status"], missing["reason"]) == ("unmatched", "not in the catalog")
