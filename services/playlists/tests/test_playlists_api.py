"""Playlists over HTTP: create, read with ETag and 304, change against a snapshot (412 when
stale), delete to the trash and restore, and the keyset lists."""

from __future__ import annotations

import uuid
from typing import Any

from .conftest import Client, People, Sessions, assert_problem, some_tracks


async def make(client: Client, who: Any, name: str = "Road trip", **fields: Any) -> dict[str, Any]:
    response = await client.post("/playlists", json={"name": name, **fields}, headers=who.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_create_answers_the_playlist_with_its_snapshot(
    client: Client, people: People
) -> None:
    response = await client.post(
        "/playlists",
        json={"name": "  Road trip ", "description": "for the A7", "visibility": "unlisted"},
        headers=people.alice.headers,
    )
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Road trip"
    assert (body["visibility"], body["collaborative"], body["role"]) == ("unlisted", False, "owner")
    assert (body["track_count"], body["duration_ms"]) == (0, 0)
    assert response.headers["etag"] == f'"{body["snapshot_id"]}"'
    read = await client.get(f"/playlists/{body['id']}", headers=people.alice.headers)
    assert read.json()["snapshot_id"] == body["snapshot_id"]
    assert read.json()["owner_id"] == str(people.alice.id)


async def test_a_read_answers_304_while_its_etag_holds(client: Client, people: People) -> None:
    playlist = await make(client, people.alice)
    url = f"/playlists/{playlist['id']}"
    first = await client.get(url, headers=people.alice.headers)
    etag = first.headers["etag"]
    same = await client.get(url, headers={**people.alice.headers, "If-None-Match": etag})
    assert same.status_code == 304
    assert same.headers["etag"] == etag
    assert same.content == b""
    await client.patch(url, json={"name": "Renamed"}, headers=people.alice.headers)
    again = await client.get(url, headers={**people.alice.headers, "If-None-Match": etag})
    assert again.status_code == 200
    assert again.headers["etag"] != etag
    assert again.json()["name"] == "Renamed"


async def test_a_change_against_a_stale_snapshot_is_412_with_the_current_one(
    client: Client, people: People
) -> None:
    playlist = await make(client, people.alice)
    url = f"/playlists/{playlist['id']}"
    old = playlist["snapshot_id"]
    renamed = await client.patch(
        url, json={"name": "Mine", "snapshot_id": old}, headers=people.alice.headers
    )
    assert renamed.status_code == 200
    current = renamed.json()["snapshot_id"]
    assert current != old
    # Another tab still holds the old snapshot: refused, and told the current one.
    for conditional in ({"json": {"name": "Theirs", "snapshot_id": old}},):
        stale = await client.patch(url, headers=people.alice.headers, **conditional)
        problem = assert_problem(stale, 412)
        assert problem["snapshot_id"] == current
        assert stale.headers["etag"] == f'"{current}"'
    stale = await client.patch(
        url, json={"name": "Theirs"}, headers={**people.alice.headers, "If-Match": f'"{old}"'}
    )
    assert assert_problem(stale, 412)["snapshot_id"] == current
    assert (await client.get(url, headers=people.alice.headers)).json()["name"] == "Mine"
    # Without a snapshot, a change applies to the latest.
    latest = await client.patch(url, json={"name": "Ours"}, headers=people.alice.headers)
    assert latest.json()["name"] == "Ours"


async def test_patch_sets_only_what_it_names(client: Client, people: People) -> None:
    playlist = await make(
        client, people.alice, description="d", cover_url="https://img.example/c.jpg"
    )
    url = f"/playlists/{playlist['id']}"
    changed = await client.patch(
        url, json={"visibility": "public", "description": None}, headers=people.alice.headers
    )
    body = changed.json()
    assert (body["name"], body["visibility"], body["description"]) == ("Road trip", "public", None)
    assert body["cover_url"] == "https://img.example/c.jpg"
    # Saying nothing new is not a change: the snapshot stays.
    same = await client.patch(url, json={"visibility": "public"}, headers=people.alice.headers)
    assert same.json()["snapshot_id"] == body["snapshot_id"]


async def test_bad_input_is_a_422_naming_the_field(client: Client, people: People) -> None:
    for body, field in (
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "x", "visibility": "friends"}, "visibility"),
        ({"name": "x", "cover_url": "javascript:alert(1)"}, "cover_url"),
        ({"name": "x", "owner_id": str(uuid.uuid4())}, "owner_id"),
    ):
        response = await client.post("/playlists", json=body, headers=people.alice.headers)
        problem = assert_problem(response, 422)
        assert field in response.text, problem
    playlist = await make(client, people.alice)
    nulled = await client.patch(
        f"/playlists/{playlist['id']}", json={"name": None}, headers=people.alice.headers
    )
    assert "name cannot be null" in assert_problem(nulled, 422)["errors"][0]["message"]
    assert_problem(await client.get("/playlists/not-an-id", headers=people.alice.headers), 422)


async def test_delete_goes_to_the_trash_and_restore_brings_it_back(
    client: Client, people: People, sessions: Sessions
) -> None:
    playlist = await make(client, people.alice, visibility="public")
    [track] = await some_tracks(sessions, 1)
    url = f"/playlists/{playlist['id']}"
    await client.post(
        f"{url}/items", json={"track_ids": [str(track)]}, headers=people.alice.headers
    )
    assert (await client.delete(url, headers=people.alice.headers)).status_code == 204
    for who in (people.alice, people.bob):
        assert_problem(await client.get(url, headers=who.headers), 404)
    trash = await client.get("/playlists", params={"scope": "trash"}, headers=people.alice.headers)
    assert [p["id"] for p in trash.json()["items"]] == [playlist["id"]]
    # Only its owner restores it; it comes back with its items.
    assert_problem(await client.post(f"{url}/restore", headers=people.bob.headers), 404)
    restored = await client.post(f"{url}/restore", headers=people.alice.headers)
    assert restored.status_code == 200
    assert restored.json()["track_count"] == 1
    assert (await client.get(url, headers=people.bob.headers)).status_code == 200
    assert_problem(await client.post(f"{url}/restore", headers=people.alice.headers), 404)


