"""Saved albums and artists: save (idempotent), list newest first by keyset, "is saved" for
a batch, remove; merges in the catalog move saved entries to the survivor."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from medley_contracts import catalog

from .conftest import Client, People, Sessions, assert_problem
from .test_projection import deliver


async def albums(sessions: Sessions, count: int) -> list[uuid.UUID]:
    made = [uuid.uuid4() for _ in range(count)]
    for index, album_id in enumerate(made):
        album = catalog.AlbumV1(
            album_id=album_id,
            title=f"Album {index}",
            album_type="album",
            artist_names="Björk",
            credits=[],
            release_year=1990 + index,
            updated_at=datetime.now(UTC),
        )
        await deliver(sessions, catalog.ALBUM_CREATED, album, album_id)
    return made


async def test_save_list_contains_and_remove(
    client: Client, people: People, sessions: Sessions
) -> None:
    made = await albums(sessions, 5)
    headers = people.alice.headers
    first = await client.put(f"/me/collections/albums/{made[0]}", headers=headers)
    assert first.status_code == 200
    again = await client.put(f"/me/collections/albums/{made[0]}", headers=headers)
    assert again.json()["saved_at"] == first.json()["saved_at"]
    for album_id in made[1:4]:
        await client.put(f"/me/collections/albums/{album_id}", headers=headers)

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/me/collections/albums", params=params, headers=headers)).json()
        seen.extend(entry["title"] for entry in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["Album 3", "Album 2", "Album 1", "Album 0"]

    asked = ",".join(str(a) for a in (made[4], made[0], made[2]))
    contains = await client.get(
        "/me/collections/albums/contains", params={"ids": asked}, headers=headers
    )
    assert contains.json()["saved"] == [False, True, True]
    # Bob's collection is his own.
    bobs = await client.get("/me/collections/albums", headers=people.bob.headers)
    assert bobs.json()["items"] == []
    assert (
        await client.delete(f"/me/collections/albums/{made[0]}", headers=headers)
    ).status_code == 204
    assert (
        await client.delete(f"/me/collections/albums/{made[0]}", headers=headers)
    ).status_code == 204
    after = await client.get(
        "/me/collections/albums/contains", params={"ids": asked}, headers=headers
    )
    assert after.json()["saved"] == [False, False, True]


async def test_what_cannot_be_saved(client: Client, people: People, sessions: Sessions) -> None:
    headers = people.alice.headers
    assert_problem(await client.put(f"/me/collections/albums/{uuid.uuid4()}", headers=headers), 422)
    assert_problem(await client.put(f"/me/collections/songs/{uuid.uuid4()}", headers=headers), 404)
    assert_problem(await client.put("/me/collections/albums/nope", headers=headers), 422)
    many = ",".join(str(uuid.uuid4()) for _ in range(101))
    too_many = await client.get(
        "/me/collections/albums/contains", params={"ids": many}, headers=headers
    )
    assert assert_problem(too_many, 422)["limit"] == 100
    assert_problem(await client.get("/me/collections/albums"), 401)


async def test_a_merged_album_moves_to_its_survivor(
    client: Client, people: People, sessions: Sessions
) -> None:
    kept, merged = await albums(sessions, 2)
    await client.put(f"/me/collections/albums/{merged}", headers=people.alice.headers)
    payload = catalog.EntityMergedV1.model_validate(
        {"from": merged, "into": kept, "merged_at": datetime.now(UTC)}
    )
    await deliver(sessions, catalog.ALBUM_MERGED, payload, merged)
    listed = await client.get("/me/collections/albums", headers=people.alice.headers)
    assert [e["id"] for e in listed.json()["items"]] == [str(kept)]
