"""Platform benchmarks: events and the gateway, each figure next to a baseline measured in
the same run, as a ratio.

Run with ``make bench`` (never part of ``make test``); the figures are printed (``-s``).
Nothing here fails on a timing: the assertions check that the work was done (counts, status
codes, the servers' configuration), the numbers are for people to read.

1. JetStream durability: what ``sync_interval: always`` (an fsync per write, the
   configuration ARCHITECTURE.md asks for) costs against JetStream's default (a flush every
   two minutes): acked publishes to a file stream on two embedded ``nats-server`` processes
   of ours that differ by that one line, one at a time and pipelined.
2. Outbox: ``collect_many`` (one change set, written by COPY at commit) against ``collect``
   once per transaction, and ``collect`` N times in one transaction; and the relay's drain
   rate (committed outbox row → acked by JetStream) with the real :class:`EventRuntime`,
   against bare ``js.publish`` of the same messages, and on the two embedded servers (what
   ``sync_interval: always`` costs the relay).
3. Gateway overhead: ``GET /api/v1/me`` through the gateway against ``GET /me`` on the users
   service with the same token, and ``/api/v1/catalog/search`` against the catalog's
   ``/search``, over the real processes of ``medley_stack``, sequential and 16 at once.

Every loop is bounded by a count and a time budget; the whole file takes ~2.5 minutes on two
cores. The client shares the machine with the servers, so absolute latencies include the
client's own share of the CPU; the ratios are what carry over.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import asyncpg
import httpx
import nats
import pytest
import pytest_asyncio
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_contracts.envelope import EventEnvelope, EventType, nats_subject, stream_name
from medley_core.db import asyncpg_dsn, create_session_factory, schema_metadata, sqlalchemy_url
from medley_core.events.relay import message_headers
from medley_core.events.runtime import EventRuntime
from medley_core.events.streams import ensure_stream
from medley_core.events.tables import EventTables, event_tables
from medley_core.events.unit_of_work import collect, collect_many
from medley_core.ids import new_id, utcnow
from medley_core.settings import ServiceSettings
from medley_core.testing.tokens import bearer
from medley_local.embedded import EmbeddedNats

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import platform_support as ps  # noqa: E402

pytestmark = [pytest.mark.bench, pytest.mark.timeout(600)]

SCALE = float(os.environ.get("MEDLEY_BENCH_SCALE", "1"))


def scaled(n: int) -> int:
    return max(50, int(n * SCALE))


# -- 1. JetStream durability ------------------------------------------------------------------

PUBLISHES = scaled(5_000)
IN_FLIGHT = 256
PUBLISH_WARMUP = 200
PUBLISH_BUDGET_S = 30.0
MESSAGE_BYTES = 128


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def nats_pair(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[EmbeddedNats, EmbeddedNats]]:
    """Two embedded NATS servers: ``sync_interval: always`` (Medley's) and the default."""
    base = tmp_path_factory.mktemp("bench-nats")
    always = EmbeddedNats(base / "sync-always")
    default = EmbeddedNats(base / "sync-default", sync_always=False)
    async with always, default:
        yield always, default


def small_messages(count: int) -> tuple[list[bytes], list[dict[str, str]]]:
    """``count`` bodies of MESSAGE_BYTES and their ``Nats-Msg-Id`` headers (as Medley sends)."""
    bodies = [
        f'{{"n":{i},"pad":"'.encode().ljust(MESSAGE_BYTES - 2, b"x") + b'"}' for i in range(count)
    ]
    return bodies, [{"Nats-Msg-Id": str(uuid.uuid4())} for _ in range(count)]


async def stream_messages(js: JetStreamContext, name: str) -> int:
    info = await js.stream_info(name)
    return int(info.state.messages)


async def test_jetstream_sync_always_cost(nats_pair: tuple[EmbeddedNats, EmbeddedNats]) -> None:
    always, default = nats_pair
    always_sync = await ps.jetstream_sync(always.monitor_url)
    default_sync = await ps.jetstream_sync(default.monitor_url)
    assert always_sync.sync_always, always_sync
    assert not default_sync.sync_always, default_sync

    runs: dict[tuple[str, str], ps.Run] = {}
    for label, server in (("default", default), ("always", always)):
        nc = await nats.connect(server.url)
        try:
            js = nc.jetstream()
            await js.add_stream(
                StreamConfig(
                    name="BENCH_SYNC",
                    subjects=["bench.sync.>"],
                    storage=StorageType.FILE,
                    duplicate_window=300.0,
                )
            )
            warm_bodies, warm_headers = small_messages(PUBLISH_WARMUP)
            await ps.publish_run(
                js, "bench.sync.warm", warm_bodies, warm_headers, in_flight=32, budget_s=30
            )
            for mode, in_flight in (("sequential", 1), ("pipelined", IN_FLIGHT)):
                bodies, headers = small_messages(PUBLISHES)
                runs[label, mode] = await ps.publish_run(
                    js,
                    f"bench.sync.{mode}",
                    bodies,
                    headers,
                    in_flight=in_flight,
                    budget_s=PUBLISH_BUDGET_S,
                )
            stored = await stream_messages(js, "BENCH_SYNC")
            expected = PUBLISH_WARMUP + sum(
                runs[label, m].count for m in ("sequential", "pipelined")
            )
            assert stored == expected, (label, stored, expected)
        finally:
            await nc.close()

    ps.heading(
        "JetStream durability: sync_interval always vs default (flush every "
        f"{default_sync.sync_interval_s:.0f} s); nats-server {always_sync.version}, file "
        f"stream, {MESSAGE_BYTES} B messages with Nats-Msg-Id, {PUBLISHES:,} acked publishes "
        "per run"
    )
    for mode, what in (("sequential", "one at a time"), ("pipelined", f"{IN_FLIGHT} in flight")):
        fast, safe = runs["default", mode], runs["always", mode]
        ps.report(
            f"publish {what:<14} sync always",
            ps.rate(safe.rate, "msg/s"),
            "default sync",
            ps.rate(fast.rate, "msg/s"),
            ps.ratio(safe.rate, fast.rate),
        )
        for q in (50, 95):
            ps.report(
                f"  ack p{q} {what:<13} sync always",
                f"{ps.ms(safe.percentile_ms(q)):>15}",
                "default sync",
                f"{ps.ms(fast.percentile_ms(q)):>15}",
                ps.ratio(safe.percentile_ms(q), fast.percentile_ms(q)),
            )
        if safe.count < PUBLISHES or fast.count < PUBLISHES:
            print(f"  (budget reached: {safe.count:,} / {fast.count:,} published)")
    # Mean time per acked publish, one at a time: what a publisher waiting for each ack (the
    # outbox relay) pays per event for the fsync.
    safe, fast = runs["always", "sequential"], runs["default", "sequential"]
    added = (safe.elapsed_s / safe.count - fast.elapsed_s / fast.count) * 1000
    print(f"  → an fsync adds ~{added:.2f} ms to each sequential publish on average", flush=True)


# -- 2. Outbox -------------------------------------------------------------------------------

SCHEMA = "benchx"
OUTBOX_EVENTS = scaled(10_000)
# The slow baselines run for a bounded time on the same events; their rate is steady, so a
# few thousand events measure it as well as ten thousand.
BASELINE_BUDGET_S = 10.0
RELAY_EVENTS = scaled(10_000)
RELAY_EVENTS_EMBEDDED = scaled(3_000)
RELAY_WARMUP = 100
RELAY_BUDGET_S = 60.0


class BenchThingV1(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    n: int


BENCH_THING = EventType(f"{SCHEMA}.thing.happened", 1, BenchThingV1)


class BenchSettings(ServiceSettings):
    schema_name: ClassVar[str] = SCHEMA
    service_name: ClassVar[str] = SCHEMA


@dataclass
class OutboxDb:
    admin_url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    tables: EventTables

    async def truncate(self) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(text("TRUNCATE outbox"))

    async def count(self, *, unpublished: bool = False) -> int:
        outbox = self.tables.outbox
        query = select(func.count()).select_from(outbox)
        if unpublished:
            query = query.where(outbox.c.published_at.is_(None))
        async with self.engine.connect() as conn:
            return int(await conn.scalar(query) or 0)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def outbox_db(infra: Any) -> AsyncIterator[OutboxDb]:
    """A throwaway schema holding the event tables, in this session's database."""
    metadata = schema_metadata(SCHEMA)
    tables = event_tables(metadata)
    admin = await asyncpg.connect(asyncpg_dsn(infra.admin_url))
    try:
        await admin.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
        await admin.execute(f'CREATE SCHEMA "{SCHEMA}"')
    finally:
        await admin.close()
    engine = create_async_engine(
        sqlalchemy_url(infra.admin_url),
        pool_size=4,
        connect_args={"server_settings": {"search_path": SCHEMA}},
    )
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    try:
        yield OutboxDb(infra.admin_url, engine, create_session_factory(engine), tables)
    finally:
        await engine.dispose()
        admin = await asyncpg.connect(asyncpg_dsn(infra.admin_url))
        try:
            await admin.execute(f'DROP SCHEMA "{SCHEMA}" CASCADE')
        finally:
            await admin.close()


def pending(count: int, start: int = 0) -> list[tuple[EventType[Any], BaseModel, str]]:
    return [
        (BENCH_THING, BenchThingV1(key=f"k{i}", n=i), f"k{i}") for i in range(start, start + count)
    ]


async def write_bulk(db: OutboxDb, events: list[tuple[EventType[Any], BaseModel, str]]) -> None:
    async with db.sessions() as session, session.begin():
        collect_many(session, events)


async def test_outbox_write_bulk_vs_one_by_one(outbox_db: OutboxDb) -> None:
    db = outbox_db
    events = pending(OUTBOX_EVENTS)

    async def one_per_transaction(i: int) -> None:
        event, payload, subject = events[i]
        async with db.sessions() as session, session.begin():
            collect(session, event, payload, subject=subject)

    # Warm-up: connections, prepared statements, the table's first pages.
    await write_bulk(db, pending(200))
    await ps.sequential(one_per_transaction, 200, budget_s=10)
    await db.truncate()

    began = time.perf_counter()
    await write_bulk(db, events)
    bulk = ps.Run(len(events), time.perf_counter() - began)
    assert await db.count() == len(events)

    await db.truncate()
    one_by_one = await ps.sequential(one_per_transaction, len(events), budget_s=BASELINE_BUDGET_S)
    assert await db.count() == one_by_one.count

    # In between: the loop a handler might write, collect N times in one transaction (the
    # change set is written once at commit, so this should come close to the bulk figure).
    await db.truncate()
    began = time.perf_counter()
    deadline = began + BASELINE_BUDGET_S
    looped_count = 0
    async with db.sessions() as session, session.begin():
        for event, payload, subject in events:
            if time.perf_counter() > deadline:
                break
            collect(session, event, payload, subject=subject)
            looped_count += 1
    looped = ps.Run(looped_count, time.perf_counter() - began)
    assert await db.count() == looped_count
    await db.truncate()
    async with db.engine.connect() as conn:
        durability = ", ".join(
            [
                f"{name}={await conn.scalar(text(f'SHOW {name}'))}"
                for name in ("fsync", "synchronous_commit")
            ]
        )

    ps.heading(
        f"Outbox write: {len(events):,} events into {SCHEMA}.outbox, committed "
        f"(PostgreSQL {durability}); the baselines write for {BASELINE_BUDGET_S:.0f} s each"
    )
    ps.report(
        "outbox write  bulk (collect_many, 1 tx)",
        ps.rate(bulk.rate, "ev/s"),
        "collect, 1 tx each",
        ps.rate(one_by_one.rate, "ev/s"),
        ps.ratio(bulk.rate, one_by_one.rate),
    )
    ps.report(
        "outbox write  bulk (collect_many, 1 tx)",
        ps.rate(bulk.rate, "ev/s"),
        "collect x N in 1 tx",
        ps.rate(looped.rate, "ev/s"),
        ps.ratio(bulk.rate, looped.rate),
    )
    print(
        f"  (bulk: {bulk.elapsed_s * 1000:,.0f} ms; one per transaction: {one_by_one.count:,} "
        f"events, p50 {one_by_one.p50_ms:.2f} ms, p95 {one_by_one.p95_ms:.2f} ms; "
        f"x N in 1 tx: {looped.count:,} events)",
        flush=True,
    )


async def wait_for(condition: Any, *, budget_s: float, what: str) -> None:
    """Poll ``condition()`` every few ms until true; fail after ``budget_s``."""
    deadline = time.perf_counter() + budget_s
    while not condition():
        if time.perf_counter() > deadline:
            raise AssertionError(f"{what}: not within {budget_s:.0f} s")
        await asyncio.sleep(0.002)


async def relay_drain(db: OutboxDb, nats_url: str, prefix: str, count: int) -> ps.Run:
    """Events/s from a committed outbox to acked in JetStream through a real EventRuntime.

    The runtime is running and listening before the events are committed (in one bulk
    transaction); the clock starts at the commit and stops when the relay has had the last
    one acknowledged. Checks that JetStream holds every event and the outbox has none left.
    """
    await db.truncate()
    settings = BenchSettings(
        database_url=db.admin_url,
        nats_url=nats_url,
        event_prefix=prefix,
        relay_poll_interval_s=1.0,
        log_json=False,
    )
    runtime = EventRuntime(settings, db.sessions, {}, publishes=True)
    relay = runtime.relay
    assert relay is not None
    await runtime.start()
    try:
        await wait_for(
            lambda: runtime.nats_connected and relay.listening, budget_s=20, what="relay ready"
        )
        # Warm-up: the stream exists, the relay's statements are prepared.
        await write_bulk(db, pending(RELAY_WARMUP, start=10_000_000))
        await wait_for(lambda: relay.published >= RELAY_WARMUP, budget_s=20, what="warm-up")

        await write_bulk(db, pending(count))
        began = time.perf_counter()
        target = RELAY_WARMUP + count
        await wait_for(
            lambda: relay.published >= target, budget_s=RELAY_BUDGET_S, what="relay drain"
        )
        elapsed = time.perf_counter() - began
        # Acked is what is timed; the relay marks the last batch sent right after (untimed).
        marked = 0

        async def all_marked() -> bool:
            nonlocal marked
            marked = await db.count(unpublished=True)
            return marked == 0

        deadline = time.perf_counter() + 20
        while not await all_marked():
            assert time.perf_counter() < deadline, f"{marked} events not marked sent"
            await asyncio.sleep(0.01)
        stored = await stream_messages(runtime.js, stream_name(SCHEMA, prefix))
        assert stored == target, (stored, target)
        assert relay.duplicates == 0
    finally:
        await runtime.stop()
    return ps.Run(count, elapsed)


def envelopes(count: int) -> tuple[list[bytes], list[dict[str, str]]]:
    """The relay's messages for ``count`` events, built as the relay builds them."""
    when = utcnow()
    bodies, headers = [], []
    for i in range(count):
        event_id = new_id()
        envelope = EventEnvelope(
            id=event_id,
            type=BENCH_THING.name,
            version=1,
            source=SCHEMA,
            occurred_at=when,
            subject=f"k{i}",
            data=BenchThingV1(key=f"k{i}", n=i).model_dump(mode="json"),
        )
        bodies.append(envelope.model_dump_json().encode())
        headers.append(message_headers(event_id, {}))
    return bodies, headers


async def bare_publish(nats_url: str, prefix: str, count: int, in_flight: int) -> ps.Run:
    """The relay's messages published straight to JetStream, no database: its ceiling."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_stream(js, SCHEMA, prefix)
        subject = nats_subject(BENCH_THING.name, prefix)
        warm_bodies, warm_headers = envelopes(RELAY_WARMUP)
        await ps.publish_run(js, subject, warm_bodies, warm_headers, in_flight=1, budget_s=20)
        bodies, headers = envelopes(count)
        run = await ps.publish_run(
            js, subject, bodies, headers, in_flight=in_flight, budget_s=RELAY_BUDGET_S
        )
        assert await stream_messages(js, stream_name(SCHEMA, prefix)) == RELAY_WARMUP + run.count
        return run
    finally:
        await nc.close()


async def test_outbox_relay_drain_rate(
    outbox_db: OutboxDb, infra: Any, nats_pair: tuple[EmbeddedNats, EmbeddedNats]
) -> None:
    db = outbox_db
    relay = await relay_drain(db, infra.nats_url, infra.event_namespace("brelay"), RELAY_EVENTS)
    bare_seq = await bare_publish(infra.nats_url, infra.event_namespace("bseq"), RELAY_EVENTS, 1)
    bare_pipe = await bare_publish(
        infra.nats_url, infra.event_namespace("bpipe"), RELAY_EVENTS, IN_FLIGHT
    )
    always, default = nats_pair
    on_default = await relay_drain(db, default.url, "bench_default", RELAY_EVENTS_EMBEDDED)
    on_always = await relay_drain(db, always.url, "bench_always", RELAY_EVENTS_EMBEDDED)
    # What the server itself persists with an fsync per write: the relay's ceiling there.
    ceiling_always = await bare_publish(always.url, "bench_ceiling", RELAY_EVENTS_EMBEDDED, 1000)

    nc = await nats.connect(infra.nats_url)
    server = nc.connected_server_version
    version = f"{server.major}.{server.minor}.{server.patch}"
    await nc.close()
    ps.heading(
        "Outbox relay drain: committed outbox → acked in JetStream (EventRuntime, batches of "
        f"500 pipelined, 2 passes); {RELAY_EVENTS:,} events on the session's NATS {version}"
    )
    ps.report(
        "relay drain   session NATS",
        ps.rate(relay.rate, "ev/s"),
        "bare js.publish, sequential",
        ps.rate(bare_seq.rate, "ev/s"),
        ps.ratio(relay.rate, bare_seq.rate),
    )
    ps.report(
        "relay drain   session NATS",
        ps.rate(relay.rate, "ev/s"),
        f"bare js.publish, {IN_FLIGHT} in flight",
        ps.rate(bare_pipe.rate, "ev/s"),
        ps.ratio(relay.rate, bare_pipe.rate),
    )
    print(
        f"  {RELAY_EVENTS_EMBEDDED:,} events on the embedded nats-server pair of benchmark 1:",
        flush=True,
    )
    ps.report(
        "relay drain   embedded, sync always",
        ps.rate(on_always.rate, "ev/s"),
        "embedded, default sync",
        ps.rate(on_default.rate, "ev/s"),
        ps.ratio(on_always.rate, on_default.rate),
    )
    ps.report(
        "relay drain   embedded, sync always",
        ps.rate(on_always.rate, "ev/s"),
        "bare js.publish 1000 in flight",
        ps.rate(ceiling_always.rate, "ev/s"),
        ps.ratio(on_always.rate, ceiling_always.rate),
    )


# -- 2b. Outbox → consumer latency -----------------------------------------------------------

E2E_EVENTS = scaled(10_000)
E2E_RATE = float(os.environ.get("MEDLEY_BENCH_E2E_RATE", "1000"))  # events/s written
E2E_TX_EVENTS = 20  # events per writing transaction
E2E_BUDGET_S = 60.0


async def outbox_to_consumer(db: OutboxDb, nats_url: str, prefix: str, count: int) -> ps.Run:
    """Per event: from its transaction's commit to its handler running in a consumer, with
    events written at :data:`E2E_RATE` in transactions of :data:`E2E_TX_EVENTS` (a service
    under steady load), through a real EventRuntime that relays and consumes."""
    await db.truncate()
    settings = BenchSettings(
        database_url=db.admin_url,
        nats_url=nats_url,
        event_prefix=prefix,
        relay_poll_interval_s=1.0,
        log_json=False,
    )
    committed: dict[str, float] = {}
    handled: dict[str, float] = {}
    all_handled = asyncio.Event()

    async def handle(_session: Any, envelope: Any) -> None:
        handled.setdefault(envelope.data["key"], time.perf_counter())
        if len(handled) >= RELAY_WARMUP + count:
            all_handled.set()

    runtime = EventRuntime(settings, db.sessions, {BENCH_THING.name: handle}, publishes=True)
    relay = runtime.relay
    assert relay is not None
    await runtime.start()
    try:
        await wait_for(
            lambda: runtime.nats_connected and relay.listening, budget_s=20, what="relay ready"
        )
        warm = pending(RELAY_WARMUP, start=20_000_000)
        await write_bulk(db, warm)
        await wait_for(lambda: len(handled) >= RELAY_WARMUP, budget_s=30, what="warm-up")
        began = time.perf_counter()
        for start in range(0, count, E2E_TX_EVENTS):
            batch = pending(min(E2E_TX_EVENTS, count - start), start=start)
            await write_bulk(db, batch)
            now = time.perf_counter()
            committed.update((subject, now) for _e, _p, subject in batch)
            # Pace to the rate: the next transaction when its events are due.
            due = began + (start + E2E_TX_EVENTS) / E2E_RATE
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
        deadline = time.perf_counter() + E2E_BUDGET_S
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_handled.wait(), E2E_BUDGET_S)
        elapsed = time.perf_counter() - began
    finally:
        await runtime.stop()
    # An event not consumed within the budget counts as an error (and as the budget in the
    # percentiles: it took at least that long).
    latencies = [handled.get(key, deadline) - at for key, at in committed.items()]
    run = ps.Run(len(latencies), elapsed, latencies)
    run.errors = len(committed.keys() - handled.keys())
    return run


async def test_outbox_to_consumer_latency(
    outbox_db: OutboxDb, infra: Any, nats_pair: tuple[EmbeddedNats, EmbeddedNats]
) -> None:
    always, default = nats_pair
    runs = {
        "session NATS": await outbox_to_consumer(
            outbox_db, infra.nats_url, infra.event_namespace("be2e"), E2E_EVENTS
        ),
        "embedded, sync always": await outbox_to_consumer(
            outbox_db, always.url, "bench_e2e_always", E2E_EVENTS
        ),
        "embedded, default sync": await outbox_to_consumer(
            outbox_db, default.url, "bench_e2e_default", E2E_EVENTS
        ),
    }
    ps.heading(
        f"Outbox → consumer: {E2E_EVENTS:,} events written at {E2E_RATE:,.0f} ev/s in "
        f"transactions of {E2E_TX_EVENTS}, commit → handler (EventRuntime relaying and "
        "consuming)"
    )
    for name, run in runs.items():
        assert run.count == E2E_EVENTS
        late = f", {run.errors:,} not consumed within {E2E_BUDGET_S:.0f} s" if run.errors else ""
        print(
            f"  {name:<24} p50 {ps.ms(run.p50_ms)}  p99 {ps.ms(run.percentile_ms(99))}  "
            f"max {ps.ms(run.percentile_ms(100))}  ({run.rate:,.0f} ev/s end to end{late})",
            flush=True,
        )


# -- 3. Gateway overhead ---------------------------------------------------------------------

HTTP_REQUESTS = scaled(2_000)
HTTP_CONCURRENCY = 16
HTTP_WARMUP = 100
HTTP_ROUNDS = 4
# Per round and side: each figure gets at most HTTP_ROUNDS x this many seconds; on a loaded
# two-core machine the budget, not the count, is what usually ends a round.
HTTP_ROUND_BUDGET_S = 2.0
SEARCH_QUERY = "nigth drive"  # a typo on purpose: the search is typo-tolerant
PASSWORD = "correct horse battery staple"


async def account_token(client: httpx.AsyncClient, gateway: str, username: str) -> str:
    """Register ``username`` through the gateway (if new), log in, return the access token."""
    account = {"username": username, "email": f"{username}@example.com", "password": PASSWORD}
    registered = await client.post(f"{gateway}/api/v1/auth/register", json=account)
    assert registered.status_code in (201, 409), registered.text
    login = await client.post(
        f"{gateway}/api/v1/auth/login", json={"login": username, "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    token: str = login.json()["access_token"]
    return token


async def seed_catalog(client: httpx.AsyncClient, gateway: str, admin: dict[str, str]) -> int:
    """A small catalog to search: 9 artists, 30 albums, 150 tracks; returns the tracks."""
    base = f"{gateway}/api/v1/admin/catalog"
    words = ["Night", "Drive", "Midnight", "Love", "City", "Lights", "Ocean", "Fire", "Dream"]

    async def create(kind: str, body: dict[str, Any]) -> str:
        response = await client.post(f"{base}/{kind}", json=body, headers=admin)
        assert response.status_code == 201, response.text
        created: str = response.json()["id"]
        return created

    artists = [await create("artists", {"name": f"The {w} Owls {i}"}) for i, w in enumerate(words)]
    albums = []
    for i in range(30):
        artist = artists[i % len(artists)]
        title = f"{words[i % 9]} {words[(i * 4 + 1) % 9]} Sessions"
        albums.append(
            (artist, await create("albums", {"title": title, "credits": [{"artist_id": artist}]}))
        )
    sem = asyncio.Semaphore(8)

    async def track(i: int) -> None:
        artist, album = albums[i % len(albums)]
        title = f"{words[i % 9]} {words[(i * 7 + 2) % 9]} {i}"
        async with sem:
            await create(
                "tracks",
                {
                    "title": title,
                    "credits": [{"artist_id": artist}],
                    "album_id": album,
                    "duration_ms": 180_000 + i,
                },
            )

    await asyncio.gather(*(track(i) for i in range(150)))
    return 150


async def compare(
    client: httpx.AsyncClient,
    label: str,
    through_gateway: str,
    direct: str,
    *,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> None:
    """Warm both paths, then measure gateway vs direct, sequential and concurrent."""
    for url in (through_gateway, direct):
        warm = await ps.http_run(
            client, url, count=HTTP_WARMUP, in_flight=4, budget_s=30, headers=headers, params=params
        )
        assert warm.errors == 0, (url, warm.errors)

    for mode, in_flight in (("sequential", 1), (f"{HTTP_CONCURRENCY} at once", HTTP_CONCURRENCY)):

        async def side(url: str, n: int, in_flight: int = in_flight) -> ps.Run:
            return await ps.http_run(
                client,
                url,
                count=n,
                in_flight=in_flight,
                budget_s=HTTP_ROUND_BUDGET_S,
                headers=headers,
                params=params,
            )

        gateway_run, direct_run = await ps.alternating(
            lambda n: side(through_gateway, n),
            lambda n: side(direct, n),
            count=HTTP_REQUESTS,
            rounds=HTTP_ROUNDS,
        )
        assert gateway_run.errors == 0
        assert direct_run.errors == 0
        ps.report(
            f"{label:<14} {mode:<12} req/s gateway",
            ps.rate(gateway_run.rate, "req/s"),
            "direct",
            ps.rate(direct_run.rate, "req/s"),
            ps.ratio(gateway_run.rate, direct_run.rate),
        )
        for q in (50, 95):
            ps.report(
                f"{label:<14} {mode:<12}   p{q} gateway",
                f"{ps.ms(gateway_run.percentile_ms(q)):>15}",
                "direct",
                f"{ps.ms(direct_run.percentile_ms(q)):>15}",
                ps.ratio(gateway_run.percentile_ms(q), direct_run.percentile_ms(q)),
            )
        added = gateway_run.p50_ms - direct_run.p50_ms
        print(
            f"  {'':<14} {mode:<12}   gateway adds {added:.2f} ms at p50 "
            f"({gateway_run.count:,} requests through the gateway, {direct_run.count:,} direct)",
            flush=True,
        )


async def test_gateway_overhead(medley_stack: Any) -> None:
    gateway = medley_stack.gateway_url
    assert gateway is not None
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        token = await account_token(client, gateway, f"bench-{uuid.uuid4().hex[:10]}")
        headers = bearer(token)
        me_gateway = f"{gateway}/api/v1/me"
        me_direct = f"{medley_stack.users_url}/me"
        via = (await client.get(me_gateway, headers=headers)).json()
        direct = (await client.get(me_direct, headers=headers)).json()
        assert via["id"] == direct["id"], (via, direct)

        ps.heading(
            f"Gateway overhead: up to {HTTP_REQUESTS:,} requests (or {HTTP_ROUNDS} x "
            f"{HTTP_ROUND_BUDGET_S:.0f} s) per figure, in {HTTP_ROUNDS} rounds alternating with "
            "the direct call; keep-alive, loopback, same token"
        )
        await compare(client, "GET /me", me_gateway, me_direct, headers=headers)

        catalog = medley_stack.service_urls.get("catalog")
        if catalog is None:
            print("  (no catalog in the stack: search not measured)", flush=True)
            return
        from medley_local.pytest_plugin import E2E_ADMIN

        admin = bearer(await account_token(client, gateway, E2E_ADMIN))
        tracks = await seed_catalog(client, gateway, admin)
        params = {"q": SEARCH_QUERY}
        found = await client.get(f"{gateway}/api/v1/catalog/search", params=params)
        assert found.status_code == 200, found.text
        assert found.json()["items"], found.text
        direct_found = await client.get(f"{catalog}/search", params=params)
        assert direct_found.json()["items"] == found.json()["items"]
        print(f"  search q={SEARCH_QUERY!r} over {tracks} tracks, 30 albums, 9 artists:")
        await compare(
            client,
            "GET search",
            f"{gateway}/api/v1/catalog/search",
            f"{catalog}/search",
            params=params,
        )


# -- 4. Authenticated reads under wrk -----------------------------------------------------------

WRK_CONNECTIONS = 50
WRK_ROUND_S = float(os.environ.get("MEDLEY_BENCH_WRK_ROUND_S", "5"))
WRK_ROUNDS = 2


async def start_bare_read_app(database_url: str, schema: str, log: Any) -> tuple[Any, str]:
    """The baseline app (``bare_read_app.py``) as a uvicorn process like the services'."""
    from medley_local.processes import Child, await_http_ready, free_port, uvicorn_argv

    port = free_port()
    argv = [*uvicorn_argv("bare_read_app:create_app", "127.0.0.1", port), "--app-dir", HERE]
    env = {**os.environ, "BENCH_BARE_DSN": asyncpg_dsn(database_url), "BENCH_BARE_SCHEMA": schema}
    child = Child.start("bare-read", argv, env=env, sink=log)
    url = f"http://127.0.0.1:{port}"
    await await_http_ready(child, f"{url}/health", limit=60)
    return child, url


async def test_authenticated_read_vs_bare(
    medley_stack: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """users ``GET /me`` against a bare Litestar + asyncpg endpoint reading the same row, and
    the gateway's ``GET /api/v1/me`` against the direct call: ``wrk``, 50 connections."""
    gateway = medley_stack.gateway_url
    assert gateway is not None
    async with httpx.AsyncClient(timeout=30) as client:
        token = await account_token(client, gateway, f"wrk-{uuid.uuid4().hex[:10]}")
        headers = bearer(token)
        me = (await client.get(f"{medley_stack.users_url}/me", headers=headers)).json()
        log = (tmp_path_factory.mktemp("bare-read") / "bare.log").open("w", buffering=1)
        child, bare_url = await start_bare_read_app(
            medley_stack.database_urls["users"], "users", log
        )
        try:
            bare = (await client.get(f"{bare_url}/users/{me['id']}")).json()
            assert bare["id"] == me["id"], (bare, me)
            assert bare["username"] == me["username"], (bare, me)
            sides: dict[str, tuple[str, dict[str, str] | None]] = {
                "bare": (f"{bare_url}/users/{me['id']}", None),
                "direct": (f"{medley_stack.users_url}/me", headers),
                "gateway": (f"{gateway}/api/v1/me", headers),
                "health": (f"{medley_stack.users_url}/health", None),
            }
            pid = {child.name: child.pid for child in medley_stack.children}
            runs, cpu_ms = await ps.wrk_alternating(
                sides,
                connections=WRK_CONNECTIONS,
                round_s=WRK_ROUND_S,
                rounds=WRK_ROUNDS,
                servers={
                    "bare": [child.pid],
                    "direct": [pid["users"]],
                    "gateway": [pid["gateway"], pid["users"]],
                },
            )
        finally:
            await child.astop()
            log.close()
    for name, run in runs.items():
        assert run.non_2xx == 0, (name, run)
        assert run.socket_errors == 0, (name, run)
        assert run.requests > 0, (name, run)
    ps.heading(
        f"Authenticated reads: wrk, {WRK_CONNECTIONS} connections, {WRK_ROUNDS} alternating "
        f"rounds of {WRK_ROUND_S:.0f} s per side, keep-alive, loopback, same token"
    )
    bare, direct, via, health = runs["bare"], runs["direct"], runs["gateway"], runs["health"]
    ps.report(
        "users GET /me direct",
        ps.rate(direct.rate, "req/s"),
        "bare Litestar+asyncpg read",
        ps.rate(bare.rate, "req/s"),
        ps.ratio(direct.rate, bare.rate),
    )
    ps.report(
        "gateway GET /api/v1/me",
        ps.rate(via.rate, "req/s"),
        "users GET /me direct",
        ps.rate(direct.rate, "req/s"),
        ps.ratio(via.rate, direct.rate),
    )
    ps.report(
        "users GET /health",
        ps.rate(health.rate, "req/s"),
        "bare Litestar+asyncpg read",
        ps.rate(bare.rate, "req/s"),
        ps.ratio(health.rate, bare.rate),
    )
    for name, run in (("bare", bare), ("direct", direct), ("gateway", via), ("health", health)):
        cpu = f"  server CPU {cpu_ms[name]:.2f} ms/request" if name in cpu_ms else ""
        print(
            f"  {name:<8} p50 {ps.ms(run.p50_ms)}  p99 {ps.ms(run.p99_ms)}  "
            f"({run.requests:,} requests){cpu}",
            flush=True,
        )
    print(
        "  (server CPU per request: the users process for direct, gateway + users for the "
        "gateway; a ratio of CPU costs holds up better than requests/s on a loaded machine)",
        flush=True,
    )
