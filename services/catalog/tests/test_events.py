"""What the catalog publishes (once per change, through the outbox) and what it consumes
(listens → popularity; a deleted user → its erasure answer), with and without NATS."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import nats
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_catalog import editing, events, external_ids, genres, popularity
from medley_catalog.artists import CreditSpec
from medley_catalog.editing import Changes, TrackFields
from medley_catalog.external_ids import ExternalIdSpec
from medley_contracts.envelope import EventEnvelope, nats_subject
from medley_contracts.ingestion import LISTENS_RECORDED, ListensRecordedV1, ListenV1
from medley_core.db import transaction

from .conftest import CatalogDb, Headers
from .test_api import make_track

Client = AsyncTestClient[Any]
Sessions = async_sessionmaker[AsyncSession]


def listens_envelope(batch_id: uuid.UUID, track_ids: list[str]) -> EventEnvelope:
    now = datetime.now(UTC)
    payload = ListensRecordedV1(
        batch_id=batch_id,
        user_id=uuid.uuid4(),
        recorded_at=now,
        listens=[ListenV1(track_id=uuid.UUID(t), listened_at=now) for t in track_ids],
    )
    return EventEnvelope(
        id=uuid.uuid4(),
        type=LISTENS_RECORDED.name,
        version=LISTENS_RECORDED.version,
        source="ingestion",
        occurred_at=now,
        subject=str(batch_id),
        data=payload.model_dump(mode="json"),
    )


async def plays(db: CatalogDb, track_id: str) -> int:
    return int(
        await db.fetchval("SELECT play_count FROM tracks WHERE id = $1", uuid.UUID(track_id))
    )


async def test_listens_count_once_per_batch(
    fresh: CatalogDb, client: Client, auth: Headers, sessions: Sessions
) -> None:
    a = await make_track(client, auth, "Song A", "Band")
    b = await make_track(client, auth, "Song B", "Band")
    batch = uuid.uuid4()
    for _ in range(2):  # the same batch twice (say, re-published under a new event id)
        async with sessions() as session, session.begin():
            await events.on_listens_recorded(
                session, listens_envelope(batch, [a["id"], a["id"], b["id"], str(uuid.uuid4())])
            )
    assert (await plays(fresh, a["id"]), await plays(fresh, b["id"])) == (2, 1)
    # Plays of a merged track go to its survivor.
    await client.post(f"/tracks/{b['id']}/merge", json={"into": a["id"]}, headers=auth("admin"))
    async with sessions() as session, session.begin():
        counted = await popularity.apply_listens(session, uuid.uuid4(), {uuid.UUID(b["id"]): 4})
    assert counted == 4
    assert await plays(fresh, a["id"]) == 2 + 1 + 4
    listed = (await client.get("/tracks", params={"sort": "popularity"})).json()["items"]
    assert [t["id"] for t in listed] == [a["id"]]


async def test_tracks_sort_by_popularity_in_keyset_pages(
    fresh: CatalogDb, client: Client, auth: Headers, sessions: Sessions
) -> None:
    ids = [(await make_track(client, auth, f"Track {i}", "Band"))["id"] for i in range(5)]
    async with sessions() as session, session.begin():
        await popularity.apply_listens(
            session,
            uuid.uuid4(),
            {uuid.UUID(t): n for t, n in zip(ids, [3, 9, 1, 9, 0], strict=True)},
        )
    seen: list[tuple[int, str]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"sort": "popularity", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/tracks", params=params)).json()
        seen.extend((t["play_count"], t["id"]) for t in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert [count for count, _ in seen] == [9, 9, 3, 1, 0]
    assert len({track for _, track in seen}) == 5


async def test_each_change_publishes_exactly_one_event(
    fresh: CatalogDb, client: Client, auth: Headers
) -> None:
    admin = auth("admin")
    track = await make_track(client, auth, "Roygbiv", "Boards of Canada")
    await client.patch(f"/tracks/{track['id']}", json={"duration_ms": 151_000}, headers=admin)
    await client.put(f"/tracks/{track['id']}/genres", json={"genres": ["IDM"]}, headers=admin)
    await client.delete(f"/tracks/{track['id']}", headers=admin)
    rows = [e for e in await fresh.events() if e["subject"] == track["id"]]
    assert [e["type"] for e in rows] == [
        "catalog.track.created",
        "catalog.track.updated",
        "catalog.track.updated",
        "catalog.track.deleted",
    ]
    updated = json.loads(rows[1]["data"])
    assert (updated["track_id"], updated["title"], updated["duration_ms"]) == (
        track["id"],
        "Roygbiv",
        151_000,
    )
    assert updated["credits"][0]["name"] == "Boards of Canada"
    # A refused change publishes nothing.
    before = len(await fresh.events())
    await client.patch(
        f"/tracks/{track['id']}", json={"duration_ms": 1}, headers=admin
    )  # deleted: 404
    await client.post("/tracks", json={"title": "x", "credits": []}, headers=admin)  # 422
    assert len(await fresh.events()) == before


async def test_a_deleted_user_is_answered_at_once(fresh: CatalogDb, sessions: Sessions) -> None:
    user_id, erasure_id = uuid.uuid4(), uuid.uuid4()
    envelope = EventEnvelope(
        id=uuid.uuid4(),
        type="users.user.deleted",
        version=1,
        source="users",
        occurred_at=datetime.now(UTC),
        subject=str(user_id),
        data={
            "user_id": str(user_id),
            "erasure_id": str(erasure_id),
            "deleted_at": datetime.now(UTC).isoformat(),
        },
    )
    async with sessions() as session, session.begin():
        await events.on_user_deleted(session, envelope)
    (answer,) = await fresh.events("catalog.user_data.erased")
    data = json.loads(answer["data"])
    assert (data["user_id"], data["erasure_id"], data["context"]) == (
        str(user_id),
        str(erasure_id),
        "catalog",
    )


async def test_events_flow_over_nats(
    fresh: CatalogDb, client: Client, auth: Headers, service_infra: Any
) -> None:
    """Through the real runtime: a listens batch published by "ingestion" is counted once,
    and a deleted user's erasure answer is published by the relay."""
    track = await make_track(client, auth, "Over the Wire", "Band")
    prefix = service_infra.event_prefix
    connection = await nats.connect(service_infra.nats_url)
    try:
        js = connection.jetstream()
        answers = await connection.subscribe(nats_subject("catalog.user_data.erased", prefix))
        batch = uuid.uuid4()
        for _ in range(2):  # the same batch under two event ids
            envelope = listens_envelope(batch, [track["id"], track["id"]])
            await js.publish(
                nats_subject(envelope.type, prefix),
                envelope.model_dump_json().encode(),
                headers={"Nats-Msg-Id": str(envelope.id)},
            )
        user_id = uuid.uuid4()
        deleted = EventEnvelope(
            id=uuid.uuid4(),
            type="users.user.deleted",
            version=1,
            source="users",
            occurred_at=datetime.now(UTC),
            subject=str(user_id),
            data={
                "user_id": str(user_id),
                "erasure_id": str(uuid.uuid4()),
                "deleted_at": datetime.now(UTC).isoformat(),
            },
        )
        await js.publish(
            nats_subject(deleted.type, prefix),
            deleted.model_dump_json().encode(),
            headers={"Nats-Msg-Id": str(deleted.id)},
        )
        message = await answers.next_msg(timeout=30)
        answer = EventEnvelope.model_validate_json(message.data)
        assert (answer.type, answer.data["user_id"], answer.data["context"]) == (
            "catalog.user_data.erased",
            str(user_id),
            "catalog",
        )
        for _ in range(300):
            if await fresh.fetchval("SELECT count(*) FROM listen_batches") == 1:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # let a duplicate, if any, be applied too
        assert await plays(fresh, track["id"]) == 2
    finally:
        await connection.close()


async def test_one_transaction_publishes_one_event_per_entity_with_its_final_state(
    fresh: CatalogDb, sessions: Sessions
) -> None:
    """Writes composed in one transaction (create, tag, attach an id, edit) are one
    ``created`` event for the track, carrying what the transaction committed, and one for
    each artist it created: the unit of work merges them, not the write paths."""
    async with transaction(sessions) as session:
        track_id = await editing.create_track(
            session, TrackFields(title="Song", credits=[CreditSpec(name="Band")])
        )
        await genres.set_genres(session, "track", track_id, ["Rock"])
        await external_ids.attach_external_id(
            session, "track", track_id, ExternalIdSpec("isrc", "USRC17607839")
        )
        await editing.update_track(session, track_id, Changes({"duration_ms": 200_000}))
    rows = await fresh.events()
    assert sorted(e["type"] for e in rows) == ["catalog.artist.created", "catalog.track.created"]
    (created,) = [json.loads(e["data"]) for e in rows if e["subject"] == str(track_id)]
    assert (created["title"], created["duration_ms"], created["isrcs"]) == (
        "Song",
        200_000,
        ["USRC17607839"],
    )
