"""Consumers: at most once through the inbox, retries with backoff, dead letters, replay."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import nats
import pytest
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_contracts.envelope import EventEnvelope, nats_subject, stream_name
from medley_core import tracing
from medley_core.errors import Conflict, NotFound
from medley_core.events.deadletters import (
    NotReplayable,
    ReplayFailed,
    get_dead_letter,
    list_dead_letters,
)
from medley_core.events.runtime import EventRuntime
from medley_core.events.streams import ensure_stream
from medley_core.events.unit_of_work import collect
from medley_core.ids import new_id, utcnow
from medley_core.settings import ServiceSettings

from .conftest import (
    CONTEXT,
    THING_HAPPENED,
    THING_POISONED,
    EventDb,
    RuntimeFactory,
    SettingsFactory,
    ThingHappenedV1,
    consuming,
    counting_handler,
    eventually,
)


def envelope_of(key: str, event_type: str = THING_HAPPENED.name) -> EventEnvelope:
    return EventEnvelope(
        id=new_id(),
        type=event_type,
        version=1,
        source=CONTEXT,
        occurred_at=utcnow(),
        subject=key,
        data={"key": key, "note": ""},
    )


async def inbox_count(db: EventDb) -> int:
    return int(await db.scalar("SELECT count(*) FROM inbox"))


async def test_event_delivered_twice_is_applied_once(
    db: EventDb, make_settings: SettingsFactory, start_runtime: RuntimeFactory
) -> None:
    runtime = await start_runtime(make_settings(), {THING_HAPPENED.name: counting_handler()})
    await eventually(lambda: consuming(runtime))
    [consumer] = runtime.consumers
    envelope = envelope_of("dup")
    subject = nats_subject(envelope.type, runtime.settings.event_prefix)
    body = envelope.model_dump_json().encode()
    # The same event twice, under two message ids: JetStream stores both, the inbox
    # must catch the second.
    acks = [
        await runtime.js.publish(subject, body, headers={"Nats-Msg-Id": f"{envelope.id}-{n}"})
        for n in (1, 2)
    ]
    assert [ack.duplicate for ack in acks] == [None, None] or not any(a.duplicate for a in acks)

    async def both_seen() -> bool:
        return consumer.applied + consumer.duplicates == 2

    await eventually(both_seen)
    assert await db.count("dup") == 1
    assert (consumer.applied, consumer.duplicates) == (1, 1)
    assert await inbox_count(db) == 1

    async def all_acked() -> bool:
        info = await runtime.js.consumer_info(consumer.stream, consumer.durable)
        return info.num_ack_pending == 0 and info.num_pending == 0

    await eventually(all_acked)


async def test_failed_delivery_is_retried_and_applied_once(
    db: EventDb, make_settings: SettingsFactory, start_runtime: RuntimeFactory
) -> None:
    attempts: list[int] = []

    def fail_first(_envelope: EventEnvelope) -> bool:
        attempts.append(1)
        return len(attempts) == 1

    runtime = await start_runtime(
        make_settings(), {THING_HAPPENED.name: counting_handler(fail=fail_first)}
    )
    async with db.sessions() as session, session.begin():
        collect(session, THING_HAPPENED, ThingHappenedV1(key="retry"), subject="x")
    [consumer] = runtime.consumers

    async def applied() -> bool:
        return consumer.applied == 1

    await eventually(applied)
    # The first attempt's increment was rolled back with its failure.
    assert await db.count("retry") == 1
    assert consumer.retried == 1
    assert len(attempts) == 2
    assert await inbox_count(db) == 1
    page = await _dead_letters(db)
    assert page == []


async def test_handler_sees_the_writers_request_id(
    db: EventDb, make_settings: SettingsFactory, start_runtime: RuntimeFactory
) -> None:
    seen: list[str | None] = []

    async def handler(session: object, envelope: EventEnvelope) -> None:
        seen.append(tracing.current_request_id())

    runtime = await start_runtime(make_settings(), {THING_HAPPENED.name: handler})
    tracing.bind("req-consumer-7", None)
    async with db.sessions() as session, session.begin():
        collect(session, THING_HAPPENED, ThingHappenedV1(key="ctx"), subject="x")
    tracing.bind(None, None)

    async def handled() -> bool:
        return bool(seen)

    await eventually(handled)
    assert seen == ["req-consumer-7"]
    assert runtime.consumers[0].applied == 1


async def test_poison_event_is_dead_lettered_after_max_deliveries_then_replayed(
    db: EventDb, make_settings: SettingsFactory, start_runtime: RuntimeFactory
) -> None:
    broken = True
    settings = make_settings(consumer_max_deliver=3)
    runtime = await start_runtime(
        settings,
        {
            THING_POISONED.name: counting_handler(fail=lambda _e: broken),
            THING_HAPPENED.name: counting_handler(),
        },
    )
    async with db.sessions() as session, session.begin():
        event_id = collect(session, THING_POISONED, ThingHappenedV1(key="poison"), subject="p")
    [consumer] = runtime.consumers

    async def dead_lettered() -> bool:
        return consumer.dead_lettered == 1

    await eventually(dead_lettered)
    [letter] = await _dead_letters(db)
    assert letter.event_id == event_id
    assert letter.deliveries == 3
    assert letter.consumer == CONTEXT
    assert letter.stream == stream_name(CONTEXT, settings.event_prefix)
    last = await runtime.js.get_last_msg(
        letter.stream, nats_subject(THING_POISONED.name, settings.event_prefix)
    )
    assert letter.stream_seq == last.seq
    assert letter.subject == nats_subject(THING_POISONED.name, settings.event_prefix)
    assert "RuntimeError: handler refuses poison" in letter.error
    assert letter.envelope["id"] == str(event_id)
    assert letter.replayed_at is None
    assert await db.count("poison") == 0
    assert consumer.retried == 2

    # Other events keep flowing past the poison one.
    async with db.sessions() as session, session.begin():
        collect(session, THING_HAPPENED, ThingHappenedV1(key="fine"), subject="f")

    async def fine_applied() -> bool:
        return await db.count("fine") == 1

    await eventually(fine_applied)

    # Replaying while the handler is still broken: refused, and the error is kept.
    with pytest.raises(ReplayFailed) as failed:
        await runtime.replay(letter.id)
    assert failed.value.status == 409
    assert "handler refuses poison" in failed.value.extensions["replay_error"]
    after_failure = await _get(db, letter.id)
    assert after_failure.replayed_at is None
    assert after_failure.replay_error is not None
    assert "handler refuses poison" in after_failure.replay_error
    assert await db.count("poison") == 0

    broken = False
    result = await runtime.replay(letter.id)
    assert result.applied is True
    assert result.dead_letter.replayed_at is not None
    assert result.dead_letter.replay_error is None
    assert await db.count("poison") == 1

    with pytest.raises(Conflict, match="already replayed"):
        await runtime.replay(letter.id)
    assert await db.count("poison") == 1
    with pytest.raises(NotFound):
        await runtime.replay(uuid.uuid4())

    async with db.sessions() as session, session.begin():
        waiting = await list_dead_letters(session, replayed=False, schema=db.schema)
        replayed = await list_dead_letters(session, replayed=True, schema=db.schema)
    assert waiting.items == []
    assert [d.id for d in replayed.items] == [letter.id]


async def test_message_that_is_not_an_envelope_is_dead_lettered_at_once(
    db: EventDb, make_settings: SettingsFactory, start_runtime: RuntimeFactory
) -> None:
    runtime = await start_runtime(make_settings(), {THING_HAPPENED.name: counting_handler()})
    await eventually(lambda: consuming(runtime))
    [consumer] = runtime.consumers
    subject = nats_subject(THING_HAPPENED.name, runtime.settings.event_prefix)
    ack = await runtime.js.publish(subject, b"this is not json")

    async def dead_lettered() -> bool:
        return consumer.dead_lettered == 1

    await eventually(dead_lettered)
    [letter] = await _dead_letters(db)
    assert letter.event_id is None
    assert letter.deliveries == 1
    assert letter.stream_seq == ack.seq
    assert letter.envelope == {"raw": "this is not json"}
    assert "not a valid event envelope" in letter.error
    with pytest.raises(NotReplayable):
        await runtime.replay(letter.id)


async def test_delivery_that_never_comes_back_is_dead_lettered_from_the_advisory(
    db: EventDb, make_settings: SettingsFactory, start_runtime: RuntimeFactory
) -> None:
    """A replica dies holding the last allowed delivery: the max-deliveries advisory,
    taken by the other replica, puts the event in the dead letters."""
    hold = asyncio.Event()
    holders: list[asyncio.Task[object] | None] = []

    async def hangs(session: object, envelope: EventEnvelope) -> None:
        holders.append(asyncio.current_task())
        await hold.wait()

    settings = make_settings(consumer_max_deliver=1, consumer_ack_wait_s=1.0)
    replicas = [await start_runtime(settings, {THING_HAPPENED.name: hangs}) for _ in range(2)]
    for replica in replicas:
        await eventually(lambda r=replica: consuming(r))
    async with db.sessions() as session, session.begin():
        event_id = collect(session, THING_HAPPENED, ThingHappenedV1(key="lost"), subject="l")

    async def someone_holds_it() -> bool:
        return any(r.consumers[0]._handling for r in replicas)

    await eventually(someone_holds_it)
    [holder] = [r for r in replicas if r.consumers[0]._handling]
    [survivor] = [r for r in replicas if r is not holder]
    # The holder "dies": its consumer stops without acking.
    await holder.consumers[0].stop(timeout_s=0.01)

    async def dead_lettered() -> bool:
        return len(await _dead_letters(db)) == 1

    await eventually(dead_lettered)
    [letter] = await _dead_letters(db)
    assert letter.event_id == event_id
    assert "ran out of deliveries" in letter.error
    assert survivor.consumers[0].dead_lettered == 1
    assert await inbox_count(db) == 0


async def _dead_letters(db: EventDb) -> list:  # type: ignore[type-arg]
    async with db.sessions() as session, session.begin():
        page = await list_dead_letters(session, schema=db.schema)
    return list(page.items)


async def _get(db: EventDb, dead_letter_id: uuid.UUID):  # type: ignore[no-untyped-def]
    async with db.sessions() as session, session.begin():
        letter = await get_dead_letter(session, dead_letter_id, schema=db.schema)
    assert letter is not None
    return letter


_ = EventRuntime


async def publish_before_consuming(
    event_infra: object, settings: ServiceSettings, envelopes: list[EventEnvelope]
) -> None:
    """The events stored in the stream before any consumer exists: one fetch takes them all."""
    nc = await nats.connect(event_infra.nats_url)  # type: ignore[attr-defined]
    try:
        js = nc.jetstream()
        await ensure_stream(js, CONTEXT, settings.event_prefix)
        for envelope in envelopes:
            await js.publish(
                nats_subject(envelope.type, settings.event_prefix),
                envelope.model_dump_json().encode(),
                headers={"Nats-Msg-Id": str(envelope.id)},
            )
    finally:
        await nc.close()


def recording_handler(
    seen: list[tuple[str, int]], *, refuse: str | None = None
) -> Callable[[AsyncSession, EventEnvelope], Awaitable[None]]:
    """Counts like ``counting_handler`` and records (key, transaction id); refuses ``refuse``."""
    count = counting_handler(fail=lambda envelope: envelope.data["key"] == refuse)

    async def handle(session: AsyncSession, envelope: EventEnvelope) -> None:
        conn = await session.connection()
        xid = int(await conn.scalar(text("SELECT txid_current()")))
        await count(session, envelope)
        seen.append((envelope.data["key"], xid))

    return handle


async def test_a_fetched_batch_is_applied_in_order_in_one_transaction(
    db: EventDb, make_settings: SettingsFactory, start_runtime: RuntimeFactory, event_infra: object
) -> None:
    settings = make_settings()
    keys = [f"batch-{i}" for i in range(10)]
    await publish_before_consuming(event_infra, settings, [envelope_of(k) for k in keys])
    seen: list[tuple[str, int]] = []
    runtime = await start_runtime(settings, {THING_HAPPENED.name: recording_handler(seen)})
    [consumer] = runtime.consumers

    async def all_applied() -> bool:
        return consumer.applied == len(keys)

    await eventually(all_applied)
    assert [key for key, _xid in seen] == keys
    assert len({xid for _key, xid in seen}) == 1, "one commit for the fetched batch"
    assert [await db.count(k) for k in keys] == [1] * len(keys)
    assert await inbox_count(db) == len(keys)


async def test_a_failing_event_in_a_batch_is_retried_alone_and_the_others_apply_once(
    db: EventDb, make_settings: SettingsFactory, start_runtime: RuntimeFactory, event_infra: object
) -> None:
    settings = make_settings(consumer_max_deliver=2)
    keys = [f"mixed-{i}" for i in range(10)]
    await publish_before_consuming(event_infra, settings, [envelope_of(k) for k in keys])
    seen: list[tuple[str, int]] = []
    handler = recording_handler(seen, refuse="mixed-4")
    runtime = await start_runtime(settings, {THING_HAPPENED.name: handler})
    [consumer] = runtime.consumers

    async def settled() -> bool:
        return consumer.applied == 9 and consumer.dead_lettered == 1

    await eventually(settled)
    assert [await db.count(k) for k in keys] == [1, 1, 1, 1, 0, 1, 1, 1, 1, 1]
    assert await inbox_count(db) == 9
    [letter] = await _dead_letters(db)
    assert letter.envelope["data"]["key"] == "mixed-4"
    assert letter.deliveries == 2
    # The batch was rolled back and its events handled one by one, in order.
    applied_order = [key for key, _xid in seen if key != "mixed-4"]
    assert applied_order[-9:] == [k for k in keys if k != "mixed-4"]
