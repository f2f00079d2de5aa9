"""One row by primary key without a session (:class:`medley_core.rows.RowReads`), on the real
PostgreSQL: the same instance a read session's ``get`` leaves, cheaper."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from sqlalchemy import Column, DateTime, Numeric, String, Text, event, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import object_session
from sqlalchemy.orm.attributes import instance_state
from sqlmodel import Field, SQLModel

from medley_core.db import (
    asyncpg_dsn,
    create_read_session_factory,
    schema_metadata,
    sqlalchemy_url,
)
from medley_core.rows import RowReads

from .conftest import EventDb

SCHEMA = f"rows_{uuid.uuid4().hex[:10]}"


class RowsModel(SQLModel):
    metadata = schema_metadata(SCHEMA)


class Account(RowsModel, table=True):
    __tablename__ = "accounts"

    id: uuid.UUID = Field(primary_key=True)
    username: str = Field(sa_column=Column(String(32), nullable=False))
    nickname: str | None = Field(default=None, sa_column=Column("nick", Text, nullable=True))
    roles: list[str] = Field(sa_column=Column(ARRAY(Text), nullable=False))
    settings: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    balance: Decimal = Field(sa_column=Column(Numeric(10, 2), nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class Pair(RowsModel, table=True):
    __tablename__ = "pairs"

    left: int = Field(primary_key=True)
    right: int = Field(primary_key=True)


@pytest.fixture
async def engine(event_db: EventDb) -> AsyncIterator[AsyncEngine]:
    """An engine on a schema of its own holding ``accounts``, with a pool of two."""
    admin = await asyncpg.connect(asyncpg_dsn(event_db.admin_url))
    await admin.execute(f'CREATE SCHEMA "{SCHEMA}"')
    await admin.close()
    engine = create_async_engine(sqlalchemy_url(event_db.admin_url), pool_size=2, max_overflow=10)
    async with engine.begin() as conn:
        await conn.run_sync(RowsModel.metadata.create_all)
    try:
        yield engine
    finally:
        await engine.dispose()
        admin = await asyncpg.connect(asyncpg_dsn(event_db.admin_url))
        await admin.execute(f'DROP SCHEMA "{SCHEMA}" CASCADE')
        await admin.close()


async def _account(engine: AsyncEngine, **values: Any) -> uuid.UUID:
    ident = uuid.uuid4()
    row = {
        "id": ident,
        "username": "ada",
        "nick": None,
        "roles": ["user", "admin"],
        "settings": {"theme": "dark", "sizes": [1, 2]},
        "balance": Decimal("12.50"),
        "created_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        **values,
    }
    async with engine.begin() as conn:
        await conn.execute(Account.__table__.insert().values(**row))  # type: ignore[attr-defined]
    return ident


async def test_a_row_is_what_a_read_session_get_leaves(engine: AsyncEngine) -> None:
    ident = await _account(engine, nick="Countess")
    row = await RowReads(engine).get(Account, ident)
    async with create_read_session_factory(engine)() as session:
        loaded = await session.get(Account, ident)
    assert isinstance(row, Account)
    assert loaded is not None
    assert row.model_dump() == loaded.model_dump()
    assert row.nickname == "Countess"  # the attribute, though the column is "nick"
    assert row.settings == {"theme": "dark", "sizes": [1, 2]}
    assert row.balance == Decimal("12.50")
    assert row.roles == ["user", "admin"]
    assert row.created_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    # Detached with its identity, as a closed session leaves what it loaded: nothing pending.
    state, loaded_state = instance_state(row), instance_state(loaded)
    assert state.detached
    assert loaded_state.detached
    assert state.key == loaded_state.key
    assert not state.modified
    assert object_session(row) is None


async def test_a_missing_row_is_none(engine: AsyncEngine) -> None:
    await _account(engine)
    assert await RowReads(engine).get(Account, uuid.uuid4()) is None


async def test_a_null_column_reads_as_none(engine: AsyncEngine) -> None:
    ident = await _account(engine, nick=None)
    row = await RowReads(engine).get(Account, ident)
    assert row is not None
    assert row.nickname is None


async def test_a_model_with_a_composite_key_is_refused(engine: AsyncEngine) -> None:
    with pytest.raises(TypeError, match="one-column key"):
        await RowReads(engine).get(Pair, (1, 2))


async def test_reads_never_open_more_connections_than_the_pool_keeps(
    engine: AsyncEngine,
) -> None:
    ident = await _account(engine)
    await engine.dispose()  # start from no connection at all
    opened: list[object] = []
    event.listen(engine.sync_engine, "connect", lambda conn, _record: opened.append(conn))
    rows = RowReads(engine)
    found = await asyncio.gather(*(rows.get(Account, ident) for _ in range(40)))
    assert all(row is not None and row.id == ident for row in found)
    assert 1 <= len(opened) <= 2  # the pool's size; its overflow (10) is never used


async def test_a_connection_the_server_dropped_is_not_pooled_again(
    engine: AsyncEngine, event_db: EventDb
) -> None:
    ident = await _account(engine)
    rows = RowReads(engine)
    pid_sql = "SELECT pg_backend_pid()"
    first = await rows.fetchrow(pid_sql)
    second = await rows.fetchrow(pid_sql)
    assert first is not None
    assert second is not None
    # Both pooled connections are dropped by the server.
    admin = await asyncpg.connect(asyncpg_dsn(event_db.admin_url))
    try:
        async with engine.connect() as conn:
            pids = {first[0], second[0], await conn.scalar(text(pid_sql))}
        for pid in pids:
            await admin.execute("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()
    failures: list[BaseException] = []
    for _ in range(4):
        try:
            assert (await rows.get(Account, ident)) is not None
        except (
            asyncpg.InterfaceError,
            asyncpg.InternalClientError,
            asyncpg.PostgresError,
            OSError,
        ) as exc:
            failures.append(exc)
    # At most each dropped connection fails once; then reads are served by new ones.
    assert len(failures) <= 2, failures
    assert (await rows.get(Account, ident)) is not None
