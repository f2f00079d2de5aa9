"""The unit of work: events collected as a transaction runs, one per entity per change,
written to the outbox once just before commit, and not at all on rollback."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncSession as PlainAsyncSession
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_contracts.envelope import EventType
from medley_core.db import transaction
from medley_core.events.outbox import COPY_THRESHOLD
from medley_core.events.unit_of_work import collect, collect_many, folds_into

from .conftest import CONTEXT, THING_HAPPENED, EventDb, ThingHappenedV1

THING_CREATED = EventType(f"{CONTEXT}.thing.created", 1, ThingHappenedV1)
THING_UPDATED = EventType(f"{CONTEXT}.thing.updated", 1, ThingHappenedV1)
THING_DELETED = EventType(f"{CONTEXT}.thing.deleted", 1, ThingHappenedV1)


def thing(key: str, note: str = "") -> ThingHappenedV1:
    return ThingHappenedV1(key=key, note=note)


async def outbox(db: EventDb) -> list[tuple[str, str, str]]:
    """(type, subject, note) of every committed event, in the order the relay sends them."""
    table = db.tables.outbox
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(table).order_by(table.c.id))).mappings().all()
    return [(row["type"].rpartition(".")[2], row["subject"], row["data"]["note"]) for row in rows]


@pytest.fixture
def outbox_statements(db: EventDb) -> Iterator[list[str]]:
    """Every statement sent through SQLAlchemy that writes the outbox (COPY goes to the
    driver directly and is not among them)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "INSERT INTO" in statement and "outbox" in statement:
            seen.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine.sync_engine, "before_cursor_execute", record)


# -- the merge rules (pure) -------------------------------------------------------------------


def test_what_counts_as_the_same_change() -> None:
    assert folds_into(THING_UPDATED, THING_UPDATED)
    assert folds_into(THING_CREATED, THING_UPDATED)
    assert not folds_into(THING_UPDATED, THING_CREATED)
    assert not folds_into(THING_CREATED, THING_DELETED)
    assert not folds_into(THING_DELETED, THING_UPDATED)
    assert not folds_into(THING_UPDATED, EventType(f"{CONTEXT}.thing.updated", 2, ThingHappenedV1))


# -- one event per entity per change ---------------------------------------------------------


async def test_an_entity_changed_twice_publishes_its_final_state_once(db: EventDb) -> None:
    async with transaction(db.sessions) as session:
        first = collect(session, THING_UPDATED, thing("a", "first edit"), subject="a")
        collect(session, THING_UPDATED, thing("b", "only edit"), subject="b")
        again = collect(session, THING_UPDATED, thing("a", "second edit"), subject="a")
    assert again == first  # merged into the first: its id and its place
    assert await outbox(db) == [("updated", "a", "second edit"), ("updated", "b", "only edit")]


async def test_created_then_updated_is_one_created_carrying_the_final_state(db: EventDb) -> None:
    async with transaction(db.sessions) as session:
        collect(session, THING_CREATED, thing("a", "as created"), subject="a")
        collect(session, THING_UPDATED, thing("a", "edited"), subject="a")
        collect(session, THING_UPDATED, thing("a", "edited again"), subject="a")
    assert await outbox(db) == [("created", "a", "edited again")]


async def test_created_then_deleted_publishes_both_in_order(db: EventDb) -> None:
    async with transaction(db.sessions) as session:
        collect(session, THING_CREATED, thing("a", "new"), subject="a")
        collect(session, THING_DELETED, thing("a", "gone"), subject="a")
    assert await outbox(db) == [("created", "a", "new"), ("deleted", "a", "gone")]


async def test_a_change_after_another_kind_of_change_is_kept(db: EventDb) -> None:
    """Delete then restore in one transaction: the update after the delete is a change of
    its own (folding it into the first update would tell consumers the thing is gone)."""
    async with transaction(db.sessions) as session:
        collect(session, THING_UPDATED, thing("a", "edited"), subject="a")
        collect(session, THING_DELETED, thing("a", "deleted"), subject="a")
        collect(session, THING_UPDATED, thing("a", "restored"), subject="a")
        collect(session, THING_UPDATED, thing("a", "restored, edited"), subject="a")
    assert await outbox(db) == [
        ("updated", "a", "edited"),
        ("deleted", "a", "deleted"),
        ("updated", "a", "restored, edited"),
    ]


async def test_the_same_subject_in_two_families_is_two_entities(db: EventDb) -> None:
    other = EventType("evtest.other.updated", 1, ThingHappenedV1)
    async with transaction(db.sessions) as session:
        collect(session, THING_UPDATED, thing("a", "thing"), subject="a")
        collect(session, other, thing("a", "other"), subject="a")
    assert await outbox(db) == [("updated", "a", "thing"), ("updated", "a", "other")]


# -- written once, at commit; rolled back with the transaction -------------------------------


