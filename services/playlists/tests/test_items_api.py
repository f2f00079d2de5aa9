"""A playlist's items over HTTP, against real PostgreSQL: order, positions, moves as the
Spotify Web API defines them, limits, exact cached totals, snapshots between concurrent
editors, and what the outbox says."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from typing import Any

from medley_playlists.ordering import REBALANCE_AT

from .conftest import (
    Client,
    People,
    Person,
    PlaylistsDb,
    Sessions,
    add_tracks,
    assert_problem,
    some_tracks,
    track_event,
)
from .test_playlists_api import make


class Playlist:
    """One playlist as a test drives it."""

    def __init__(self, client: Client, data: dict[str, Any], owner: Person) -> None:
        self.client = client
        self.id = data["id"]
        self.url = f"/playlists/{self.id}/items"
        self.owner = owner

    async def add(
        self,
        tracks: list[uuid.UUID],
        position: int | None = None,
        who: Person | None = None,
        **extra: Any,
    ) -> Any:
        body: dict[str, Any] = {"track_ids": [str(t) for t in tracks], **extra}
        if position is not None:
            body["position"] = position
        return await self.client.post(self.url, json=body, headers=(who or self.owner).headers)

    async def move(self, start: int, before: int, length: int = 1, **extra: Any) -> Any:
        body = {"range_start": start, "insert_before": before, "range_length": length, **extra}
        return await self.client.patch(self.url, json=body, headers=self.owner.headers)

    async def remove(self, refs: list[dict[str, Any]], **extra: Any) -> Any:
        return await self.client.request(
            "DELETE", self.url, json={"items": refs, **extra}, headers=self.owner.headers
        )

    async def items(self, limit: int = 10_000) -> list[dict[str, Any]]:
        response = await self.client.get(
            self.url, params={"limit": limit}, headers=self.owner.headers
        )
        assert response.status_code == 200, response.text
        return list(response.json()["items"])

    async def tracks(self) -> list[uuid.UUID]:
        return [uuid.UUID(i["track_id"]) for i in await self.items()]

    async def playlist(self) -> dict[str, Any]:
        response = await self.client.get(f"/playlists/{self.id}", headers=self.owner.headers)
        return dict(response.json())


async def new_playlist(client: Client, owner: Person, **fields: Any) -> Playlist:
    return Playlist(client, await make(client, owner, **fields), owner)


async def exact_totals(db: PlaylistsDb, playlist_id: str) -> tuple[int, int]:
    """The count and duration recomputed from the rows, to compare with the cache."""
    row = (
        await db.fetch(
            """
            SELECT count(i.id)::int AS n, coalesce(sum(t.duration_ms), 0)::bigint AS d
            FROM items i JOIN tracks t ON t.id = i.track_id WHERE i.playlist_id = $1
            """,
            uuid.UUID(playlist_id),
        )
    )[0]
    return row["n"], row["d"]


async def test_add_at_the_end_and_at_a_position_with_duplicates(
    client: Client, people: People, sessions: Sessions, fresh: PlaylistsDb
) -> None:
    a, b, c = await some_tracks(sessions, 3, duration_ms=100_000)
    playlist = await new_playlist(client, people.alice)
    first = await playlist.add([a, b])
    assert first.status_code == 201
    assert first.headers["etag"] == f'"{first.json()["snapshot_id"]}"'
    await playlist.add([c, a], position=1)
    await playlist.add([b], position=0)
    items = await playlist.items()
    assert [uuid.UUID(i["track_id"]) for i in items] == [b, a, c, a, b]
    assert [i["position"] for i in items] == [0, 1, 2, 3, 4]
    assert all(i["available"] and i["added_by"] == str(people.alice.id) for i in items)
    assert items[0]["track"]["title"] == "Song 1"
    shown = await playlist.playlist()
    assert (shown["track_count"], shown["duration_ms"]) == (5, 500_000)
    assert await exact_totals(fresh, playlist.id) == (5, 500_000)


async def test_what_cannot_be_added_is_refused_whole(
    client: Client, people: People, sessions: Sessions
) -> None:
    [known] = await some_tracks(sessions, 1)
    playlist = await new_playlist(client, people.alice)
    unknown = uuid.uuid4()
    refused = assert_problem(await playlist.add([known, unknown]), 422)
    assert refused["unknown"] == [str(unknown)]
    too_many = assert_problem(await playlist.add([known] * 101), 422)
    assert too_many["limit"] == 100
    assert_problem(await playlist.add([known], position=1), 422)
    assert_problem(await playlist.add([known], position=-1), 422)
    assert_problem(await playlist.add([]), 422)
    assert await playlist.tracks() == []


async def test_a_merged_track_is_added_as_its_survivor_and_a_deleted_one_not_at_all(
    client: Client, people: People, sessions: Sessions
) -> None:
    from medley_core.ids import utcnow
    from medley_playlists import projection

    kept, merged, deleted = await some_tracks(sessions, 3)
    async with sessions() as session, session.begin():
        await projection.track_merged(session, merged, kept, utcnow())
        await projection.track_deleted(session, deleted, utcnow())
    playlist = await new_playlist(client, people.alice)
    assert (await playlist.add([merged])).status_code == 201
    assert await playlist.tracks() == [kept]
    refused = assert_problem(await playlist.add([deleted]), 422)
    assert refused["deleted"] == [str(deleted)]


async def test_moves_follow_the_spotify_definition(
    client: Client, people: People, sessions: Sessions
) -> None:
    tracks = await some_tracks(sessions, 6)
    playlist = await new_playlist(client, people.alice)
    await playlist.add(tracks)
    model = list(tracks)

    def spotify_move(start: int, length: int, before: int) -> None:
        moved = model[start : start + length]
        rest = model[:start] + model[start + length :]
        at = before if before < start else before - length
        model[:] = rest[:at] + moved + rest[at:]

    for start, length, before in ((0, 1, 3), (4, 2, 0), (1, 3, 6), (2, 2, 5), (5, 1, 0)):
        response = await playlist.move(start, before, length)
        assert response.status_code == 200, response.text
        spotify_move(start, length, before)
        assert await playlist.tracks() == model
    # Moving a range to where it is changes nothing, not even the snapshot.
    before = (await playlist.playlist())["snapshot_id"]
    for start, length, to in ((2, 2, 2), (2, 2, 3), (2, 2, 4)):
        same = await playlist.move(start, to, length)
        assert same.json()["snapshot_id"] == before
    assert await playlist.tracks() == model


async def test_random_moves_from_either_half_keep_the_order_a_list_keeps(
    client: Client, people: People, sessions: Sessions
) -> None:
    """Keys are found walking from the nearer end of the playlist: ranges and spots in both
    halves, at either end, and the positions a page shows after them."""
    tracks = await some_tracks(sessions, 41)
    playlist = await new_playlist(client, people.alice)
    await playlist.add(tracks)
    model = list(tracks)
    rng = random.Random(9)
    moves = [(0, 5, 41), (36, 5, 0), (20, 1, 41), (40, 1, 0), (19, 3, 23)]
    while len(moves) < 30:
        start = rng.randrange(41)
        length = rng.randint(1, 41 - start)
        before = rng.randrange(42)
        if not start <= before <= start + length:
            moves.append((start, length, before))
    for start, length, before in moves:
        response = await playlist.move(start, before, length)
        assert response.status_code == 200, response.text
        moved = model[start : start + length]
        rest = model[:start] + model[start + length :]
        at = before if before < start else before - length
        model[:] = rest[:at] + moved + rest[at:]
        assert await playlist.tracks() == model
    shown = await playlist.items()
    assert [i["position"] for i in shown] == list(range(41))


async def test_malformed_ranges_are_422(client: Client, people: People, sessions: Sessions) -> None:
    tracks = await some_tracks(sessions, 3)
    playlist = await new_playlist(client, people.alice)
    await playlist.add(tracks)
    for start, before, length, field in (
        (3, 0, 1, "range_start"),
        (0, 4, 1, "insert_before"),
        (1, 0, 3, "range_length"),
        (0, 1, 0, "range_length"),
        (-1, 0, 1, "range_start"),
    ):
        response = await playlist.move(start, before, length)
        assert field in assert_problem(response, 422).__repr__()
    assert await playlist.tracks() == tracks


async def test_remove_by_id_by_position_or_every_occurrence(
    client: Client, people: People, sessions: Sessions, fresh: PlaylistsDb
) -> None:
    a, b, c = await some_tracks(sessions, 3, duration_ms=60_000)
    playlist = await new_playlist(client, people.alice)
    await playlist.add([a, b, a, c, a, b])
    items = await playlist.items()
    removed = await playlist.remove([{"id": items[1]["id"]}, {"track_id": str(a), "position": 2}])
    assert removed.status_code == 200, removed.text
    assert await playlist.tracks() == [a, c, a, b]
    # Positions name the playlist as it was; one that does not hold that track is refused
    # and nothing is removed.
    wrong = await playlist.remove(
        [{"track_id": str(b), "position": 3}, {"track_id": str(c), "position": 0}]
    )
    assert assert_problem(wrong, 422)["field"] == "items.1.position"
    assert await playlist.tracks() == [a, c, a, b]
    await playlist.remove([{"track_id": str(a)}])
    assert await playlist.tracks() == [c, b]
    gone = await playlist.remove([{"id": str(uuid.uuid4())}])
    assert assert_problem(gone, 422)["field"] == "items.0.id"
    assert await exact_totals(fresh, playlist.id) == (2, 120_000)
    shown = await playlist.playlist()
    assert (shown["track_count"], shown["duration_ms"]) == (2, 120_000)


async def test_replace_all(
    client: Client, people: People, sessions: Sessions, fresh: PlaylistsDb
) -> None:
    tracks = await some_tracks(sessions, 4, duration_ms=1_000)
    playlist = await new_playlist(client, people.alice)
    await playlist.add(tracks[:2])
    replaced = await client.put(
        playlist.url,
        json={"track_ids": [str(t) for t in reversed(tracks)]},
        headers=people.alice.headers,
    )
    assert replaced.status_code == 200
    assert await playlist.tracks() == list(reversed(tracks))
    emptied = await client.put(playlist.url, json={"track_ids": []}, headers=people.alice.headers)
    assert emptied.status_code == 200
    assert await playlist.tracks() == []
    assert await exact_totals(fresh, playlist.id) == (0, 0)
    assert (await playlist.playlist())["duration_ms"] == 0


async def test_at_most_ten_thousand_items(
    client: Client, people: People, fresh: PlaylistsDb
) -> None:
    await fresh.execute(
        """
        INSERT INTO tracks (id, title, title_key, artist_names, artist_key, duration_ms)
        SELECT gen_random_uuid(), 'T' || n, 't' || n, 'A', 'a', 1000
        FROM generate_series(1, 10001) AS n
        """
    )
    ids = [str(r["id"]) for r in await fresh.fetch("SELECT id FROM tracks ORDER BY title")]
    playlist = await new_playlist(client, people.alice)
    over = await client.put(playlist.url, json={"track_ids": ids}, headers=people.alice.headers)
    assert assert_problem(over, 422)["limit"] == 10_000
    full = await client.put(
        playlist.url, json={"track_ids": ids[:10_000]}, headers=people.alice.headers
    )
    assert full.status_code == 200, full.text
    one_more = assert_problem(await playlist.add([uuid.UUID(ids[-1])]), 422)
    assert one_more["limit"] == 10_000
    shown = await playlist.playlist()
    assert (shown["track_count"], shown["duration_ms"]) == (10_000, 10_000_000)
    # Paging through it: positions run on across pages, in order.
    positions: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3_000, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(playlist.url, params=params, headers=people.alice.headers)).json()
        positions.extend(i["position"] for i in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert positions == list(range(10_000))


async def test_items_read_with_etag_and_304(
    client: Client, people: People, sessions: Sessions
) -> None:
    [track] = await some_tracks(sessions, 1)
    playlist = await new_playlist(client, people.alice, visibility="public")
    added = await playlist.add([track])
    etag = added.headers["etag"]
    read = await client.get(playlist.url, headers={"If-None-Match": etag})
    assert read.status_code == 304
    await playlist.add([track])
    assert (await client.get(playlist.url, headers={"If-None-Match": etag})).status_code == 200


async def test_two_editors_with_one_snapshot_one_wins_the_other_is_told(
    client: Client, people: People, sessions: Sessions
) -> None:
    a, b = await some_tracks(sessions, 2)
    playlist = await new_playlist(client, people.alice, collaborative=True)
    await client.post(
        f"/playlists/{playlist.id}/collaborators",
        json={"username": "bob", "role": "editor"},
        headers=people.alice.headers,
    )
    seen = (await playlist.playlist())["snapshot_id"]
    alice, bob = await asyncio.gather(
        playlist.add([a], snapshot_id=seen),
        playlist.add([b], snapshot_id=seen, who=people.bob),
    )
    statuses = sorted([alice.status_code, bob.status_code])
    assert statuses == [201, 412]
    winner, loser = (alice, bob) if alice.status_code == 201 else (bob, alice)
    assert loser.json()["snapshot_id"] == winner.json()["snapshot_id"]
    assert len(await playlist.tracks()) == 1
    # Sent again against the snapshot it was told, the loser's change applies.
    retried = await playlist.add(
        [b if loser is bob else a],
        snapshot_id=loser.json()["snapshot_id"],
        who=people.bob if loser is bob else people.alice,
    )
    assert retried.status_code == 201
    assert sorted(await playlist.tracks()) == sorted([a, b])


async def test_concurrent_changes_without_a_snapshot_all_apply(
    client: Client, people: People, sessions: Sessions, fresh: PlaylistsDb
) -> None:
    tracks = await some_tracks(sessions, 8, duration_ms=10_000)
    playlist = await new_playlist(client, people.alice)
    responses = await asyncio.gather(*(playlist.add([t], position=0) for t in tracks))
    assert all(r.status_code == 201 for r in responses)
    assert sorted(await playlist.tracks()) == sorted(tracks)
    assert len({r.json()["snapshot_id"] for r in responses}) == 8
    assert await exact_totals(fresh, playlist.id) == (8, 80_000)


async def test_editors_edit_collaborative_playlists_and_viewers_read(
    client: Client, people: People, sessions: Sessions
) -> None:
    [track] = await some_tracks(sessions, 1)
    playlist = await new_playlist(client, people.alice)
    for username, role in (("bob", "editor"), ("carol", "viewer")):
        await client.post(
            f"/playlists/{playlist.id}/collaborators",
            json={"username": username, "role": role},
            headers=people.alice.headers,
        )
    # A private playlist: both see it, neither edits until it is collaborative.
    for who in (people.bob, people.carol):
        assert (
            await client.get(f"/playlists/{playlist.id}", headers=who.headers)
        ).status_code == 200
        assert_problem(await playlist.add([track], who=who), 403)
    await client.patch(
        f"/playlists/{playlist.id}", json={"collaborative": True}, headers=people.alice.headers
    )
    assert (await playlist.add([track], who=people.bob)).status_code == 201
    assert_problem(await playlist.add([track], who=people.carol), 403)
    # Editors change items, not the playlist itself.
    renamed = await client.patch(
        f"/playlists/{playlist.id}", json={"name": "Bob's"}, headers=people.bob.headers
    )
    assert_problem(renamed, 403)
    [item] = await playlist.items()
    assert item["added_by"] == str(people.bob.id)


async def test_each_change_records_one_event_with_the_new_snapshot_and_no_items(
    client: Client, people: People, sessions: Sessions, fresh: PlaylistsDb
) -> None:
    a, b = await some_tracks(sessions, 2)
    playlist = await new_playlist(client, people.alice)
    snapshots = [(await playlist.add([a, b])).json()["snapshot_id"]]
    snapshots.append((await playlist.move(0, 2)).json()["snapshot_id"])
    snapshots.append((await playlist.remove([{"track_id": str(a)}])).json()["snapshot_id"])
    rows = [e for e in await fresh.events() if e["subject"] == playlist.id]
    assert [e["type"] for e in rows] == [
        "playlists.playlist.created",
        "playlists.playlist.updated",
        "playlists.playlist.updated",
        "playlists.playlist.updated",
    ]
    data = [json.loads(e["data"]) for e in rows[1:]]
    assert [d["snapshot_id"] for d in data] == snapshots
    assert [d["track_count"] for d in data] == [2, 2, 1]
    assert all("items" not in d for d in data)


async def test_zig_zag_inserts_rebalance_and_keep_the_order(
    client: Client, people: People, sessions: Sessions, fresh: PlaylistsDb
) -> None:
    """Inserting alternately on either side of the last insert defeats any key scheme; the
    playlist is rebalanced when a key passes the bound, and the order survives."""
    tracks = await add_tracks(sessions, *(track_event(f"Z{i}") for i in range(90)))
    playlist = await new_playlist(client, people.alice)
    await playlist.add(tracks[:2])
    model = list(tracks[:2])
    spot = 1
    for index, track in enumerate(tracks[2:]):
        await playlist.add([track], position=spot)
        model.insert(spot, track)
        spot += index % 2
    assert await playlist.tracks() == model
    longest = await fresh.fetchval(
        "SELECT max(octet_length(sort_key)) FROM items WHERE playlist_id = $1",
        uuid.UUID(playlist.id),
    )
    assert longest <= REBALANCE_AT


async def test_random_edits_through_the_api_agree_with_a_list(
    client: Client, people: People, sessions: Sessions, fresh: PlaylistsDb
) -> None:
    rng = random.Random(7)
    tracks = await some_tracks(sessions, 12, duration_ms=1_000)
    playlist = await new_playlist(client, people.alice)
    model: list[uuid.UUID] = []
    for _ in range(60):
        roll = rng.random()
        if roll < 0.45 or not model:
            picked = rng.sample(tracks, rng.randint(1, 3))
            at = rng.randint(0, len(model))
            assert (await playlist.add(picked, position=at)).status_code == 201
            model[at:at] = picked
        elif roll < 0.8:
            start = rng.randrange(len(model))
            length = rng.randint(1, len(model) - start)
            before = rng.randint(0, len(model))
            assert (await playlist.move(start, before, length)).status_code == 200
            if not start <= before <= start + length:
                moved = model[start : start + length]
                rest = model[:start] + model[start + length :]
                at = before if before < start else before - length
                model = rest[:at] + moved + rest[at:]
        else:
            at = rng.randrange(len(model))
            response = await playlist.remove([{"track_id": str(model[at]), "position": at}])
            assert response.status_code == 200
            del model[at]
        assert await playlist.tracks() == model
    assert (len(model), len(model) * 1_000) == await exact_totals(fresh, playlist.id)
