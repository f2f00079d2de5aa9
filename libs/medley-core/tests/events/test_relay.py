"""The outbox relay: every committed event goes out exactly once, even with two relays."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable

import nats
import pytest
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from sqlalchemy import func, select

from medley_contracts.envelope import stream_name
from medley_core import tracing
from medley_core.events.relay import OutboxRelay, publication_waves
from medley_core.events.streams import DUPLICATE_WINDOW_S, ensure_stream
from medley_core.events.unit_of_work import collect

from .conftest import (
    CONTEXT,
    THING_HAPPENED,
    EventDb,
    SettingsFactory,
    ThingHappenedV1,
    eventually,
)


@pytest.fixture
async def connect(event_infra: object) -> AsyncIterator[Callable[[], asyncio.Future[NATS]]]:
    """Opens NATS connections (closed after the test)."""
    opened: list[NATS] = []

    async def open_one() -> NATS:
        nc: NATS = await nats.connect(event_infra.nats_url)  # type: ignore[attr-defined]
        opened.append(nc)
        return nc

    yield open_one  # type: ignore[misc]
    for nc in opened:
        await nc.close()


async def record_many(db: EventDb, keys: list[str]) -> list[uuid.UUID]:
    async with db.sessions() as session, session.begin():
        return [collect(session, THING_HAPPENED, ThingHappenedV1(key=k), subject=k) for k in keys]


async def unpublished(db: EventDb) -> int:
    outbox = db.tables.outbox
    async with db.engine.connect() as conn:
        count = await conn.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
        )
    return int(count or 0)


async def test_stream_is_created_idempotently_with_file_storage_and_a_dedupe_window(
    make_settings: SettingsFactory, connect: Callable[[], asyncio.Future[NATS]]
) -> None:
    settings = make_settings()
    js = (await connect()).jetstream()
    first = await ensure_stream(js, CONTEXT, settings.event_prefix)
    again = await ensure_stream(js, CONTEXT, settings.event_prefix)
    assert first.config.name == again.config.name == stream_name(CONTEXT, settings.event_prefix)
    assert again.config.subjects == [f"{settings.event_prefix}.{CONTEXT}.>"]
    assert again.config.storage == StorageType.FILE
    assert again.config.duplicate_window == DUPLICATE_WINDOW_S >= 120


async def test_two_relays_publish_each_of_200_events_exactly_once(
    db: EventDb, make_settings: SettingsFactory, connect: Callable[[], asyncio.Future[NATS]]
) -> None:
    settings = make_settings()
    relays = [OutboxRelay(settings, db.sessions, await connect(), batch_size=10) for _ in range(2)]
    await ensure_stream(relays[0].js, CONTEXT, settings.event_prefix)
    # Pooled connections open before the race: a relay still connecting would find every
    # share with work held by the other, and rightly leave it to that one.
    assert all(await asyncio.gather(*(relay.drain() for relay in relays)))
    ids = await record_many(db, [f"k{i}" for i in range(200)])

    assert all(await asyncio.gather(*(relay.drain() for relay in relays)))

    # Each relay counts what JetStream stored for it, and what JetStream called a
    # duplicate: no event was published twice, so the Nats-Msg-Id dedupe saved nothing.
    assert sum(relay.published for relay in relays) == 200
    assert [relay.duplicates for relay in relays] == [0, 0]
    assert all(relay.published > 0 for relay in relays), "both relays should have worked"
    assert await unpublished(db) == 0
    info = await relays[0].js.stream_info(stream_name(CONTEXT, settings.event_prefix))
    assert info.state.messages == 200

    # In outbox order, each with its event id as Nats-Msg-Id.
    sub = await relays[0].js.subscribe(f"{settings.event_prefix}.>", ordered_consumer=True)
    seen: list[uuid.UUID] = []
    for _ in range(200):
        msg = await sub.next_msg(timeout=10)
        envelope = json.loads(msg.data)
        assert msg.headers is not None
        assert msg.headers["Nats-Msg-Id"] == envelope["id"]
        assert envelope["source"] == CONTEXT
        seen.append(uuid.UUID(envelope["id"]))
    assert sorted(seen) == sorted(ids)
    await sub.unsubscribe()


async def test_published_message_carries_envelope_and_request_context(
    db: EventDb, make_settings: SettingsFactory, connect: Callable[[], asyncio.Future[NATS]]
) -> None:
    settings = make_settings()
    relay = OutboxRelay(settings, db.sessions, await connect())
    tracing.bind("req-relay-1", "00-0123456789abcdef0123456789abcdef-0123456789abcdef-01")
    [event_id] = await record_many(db, ["one"])
    assert await relay.drain()

    msg = await relay.js.get_last_msg(
        stream_name(CONTEXT, settings.event_prefix),
        f"{settings.event_prefix}.{THING_HAPPENED.name}",
    )
    assert msg.headers is not None
    assert msg.headers["Nats-Msg-Id"] == str(event_id)
    assert msg.headers["X-Request-ID"] == "req-relay-1"
    assert msg.headers["traceparent"].startswith("00-0123456789abcdef0123456789abcdef-")
    body = json.loads(msg.data or b"")
    assert body["id"] == str(event_id)
    assert body["type"] == "evtest.thing.happened"
    assert body["version"] == 1
    assert body["subject"] == "one"
    assert body["data"] == {"key": "one", "note": ""}
    assert body["source"] == "evtest"


async def test_relay_creates_a_missing_stream_on_first_publish(
    db: EventDb, make_settings: SettingsFactory, connect: Callable[[], asyncio.Future[NATS]]
) -> None:
    settings = make_settings()
    relay = OutboxRelay(settings, db.sessions, await connect())
    await record_many(db, ["fresh"])
    assert await relay.drain()
    assert relay.published == 1
    info = await relay.js.stream_info(stream_name(CONTEXT, settings.event_prefix))
    assert info.state.messages == 1


async def test_notification_wakes_the_relay_and_listen_survives_a_dropped_connection(
    db: EventDb, make_settings: SettingsFactory, connect: Callable[[], asyncio.Future[NATS]]
) -> None:
    # Polling once an hour: only LISTEN/NOTIFY can get these events out during the test.
    settings = make_settings(relay_poll_interval_s=3600)
    relay = OutboxRelay(settings, db.sessions, await connect())
    await ensure_stream(relay.js, CONTEXT, settings.event_prefix)
    task = asyncio.create_task(relay.run())
    try:
        await eventually(lambda: _true(relay.listening), what="LISTEN")
        await record_many(db, ["woken"])
        await eventually(lambda: _equals(unpublished(db), 0), what="publish on NOTIFY")
        assert relay.published == 1

        # Kill the relay's LISTEN backend: it reconnects, and NOTIFY works again.
        old_pid = await _listen_pid(db)
        assert old_pid is not None
        await db.scalar("SELECT pg_terminate_backend(:pid)", pid=old_pid)

        async def new_backend() -> bool:
            pid = await _listen_pid(db)
            return pid is not None and pid != old_pid and relay.listening

        await eventually(new_backend, what="LISTEN reconnect")
        await record_many(db, ["woken-again"])
        await eventually(lambda: _equals(unpublished(db), 0), what="publish after reconnect")
        assert relay.published == 2
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_publish_failure_is_recorded_and_the_event_stays(
    db: EventDb, make_settings: SettingsFactory, connect: Callable[[], asyncio.Future[NATS]]
) -> None:
    settings = make_settings()
    nc = await connect()
    relay = OutboxRelay(settings, db.sessions, nc)
    # A stream that takes our subjects but refuses messages this big.
    await nc.jetstream().add_stream(
        StreamConfig(
            name=stream_name(CONTEXT, settings.event_prefix),
            subjects=[f"{settings.event_prefix}.{CONTEXT}.>"],
            max_msg_size=16,
        )
    )
    await record_many(db, ["too-big"])
    assert not await relay.drain()
    outbox = db.tables.outbox
    async with db.engine.connect() as conn:
        row = (await conn.execute(select(outbox))).mappings().one()
    assert row["published_at"] is None
    assert row["attempts"] == 1
    assert "APIError" in row["last_error"] or "size" in row["last_error"].lower()
    assert relay.published == 0


async def _listen_pid(db: EventDb) -> int | None:
    pid = await db.scalar(
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'medley-evtest-relay' "
        "AND query ILIKE 'LISTEN%' ORDER BY backend_start DESC LIMIT 1"
    )
    return int(pid) if pid is not None else None


async def _true(value: bool) -> bool:
    return value


async def _equals(value: object, expected: object) -> bool:
    return (await value) == expected  # type: ignore[misc]


async def test_events_published_long_ago_are_pruned(
    db: EventDb, make_settings: SettingsFactory, connect: Callable[[], asyncio.Future[NATS]]
) -> None:
    relay = OutboxRelay(make_settings(), db.sessions, await connect())
    old, recent, pending = await record_many(db, ["old", "recent", "pending"])
    await db.scalar(
        "UPDATE outbox SET published_at = now() - interval '8 days' WHERE id = :id RETURNING 1",
        id=old,
    )
    await db.scalar("UPDATE outbox SET published_at = now() WHERE id = :id RETURNING 1", id=recent)
    relay._last_prune = float("-inf")
    await relay._maybe_prune()
    outbox = db.tables.outbox
    async with db.engine.connect() as conn:
        left = set((await conn.execute(select(outbox.c.id))).scalars())
    assert left == {recent, pending}


async def test_a_relay_cancelled_as_it_is_woken_stops(
    db: EventDb, make_settings: SettingsFactory, connect: Callable[[], asyncio.Future[NATS]]
) -> None:
    # A shutdown cancels the relay whenever it comes; a wake-up (a commit's NOTIFY) landing in
    # the same instant used to swallow the cancellation and hang the service's stop.
    relay = OutboxRelay(make_settings(relay_poll_interval_s=3600), db.sessions, await connect())
    task = asyncio.create_task(relay.run())
    await eventually(lambda: _true(relay.listening), what="LISTEN")
    await asyncio.sleep(0.2)  # the first drain is over: the relay waits for a wake-up
    relay.wake()
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=5)
    assert done == {task}
    assert task.cancelled()


async def stream_refusing_big_messages(js: JetStreamContext, prefix: str) -> StreamConfig:
    """Our stream, refusing messages over 600 bytes: raise its ``max_msg_size`` to let
    them in."""
    config = StreamConfig(
        name=stream_name(CONTEXT, prefix),
        subjects=[f"{prefix}.{CONTEXT}.>"],
        storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW_S,
        max_msg_size=600,
    )
    await js.add_stream(config)
    return config


async def test_a_batch_marks_exactly_the_acknowledged_events_and_retries_the_failed_once(
    db: EventDb, make_settings: SettingsFactory, connect: Callable[[], asyncio.Future[NATS]]
) -> None:
    settings = make_settings()
    nc = await connect()
    js = nc.jetstream()
    relay = OutboxRelay(settings, db.sessions, nc, batch_size=50)
    name = stream_name(CONTEXT, settings.event_prefix)
    config = await stream_refusing_big_messages(js, settings.event_prefix)
    # One batch, every fifth event too big for the stream: those fail, in the middle of it.
    keys = [f"k{i}" + ("x" * 1000 if i % 5 == 2 else "") for i in range(40)]
    await record_many(db, keys)
    assert not await relay.drain()  # a failed publish: the relay backs off, then retries
    assert await unpublished(db) == 8
    assert relay.published == 32
    assert (await js.stream_info(name)).state.messages == 32
    outbox = db.tables.outbox
    async with db.engine.connect() as conn:
        left = (await conn.execute(select(outbox.c.subject, outbox.c.attempts).where(
            outbox.c.published_at.is_(None)))).all()  # fmt: skip
    assert sorted(subject for subject, _ in left) == sorted(k for k in keys if len(k) > 100)
    assert {attempts for _, attempts in left} == {1}
    # The stream takes them now: the failed ones go out, once; the sent ones not again.
    config.max_msg_size = -1
    await js.update_stream(config)
    await relay.drain()
    assert await unpublished(db) == 0
    assert relay.published == 40
    assert relay.duplicates == 0
    assert (await js.stream_info(name)).state.messages == 40


def test_publication_waves_put_a_subjects_nth_event_in_the_nth_wave() -> None:
    rows = [{"id": i, "subject": s} for i, s in enumerate("abacbaa")]
    waves = publication_waves(rows)
    assert [[(r["id"], r["subject"]) for r in wave] for wave in waves] == [
        [(0, "a"), (1, "b"), (3, "c")],
        [(2, "a"), (4, "b")],
        [(5, "a")],
        [(6, "a")],
    ]
    assert publication_waves([]) == []


async def record_notes(db: EventDb, events: list[tuple[str, str]]) -> None:
    """One transaction per event, as separate requests would write them."""
    for subject, note in events:
        async with db.sessions() as session, session.begin():
            collect(
                session, THING_HAPPENED, ThingHappenedV1(key=subject, note=note), subject=subject
            )


async def stream_notes(js: object, settings: object, count: int) -> list[tuple[str, str]]:
    """``(subject, note)`` of the first ``count`` messages, in stream order."""
    sub = await js.subscribe(  # type: ignore[attr-defined]
        f"{settings.event_prefix}.>",  # type: ignore[attr-defined]
        ordered_consumer=True,
    )
    seen = []
    for _ in range(count):
        data = json.loads((await sub.next_msg(timeout=10)).data)["data"]
        seen.append((data["key"], data["note"]))
    await sub.unsubscribe()
    return seen


async def test_a_refused_event_holds_back_its_subjects_later_events_not_the_others(
    db: EventDb, make_settings: SettingsFactory, connect: Callable[[], asyncio.Future[NATS]]
) -> None:
    settings = make_settings()
    nc = await connect()
    js = nc.jetstream()
    relay = OutboxRelay(settings, db.sessions, nc, batch_size=50)
    config = await stream_refusing_big_messages(js, settings.event_prefix)
    # "a" is created, then changed in a way the stream refuses, then changed again: its
    # third event must not overtake the second. "b" has nothing to do with it.
    await record_notes(
        db, [("a", "1"), ("b", "1"), ("a", "2" + "x" * 1000), ("a", "3"), ("b", "2")]
    )
    assert not await relay.drain()
    assert await stream_notes(js, settings, 3) == [("a", "1"), ("b", "1"), ("b", "2")]
    outbox = db.tables.outbox
    async with db.engine.connect() as conn:
        waiting = (await conn.execute(select(outbox.c.data["note"].astext, outbox.c.attempts)
            .where(outbox.c.published_at.is_(None)).order_by(outbox.c.id))).all()  # fmt: skip
    assert [(note[:1], attempts) for note, attempts in waiting] == [("2", 1), ("3", 0)]

    config.max_msg_size = -1
    await js.update_stream(config)
    assert await relay.drain()
    notes = await stream_notes(js, settings, 5)
    assert [note[:1] for subject, note in notes if subject == "a"] == ["1", "2", "3"]
    assert [note for subject, note in notes if subject == "b"] == ["1", "2"]


async def test_two_relays_keep_each_subjects_events_in_the_order_they_were_written(
    db: EventDb, make_settings: SettingsFactory, connect: Callable[[], asyncio.Future[NATS]]
) -> None:
    settings = make_settings()
    relays = [OutboxRelay(settings, db.sessions, await connect(), batch_size=7) for _ in range(2)]
    await ensure_stream(relays[0].js, CONTEXT, settings.event_prefix)
    assert all(await asyncio.gather(*(relay.drain() for relay in relays)))  # connections open
    subjects = [f"entity-{i}" for i in range(48)]  # enough to fall in every share
    # Interleaved, as concurrent requests would write them: round n of every subject.
    written = [(subject, f"{n:03d}") for n in range(8) for subject in subjects]
    await record_notes(db, written)

    assert all(await asyncio.gather(*(relay.drain() for relay in relays)))

    assert sum(relay.published for relay in relays) == len(written)
    assert all(relay.published > 0 for relay in relays), "both relays should have worked"
    seen = await stream_notes(relays[0].js, settings, len(written))
    for subject in subjects:
        assert [note for s, note in seen if s == subject] == [f"{n:03d}" for n in range(8)]
