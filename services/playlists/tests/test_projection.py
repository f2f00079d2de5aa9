"""The catalog projection, fed through the service's own event handlers (no NATS here):
what items show after a track changes, is deleted or merged, and that an old event never
undoes a newer one."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from medley_contracts import catalog
from medley_contracts.envelope import EventEnvelope, EventType
from medley_contracts.ingestion import LISTENS_RECORDED, ListensRecordedV1, ListenV1
from medley_core.ids import new_id
from medley_playlists import events

from .conftest import Client, People, PlaylistsDb, Sessions, add_tracks, track_event
from .test_items_api import exact_totals, new_playlist

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def envelope(event: EventType[Any], payload: Any, subject: uuid.UUID) -> EventEnvelope:
    return EventEnvelope(
        id=new_id(),
        type=event.name,
        version=event.version,
        source=event.context,
        occurred_at=datetime.now(UTC),
        subject=str(subject),
        data=payload.model_dump(mode="json", by_alias=True),
    )


async def deliver(sessions: Sessions, event: EventType[Any], payload: Any, subject: Any) -> None:
    """Apply one event with the handler the consumer would call."""
    handler = events.handlers()[event.name]
    async with sessions() as session, session.begin():
        await handler(session, envelope(event, payload, subject))


async def test_tracks_appear_change_and_ignore_older_news(
    client: Client, people: People, sessions: Sessions, fresh: PlaylistsDb
) -> None:
    track = track_event("Creep", updated_at=T0, duration_ms=200_000, album="Pablo Honey")
    await deliver(sessions, catalog.TRACK_CREATED, track, track.track_id)
    playlist = await new_playlist(client, people.alice)
    await playlist.add([track.track_id, track.track_id])
    before = (await playlist.playlist())["snapshot_id"]

    renamed = track.model_copy(
        update={
            "title": "Creep (Acoustic)",
            "duration_ms": 250_000,
            "updated_at": T0 + timedelta(hours=1),
        }
    )
    await deliver(sessions, catalog.TRACK_UPDATED, renamed, track.track_id)
    shown = await playlist.playlist()
    assert shown["snapshot_id"] != before
    assert (shown["track_count"], shown["duration_ms"]) == (2, 500_000)
    assert [i["track"]["title"] for i in await playlist.items()] == ["Creep (Acoustic)"] * 2

    # A redelivered older snapshot changes nothing.
    await deliver(sessions, catalog.TRACK_UPDATED, track, track.track_id)
    assert (await playlist.items())[0]["track"]["title"] == "Creep (Acoustic)"
    assert (await playlist.playlist())["snapshot_id"] == shown["snapshot_id"]
    # Nor does a newer one that shows nothing new (its genres are not shown).
    tagged = renamed.model_copy(update={"genres": ["Rock"], "updated_at": T0 + timedelta(hours=2)})
    await deliver(sessions, catalog.TRACK_UPDATED, tagged, track.track_id)
    assert (await playlist.playlist())["snapshot_id"] == shown["snapshot_id"]
    updates = [
        json.loads(e["data"])
        for e in await fresh.events("playlists.playlist.updated")
        if e["subject"] == playlist.id
    ]
    assert [u["duration_ms"] for u in updates] == [400_000, 500_000]


async def test_a_deleted_track_stays_in_playlists_unavailable(
    client: Client, people: People, sessions: Sessions, fresh: PlaylistsDb
) -> None:
    kept, gone = await add_tracks(sessions, track_event("Kept"), track_event("Gone"))
    playlist = await new_playlist(client, people.alice)
    await playlist.add([kept, gone])
    before = (await playlist.playlist())["snapshot_id"]
    await deliver(
        sessions,
        catalog.TRACK_DELETED,
        catalog.EntityDeletedV1(id=gone, deleted_at=datetime.now(UTC)),
        gone,
    )
    items = await playlist.items()
    assert [(i["track"]["title"], i["available"]) for i in items] == [
        ("Kept", True),
        ("Gone", False),
    ]
    shown = await playlist.playlist()
    assert shown["track_count"] == 2
    assert shown["snapshot_id"] != before
    # Restored in the catalog (an update), it is available again.
    back = track_event("Gone", track_id=gone)
    await deliver(sessions, catalog.TRACK_UPDATED, back, gone)
    assert [i["available"] for i in await playlist.items()] == [True, True]


async def test_a_merge_repoints_items_and_listening_to_the_survivor(
    client: Client, people: People, sessions: Sessions, fresh: PlaylistsDb
) -> None:
    survivor, duplicate, older = await add_tracks(
        sessions,
        track_event("Karma Police", duration_ms=260_000),
        track_event("Karma Police ", duration_ms=100_000),
        track_event("Karma Police (old id)", duration_ms=100_000),
    )
    # An id merged earlier into the duplicate follows it to the survivor.
    now = datetime.now(UTC)
    await deliver(
        sessions,
        catalog.TRACK_MERGED,
        catalog.EntityMergedV1.model_validate({"from": older, "into": duplicate, "merged_at": now}),
        older,
    )
    playlist = await new_playlist(client, people.alice)
    await playlist.add([duplicate, survivor, duplicate])
    batch = ListensRecordedV1(
        batch_id=uuid.uuid4(),
        user_id=people.alice.id,
        recorded_at=now,
        listens=[ListenV1(track_id=t, listened_at=now) for t in (duplicate, survivor, duplicate)],
    )
    await deliver(sessions, LISTENS_RECORDED, batch, batch.batch_id)
    await deliver(
        sessions,
        catalog.TRACK_MERGED,
        catalog.EntityMergedV1.model_validate(
            {"from": duplicate, "into": survivor, "merged_at": now}
        ),
        duplicate,
    )
    assert await playlist.tracks() == [survivor] * 3
    shown = await playlist.playlist()
    assert (shown["track_count"], shown["duration_ms"]) == (3, 780_000)
    assert await exact_totals(fresh, playlist.id) == (3, 780_000)
    plays = await fresh.fetch(
        "SELECT track_id, play_count FROM plays WHERE user_id = $1", people.alice.id
    )
    assert [(r["track_id"], r["play_count"]) for r in plays] == [(survivor, 3)]
    followed = await fresh.fetchval("SELECT merged_into FROM tracks WHERE id = $1", older)
    assert followed == survivor
    # Adding either merged id adds the survivor.
    await playlist.add([older])
    assert (await playlist.tracks())[-1] == survivor


async def test_an_album_change_reaches_its_tracks(
    client: Client, people: People, sessions: Sessions
) -> None:
    [track] = await add_tracks(
        sessions, track_event("Airbag", album="OK Computer", album_year=1996)
    )
    playlist = await new_playlist(client, people.alice)
    await playlist.add([track])
    album_id = uuid.uuid5(uuid.NAMESPACE_URL, "Radiohead/OK Computer")
    album = catalog.AlbumV1(
        album_id=album_id,
        title="OK Computer OKNOTOK",
        album_type="album",
        artist_names="Radiohead",
        credits=[],
        release_year=1997,
        updated_at=datetime.now(UTC),
    )
    await deliver(sessions, catalog.ALBUM_UPDATED, album, album_id)
    [item] = await playlist.items()
    assert item["track"]["album_title"] == "OK Computer OKNOTOK"


async def test_a_listens_batch_counts_once(sessions: Sessions, fresh: PlaylistsDb) -> None:
    [track] = await add_tracks(sessions, track_event("Reckoner"))
    user = uuid.uuid4()
    when = datetime(2026, 3, 1, tzinfo=UTC)
    batch = ListensRecordedV1(
        batch_id=uuid.uuid4(),
        user_id=user,
        recorded_at=when,
        listens=[ListenV1(track_id=track, listened_at=when - timedelta(days=d)) for d in range(3)],
    )
    for _ in range(2):  # the same batch twice, under two event ids
        await deliver(sessions, LISTENS_RECORDED, batch, batch.batch_id)
    [row] = await fresh.fetch(
        "SELECT play_count, last_played_at FROM plays WHERE user_id = $1", user
    )
    assert (row["play_count"], row["last_played_at"]) == (3, when)


async def test_likes_follow_their_changes(sessions: Sessions, fresh: PlaylistsDb) -> None:
    from medley_contracts.ingestion import LIKES_CHANGED, LikeChangeV1, LikesChangedV1

    kept, dropped, hated, merged = await add_tracks(
        sessions, *(track_event(f"Like {i}") for i in range(4))
    )
    async with sessions() as session, session.begin():
        await events.handlers()[catalog.TRACK_MERGED.name](
            session,
            envelope(
                catalog.TRACK_MERGED,
                catalog.EntityMergedV1.model_validate(
                    {"from": merged, "into": kept, "merged_at": T0}
                ),
                merged,
            ),
        )
    user = uuid.uuid4()

    def change(track: uuid.UUID, hours: int, liked: bool = True, score: int = 1) -> LikeChangeV1:
        at = T0 + timedelta(hours=hours)
        return LikeChangeV1(track_id=track, source="listenbrainz", liked=liked, score=score, at=at)

    batch = LikesChangedV1(
        batch_id=uuid.uuid4(),
        user_id=user,
        changes=[
            change(kept, 1),
            change(dropped, 1),
            change(dropped, 2, liked=False),  # removed later in the batch
            change(hated, 1, score=-1),  # a hate is not a like
            change(merged, 3),  # the merged id's like is its survivor's, later
        ],
    )
    await deliver(sessions, LIKES_CHANGED, batch, batch.batch_id)
    rows = await fresh.fetch("SELECT track_id, liked_at FROM likes WHERE user_id = $1", user)
    assert [(r["track_id"], r["liked_at"]) for r in rows] == [(kept, T0 + timedelta(hours=3))]
    # Unliked in a later batch: gone.
    later = LikesChangedV1(batch_id=uuid.uuid4(), user_id=user, changes=[change(kept, 5, False)])
    await deliver(sessions, LIKES_CHANGED, later, later.batch_id)
    assert await fresh.fetchval("SELECT count(*) FROM likes WHERE user_id = $1", user) == 0
