"""Recording events: in the caller's transaction, or not at all."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex

from medley_contracts.envelope import EventType
from medley_core import tracing
from medley_core.db import schema_metadata
from medley_core.events.tables import event_tables
from medley_core.events.unit_of_work import collect

from .conftest import THING_HAPPENED, EventDb, ThingHappenedV1


async def outbox_rows(db: EventDb) -> list[dict[str, object]]:
    outbox = db.tables.outbox
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(outbox).order_by(outbox.c.id))).mappings().all()
    return [dict(row) for row in rows]


async def test_committed_event_is_in_the_outbox_with_the_request_context(db: EventDb) -> None:
    tracing.bind("req-outbox-1", None)
    async with db.sessions() as session, session.begin():
        event_id = collect(
            session, THING_HAPPENED, ThingHappenedV1(key="a", note="hi"), subject="a"
        )

    [row] = await outbox_rows(db)
    assert row["id"] == event_id
    assert event_id.version == 7  # time-ordered
    assert row["type"] == "evtest.thing.happened"
    assert row["version"] == 1
    assert row["subject"] == "a"
    assert row["data"] == {"key": "a", "note": "hi"}
    assert row["published_at"] is None
    assert row["attempts"] == 0
    headers = row["headers"]
    assert isinstance(headers, dict)
    assert headers["X-Request-ID"] == "req-outbox-1"
    assert headers["traceparent"].startswith("00-")


async def test_rolled_back_transaction_leaves_no_event(db: EventDb) -> None:
    class Boom(Exception):
        pass

    async def write_then_fail() -> None:
        async with db.sessions() as session, session.begin():
            collect(session, THING_HAPPENED, ThingHappenedV1(key="b"), subject="b")
            raise Boom

    with pytest.raises(Boom):
        await write_then_fail()

    assert await outbox_rows(db) == []


async def test_event_and_state_change_commit_together(db: EventDb) -> None:
    async with db.sessions() as session, session.begin():
        conn = await session.connection()
        await conn.execute(db.counters.insert().values(key="c", n=5))
        collect(session, THING_HAPPENED, ThingHappenedV1(key="c"), subject="c")

    assert await db.count("c") == 5
    assert len(await outbox_rows(db)) == 1


async def test_payload_of_another_type_is_refused(db: EventDb) -> None:
    from pydantic import BaseModel

    class Other(BaseModel):
        key: str

    async with db.sessions() as session, session.begin():
        with pytest.raises(TypeError, match="carries ThingHappenedV1"):
            collect(session, THING_HAPPENED, Other(key="x"), subject="x")  # type: ignore[arg-type]


async def test_event_type_no_envelope_can_carry_is_refused_at_write_time(db: EventDb) -> None:
    bad = EventType("Not-A-Type", 1, ThingHappenedV1)
    async with db.sessions() as session, session.begin():
        with pytest.raises(ValueError, match="type"):
            collect(session, bad, ThingHappenedV1(key="x"), subject="x")
    assert await outbox_rows(db) == []


def test_event_tables_land_in_the_metadata_schema_once() -> None:
    metadata = schema_metadata("somewhere")
    tables = event_tables(metadata)
    assert {t.fullname for t in (tables.outbox, tables.inbox, tables.dead_letters)} == {
        "somewhere.outbox",
        "somewhere.inbox",
        "somewhere.dead_letters",
    }
    assert event_tables(metadata) == tables
    assert [c.name for c in tables.inbox.primary_key.columns] == ["consumer", "event_id"]
    [unpublished] = [i for i in tables.outbox.indexes if i.name == "ix_outbox_unpublished"]
    ddl = str(CreateIndex(unpublished).compile(dialect=postgresql.dialect()))
    assert ddl.endswith("WHERE published_at IS NULL")


async def test_notification_is_sent_at_commit(db: EventDb) -> None:
    import asyncio

    import asyncpg

    from medley_core.db import asyncpg_dsn

    received: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(asyncpg_dsn(db.admin_url))
    try:
        await listener.add_listener(
            f"{db.schema}_outbox", lambda _c, _pid, channel, _payload: received.put_nowait(channel)
        )
        async with db.sessions() as session, session.begin():
            for key in ("n1", "n2", "n3"):
                collect(session, THING_HAPPENED, ThingHappenedV1(key=key), subject=key)
            # Not before the commit.
            assert received.empty()
        async with asyncio.timeout(10):
            channel = await received.get()
        assert channel == f"{db.schema}_outbox"
        async with db.engine.connect() as conn:
            assert await conn.scalar(select(func.count()).select_from(db.tables.outbox)) == 3
    finally:
        await listener.close()


@pytest.mark.parametrize("count", [5, 500], ids=["insert", "copy"])
async def test_many_events_in_one_statement(db: EventDb, count: int) -> None:
    from medley_core.events.outbox import COPY_THRESHOLD
    from medley_core.events.unit_of_work import collect_many

    assert (count < COPY_THRESHOLD) == (count == 5)  # both ways of writing are exercised
    async with db.sessions() as session, session.begin():
        ids = collect_many(
            session,
            [(THING_HAPPENED, ThingHappenedV1(key=f"bulk{i}"), f"s{i}") for i in range(count)],
        )
        assert collect_many(session, []) == []
    rows = await outbox_rows(db)
    assert [row["id"] for row in rows] == ids  # time-ordered ids: the order they were given
    assert [row["subject"] for row in rows] == [f"s{i}" for i in range(count)]
    expected = [ThingHappenedV1(key=f"bulk{i}").model_dump(mode="json") for i in range(count)]
    assert [row["data"] for row in rows] == expected
    assert all(row["type"] == THING_HAPPENED.name and row["version"] == 1 for row in rows)
    assert len({row["occurred_at"] for row in rows}) == 1


async def test_bulk_write_refuses_a_wrong_payload_before_writing_anything(db: EventDb) -> None:
    from medley_contracts.users import USER_DELETED
    from medley_core.events.unit_of_work import collect_many

    async with db.sessions() as session, session.begin():
        with pytest.raises(TypeError):
            collect_many(
                session,
                [
                    (THING_HAPPENED, ThingHappenedV1(key="ok"), "s"),
                    (USER_DELETED, ThingHappenedV1(key="wrong"), "s"),
                ],
            )
    assert await outbox_rows(db) == []
