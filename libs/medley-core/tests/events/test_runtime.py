"""The runtime end to end: NATS going away and coming back loses nothing."""

from __future__ import annotations

from sqlalchemy import select

from medley_core.events.unit_of_work import collect

from .conftest import (
    THING_HAPPENED,
    EventDb,
    OwnNats,
    RuntimeFactory,
    SettingsFactory,
    ThingHappenedV1,
    consuming,
    counting_handler,
    eventually,
)


async def record(db: EventDb, key: str) -> None:
    async with db.sessions() as session, session.begin():
        collect(session, THING_HAPPENED, ThingHappenedV1(key=key), subject=key)


async def published_at(db: EventDb, key: str) -> object:
    outbox = db.tables.outbox
    async with db.engine.connect() as conn:
        return await conn.scalar(
            select(outbox.c.published_at).where(outbox.c.data["key"].astext == key)
        )


async def test_event_recorded_while_nats_is_down_is_delivered_when_it_returns(
    db: EventDb,
    make_settings: SettingsFactory,
    start_runtime: RuntimeFactory,
    own_nats: OwnNats,
) -> None:
    await own_nats.start()
    runtime = await start_runtime(
        make_settings(nats_url=own_nats.url), {THING_HAPPENED.name: counting_handler()}
    )
    await eventually(lambda: consuming(runtime))
    await record(db, "before")

    async def before_applied() -> bool:
        return await db.count("before") == 1

    await eventually(before_applied)

    own_nats.kill()

    async def disconnected() -> bool:
        return not runtime.nats_connected

    await eventually(disconnected)
    await record(db, "during")
    # Nothing can take it: it waits in the outbox.
    assert await published_at(db, "during") is None
    assert await db.count("during") == 0

    await own_nats.start()  # same port, same store: the stream and the durable are back

    async def during_applied() -> bool:
        return await db.count("during") == 1

    await eventually(during_applied, timeout_s=60)
    assert runtime.nats_connected
    assert await published_at(db, "during") is not None
    assert await db.count("before") == 1
    assert runtime.relay is not None
    assert runtime.relay.published == 2


async def test_service_starts_while_nats_is_down_and_catches_up(
    db: EventDb,
    make_settings: SettingsFactory,
    start_runtime: RuntimeFactory,
    own_nats: OwnNats,
) -> None:
    # Nothing listens on own_nats.port yet.
    runtime = await start_runtime(
        make_settings(nats_url=own_nats.url), {THING_HAPPENED.name: counting_handler()}
    )
    assert not runtime.nats_connected  # readiness says "nats: down"
    await record(db, "early")
    assert await published_at(db, "early") is None

    await own_nats.start()

    async def applied() -> bool:
        return await db.count("early") == 1

    await eventually(applied, timeout_s=60)
    assert runtime.nats_connected
    assert await published_at(db, "early") is not None


async def test_stop_is_clean_and_idempotent(
    db: EventDb, make_settings: SettingsFactory, start_runtime: RuntimeFactory
) -> None:
    runtime = await start_runtime(make_settings(), {THING_HAPPENED.name: counting_handler()})
    await eventually(lambda: consuming(runtime))
    await runtime.stop()
    assert not runtime.nats_connected
    assert all(c._task is not None and c._task.done() for c in runtime.consumers)
    await runtime.stop()


async def test_handlers_must_be_keyed_by_event_type(
    db: EventDb, make_settings: SettingsFactory
) -> None:
    import pytest

    from medley_core.events.runtime import EventRuntime

    with pytest.raises(ValueError, match="event type"):
        EventRuntime(make_settings(), db.sessions, {"UserDeleted": counting_handler()})


async def test_stop_while_nats_never_came_is_clean(
    db: EventDb, make_settings: SettingsFactory, own_nats: OwnNats
) -> None:
    from medley_core.events.runtime import EventRuntime

    runtime = EventRuntime(
        make_settings(nats_url=own_nats.url), db.sessions, {THING_HAPPENED.name: counting_handler()}
    )
    await runtime.start()
    assert not runtime.nats_connected
    await runtime.stop()
    assert not runtime.nats_connected
    assert all(c._task is not None and c._task.done() for c in runtime.consumers)
