"""``users.user.deleted``: the user's playlists, collaborations, listening and name go, and
``playlists.user_data.erased`` says so; what they added to others' playlists stays there
without naming them."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from medley_contracts.ingestion import LISTENS_RECORDED, ListensRecordedV1, ListenV1
from medley_contracts.users import USER_DELETED, UserDeletedV1

from .conftest import Client, People, PlaylistsDb, Sessions, assert_problem, some_tracks
from .test_items_api import new_playlist
from .test_projection import deliver


async def test_a_deleted_users_data_is_erased(
    client: Client, people: People, sessions: Sessions, fresh: PlaylistsDb
) -> None:
    """One scenario: Alice's playlists, collaborations, listening, likes and library set
    up, her erasure delivered, then every trace of her checked gone, Bob's playlist kept
    without her name, and the events said (long because it is one story: split, each part
    would set up again what the others set up)."""
    track, other = await some_tracks(sessions, 2, duration_ms=1_000)
    alices = await new_playlist(client, people.alice, visibility="public")
    await alices.add([track])
    bobs = await new_playlist(client, people.bob, collaborative=True)
    await client.post(
        f"/playlists/{bobs.id}/collaborators",
        json={"username": "alice", "role": "editor"},
        headers=people.bob.headers,
    )
    await bobs.add([track, other], who=people.alice)
    now = datetime.now(UTC)
    listens = ListensRecordedV1(
        batch_id=uuid.uuid4(),
        user_id=people.alice.id,
        recorded_at=now,
        listens=[ListenV1(track_id=track, listened_at=now)],
    )
    await deliver(sessions, LISTENS_RECORDED, listens, listens.batch_id)
    smart = await client.post(
        "/smart-playlists",
        json={"name": "Mine", "rules": {"all": [{"is": {"loved": True}}]}},
        headers=people.alice.headers,
    )
    assert smart.status_code == 201
    await fresh.execute(
        "INSERT INTO likes (user_id, track_id, liked_at) VALUES ($1, $2, now())",
        people.alice.id,
        track,
    )
    await fresh.execute(
        "INSERT INTO collection_entries (user_id, kind, entity_id) VALUES ($1, 'album', $2)",
        people.alice.id,
        uuid.uuid4(),
    )
    before = (await bobs.playlist())["snapshot_id"]

    erasure = uuid.uuid4()
    deleted = UserDeletedV1(user_id=people.alice.id, erasure_id=erasure, deleted_at=now)
    await deliver(sessions, USER_DELETED, deleted, people.alice.id)

    assert_problem(await client.get(f"/playlists/{alices.id}", headers=people.bob.headers), 404)
    owned = await fresh.fetchval(
        "SELECT count(*) FROM playlists WHERE owner_id = $1", people.alice.id
    )
    assert owned == 0
    # Bob keeps his playlist and what Alice added to it, no longer naming her.
    items = await bobs.items()
    assert [i["track_id"] for i in items] == [str(track), str(other)]
    assert {i["added_by"] for i in items} == {None}
    assert (await bobs.playlist())["snapshot_id"] != before
    collaborators = await client.get(
        f"/playlists/{bobs.id}/collaborators", headers=people.bob.headers
    )
    assert collaborators.json()["items"] == []
    for table, column in (
        ("plays", "user_id"),
        ("likes", "user_id"),
        ("members", "id"),
        ("listen_batches", "user_id"),
        ("smart_playlists", "owner_id"),
        ("collection_entries", "user_id"),
        ("collaborators", "user_id"),
    ):
        query = f"SELECT count(*) FROM {table} WHERE {column} = $1"  # noqa: S608
        left = await fresh.fetchval(query, people.alice.id)
        assert left == 0, table
    # Alice's name is free: naming her as a collaborator now fails.
    named = await client.post(
        f"/playlists/{bobs.id}/collaborators",
        json={"username": "alice", "role": "viewer"},
        headers=people.bob.headers,
    )
    assert assert_problem(named, 422)["field"] == "username"

    gone = [json.loads(e["data"]) for e in await fresh.events("playlists.playlist.deleted")]
    assert [(g["playlist_id"], g["erased"]) for g in gone] == [(alices.id, True)]
    [answer] = await fresh.events("playlists.user_data.erased")
    data = json.loads(answer["data"])
    assert (data["user_id"], data["erasure_id"], data["context"]) == (
        str(people.alice.id),
        str(erasure),
        "playlists",
    )