async def test_nothing_is_written_before_commit_and_everything_once_at_commit(
    db: EventDb, outbox_statements: list[str]
) -> None:
    async with transaction(db.sessions) as session:
        for i in range(10):
            collect(session, THING_HAPPENED, thing(f"k{i}"), subject=f"k{i}")
        conn = await session.connection()
        # In the transaction itself: no row yet, nothing inserted into the outbox so far.
        assert await conn.scalar(text("SELECT count(*) FROM outbox")) == 0
        assert outbox_statements == []
    assert len(outbox_statements) == 1
    assert len(await outbox(db)) == 10


async def test_a_large_change_set_is_written_by_copy(
    db: EventDb, outbox_statements: list[str]
) -> None:
    count = COPY_THRESHOLD * 10
    async with transaction(db.sessions) as session:
        for i in range(count):  # one at a time, as a loop in a write path would
            collect(session, THING_HAPPENED, thing(f"k{i}", str(i)), subject=f"k{i}")
    assert outbox_statements == []  # not an INSERT: COPY, on the driver
    assert [note for _, _, note in await outbox(db)] == [str(i) for i in range(count)]


async def test_a_rolled_back_transaction_writes_nothing(db: EventDb) -> None:
    class Refused(Exception):
        pass

    async def collect_then_fail() -> None:
        async with transaction(db.sessions) as session:
            collect(session, THING_UPDATED, thing("a"), subject="a")
            collect_many(session, [(THING_UPDATED, thing(f"b{i}"), f"b{i}") for i in range(50)])
            raise Refused

    with pytest.raises(Refused):
        await collect_then_fail()
    assert await outbox(db) == []


async def test_the_next_transaction_of_a_session_starts_empty(db: EventDb) -> None:
    async with db.sessions() as session:
        async with session.begin():
            collect(session, THING_UPDATED, thing("a", "rolled back"), subject="a")
            await session.rollback()
        async with session.begin():
            collect(session, THING_UPDATED, thing("b", "kept"), subject="b")
        async with session.begin():
            pass  # commits nothing more
    assert await outbox(db) == [("updated", "b", "kept")]


async def test_a_rolled_back_savepoint_drops_only_its_own_events(db: EventDb) -> None:
    async def fail_in_a_savepoint(session: AsyncSession) -> None:
        async with session.begin_nested():
            collect(session, THING_UPDATED, thing("a", "in the failed savepoint"), subject="a")
            collect(session, THING_UPDATED, thing("b", "in the failed savepoint"), subject="b")
            raise RuntimeError("the savepoint fails")

    async with transaction(db.sessions) as session:
        collect(session, THING_UPDATED, thing("a", "before"), subject="a")
        with pytest.raises(RuntimeError):
            await fail_in_a_savepoint(session)
        async with session.begin_nested():
            collect(session, THING_UPDATED, thing("c", "in a released savepoint"), subject="c")
        collect(session, THING_UPDATED, thing("a", "after"), subject="a")
    assert await outbox(db) == [
        ("updated", "a", "after"),
        ("updated", "c", "in a released savepoint"),
    ]


async def test_committing_with_a_savepoint_open_writes_its_events_too(db: EventDb) -> None:
    async with db.sessions() as session:
        await session.begin()
        collect(session, THING_UPDATED, thing("a", "outer"), subject="a")
        await session.begin_nested()
        collect(session, THING_UPDATED, thing("b", "in the savepoint"), subject="b")
        await session.commit()  # releases the savepoint, then commits
    assert await outbox(db) == [("updated", "a", "outer"), ("updated", "b", "in the savepoint")]


async def test_events_and_the_change_they_describe_commit_together(db: EventDb) -> None:
    async with transaction(db.sessions) as session:
        conn = await session.connection()
        await conn.execute(db.counters.insert().values(key="c", n=5))
        collect(session, THING_HAPPENED, thing("c"), subject="c")
    assert await db.count("c") == 5
    assert await outbox(db) == [("happened", "c", "")]


# -- misuse is refused at once ---------------------------------------------------------------


async def test_collecting_needs_a_unit_of_work_session_in_a_transaction(db: EventDb) -> None:
    async with PlainAsyncSession(db.engine) as plain:
        with pytest.raises(TypeError, match="create_session_factory"):
            collect(plain, THING_UPDATED, thing("a"), subject="a")  # type: ignore[arg-type]
    async with db.sessions() as session:
        with pytest.raises(RuntimeError, match="inside a transaction"):
            collect(session, THING_UPDATED, thing("a"), subject="a")
    assert await outbox(db) == []


async def test_a_bad_event_in_a_bulk_collect_adds_none_of_them(db: EventDb) -> None:
    async with transaction(db.sessions) as session:
        with pytest.raises(TypeError):
            collect_many(
                session,
                [
                    (THING_UPDATED, thing("ok"), "ok"),
                    (THING_UPDATED, thing("no subject"), uuid.uuid4()),  # type: ignore[list-item]
                ],
            )
    assert await outbox(db) == []