async def test_lists_page_by_keyset_in_each_sort(client: Client, people: People) -> None:
    names = ["delta", "Alpha", "charlie", "Bravo", "echo"]
    for name in names:
        await make(client, people.alice, name)
    await make(client, people.bob, "Not alice's")

    async def walk(**params: Any) -> list[str]:
        seen: list[str] = []
        cursor = None
        while True:
            query = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
            page = await client.get("/playlists", params=query, headers=people.alice.headers)
            body = page.json()
            seen.extend(p["name"] for p in body["items"])
            cursor = body["next_cursor"]
            if cursor is None:
                return seen

    assert await walk(sort="name", order="asc") == ["Alpha", "Bravo", "charlie", "delta", "echo"]
    assert await walk(sort="name", order="desc") == ["echo", "delta", "charlie", "Bravo", "Alpha"]
    assert await walk(sort="created", order="asc") == names
    assert await walk() == list(reversed(names))  # most recently updated first
    other_sort = (
        await client.get(
            "/playlists", params={"sort": "name", "limit": 2}, headers=people.alice.headers
        )
    ).json()["next_cursor"]
    bad = await client.get(
        "/playlists", params={"sort": "created", "cursor": other_sort}, headers=people.alice.headers
    )
    assert assert_problem(bad, 422)["field"] == "cursor"


async def test_shared_with_me_and_a_users_public_playlists(client: Client, people: People) -> None:
    shared = await make(client, people.alice, "Shared", collaborative=True)
    public = await make(client, people.alice, "Public", visibility="public")
    await make(client, people.alice, "Unlisted", visibility="unlisted")
    await make(client, people.alice, "Private")
    added = await client.post(
        f"/playlists/{shared['id']}/collaborators",
        json={"username": "bob", "role": "editor"},
        headers=people.alice.headers,
    )
    assert added.status_code == 201
    mine = await client.get("/playlists", params={"scope": "shared"}, headers=people.bob.headers)
    assert [(p["name"], p["role"]) for p in mine.json()["items"]] == [("Shared", "editor")]
    listed = await client.get(f"/users/{people.alice.id}/playlists")
    assert [p["id"] for p in listed.json()["items"]] == [public["id"]]


async def test_every_playlist_route_hides_a_private_playlist_from_another_user(
    client: Client, people: People, sessions: Sessions
) -> None:
    [track] = await some_tracks(sessions, 1)
    playlist = await make(client, people.alice)
    url = f"/playlists/{playlist['id']}"
    await client.post(
        f"{url}/items", json={"track_ids": [str(track)]}, headers=people.alice.headers
    )
    body = {"snapshot_id": playlist["snapshot_id"]}
    attempts = [
        ("GET", url, None),
        ("PATCH", url, {"name": "Mine now"}),
        ("DELETE", url, None),
        ("POST", f"{url}/restore", None),
        ("GET", f"{url}/items", None),
        ("POST", f"{url}/items", {"track_ids": [str(track)]}),
        ("DELETE", f"{url}/items", {"items": [{"track_id": str(track)}]}),
        ("PATCH", f"{url}/items", {"range_start": 0, "insert_before": 1}),
        ("PUT", f"{url}/items", {"track_ids": []}),
        ("GET", f"{url}/collaborators", None),
        ("POST", f"{url}/collaborators", {"username": "bob", "role": "editor"}),
        ("DELETE", f"{url}/collaborators/{people.alice.id}", None),
    ]
    for method, path, json in attempts:
        for headers in (people.bob.headers, {}):
            response = await client.request(method, path, json=json, headers=headers)
            expected = 404 if headers or method == "GET" else 401
            assert_problem(response, expected)
    # Nothing changed, and the owner still sees it all.
    seen = await client.get(url, headers=people.alice.headers)
    assert (seen.json()["name"], seen.json()["track_count"]) == ("Road trip", 1)
    assert body["snapshot_id"] != seen.json()["snapshot_id"]  # (the owner's own add)


async def test_public_and_unlisted_playlists_are_read_only_to_others(
    client: Client, people: People, sessions: Sessions
) -> None:
    [track] = await some_tracks(sessions, 1)
    for visibility in ("public", "unlisted"):
        playlist = await make(client, people.alice, visibility=visibility)
        url = f"/playlists/{playlist['id']}"
        for headers in (people.bob.headers, {}):
            read = await client.get(url, headers=headers)
            assert read.status_code == 200
            assert read.json()["role"] is None
            assert (await client.get(f"{url}/items", headers=headers)).status_code == 200
        for method, path, json in (
            ("PATCH", url, {"name": "x"}),
            ("DELETE", url, None),
            ("POST", f"{url}/items", {"track_ids": [str(track)]}),
            ("PUT", f"{url}/items", {"track_ids": []}),
        ):
            response = await client.request(method, path, json=json, headers=people.bob.headers)
            assert_problem(response, 403)


async def test_a_service_token_is_not_a_user(client: Client, people: People) -> None:
    response = await client.post("/playlists", json={"name": "x"}, headers=people.service())
    assert_problem(response, 403)
