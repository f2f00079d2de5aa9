"""Read sessions (no transaction, writes refused) and the pool's check of idle connections,
on the real PostgreSQL."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from medley_core.db import (
    ReadOnlyWrite,
    asyncpg_dsn,
    create_read_session_factory,
    driver_connection,
    ping_idle_connections,
    sqlalchemy_url,
)
from medley_core.events.unit_of_work import collect

from .conftest import THING_HAPPENED, EventDb, ThingHappenedV1


async def test_a_read_session_reads_without_a_transaction(db: EventDb) -> None:
    await db.scalar("INSERT INTO counters (key, n) VALUES ('a', 7) RETURNING n")
    reads = create_read_session_factory(db.engine)
    async with reads() as session:
        value = await session.scalar(select(db.counters.c.n).where(db.counters.c.key == "a"))
        driver = await driver_connection(session)
        assert not driver.is_in_transaction()
    assert value == 7


async def test_a_read_session_refuses_writes_and_events(db: EventDb) -> None:
    reads = create_read_session_factory(db.engine)
    async with reads() as session:
        with pytest.raises(ReadOnlyWrite):
            await session.exec(insert(db.counters).values(key="b", n=1))
        with pytest.raises(TypeError):
            collect(session, THING_HAPPENED, ThingHappenedV1(key="b"), subject="b")
    assert await db.count("b") == 0


async def test_an_idle_pooled_connection_the_server_dropped_is_replaced(db: EventDb) -> None:
    engine = create_async_engine(
        sqlalchemy_url(db.admin_url), pool_size=1, max_overflow=0, pool_pre_ping=False
    )
    ping_idle_connections(engine, idle_s=0.0)
    try:
        async with engine.connect() as conn:
            first = await conn.scalar(text("SELECT pg_backend_pid()"))
        admin = await asyncpg.connect(asyncpg_dsn(db.admin_url))
        try:
            await admin.execute("SELECT pg_terminate_backend($1)", first)
        finally:
            await admin.close()
        async with engine.connect() as conn:
            second = await conn.scalar(text("SELECT pg_backend_pid()"))
        assert second != first
    finally:
        await engine.dispose()
