"""The outbox relay: moves committed events from a service's outbox to JetStream.

It wakes on ``NOTIFY <schema>_outbox`` (sent by the outbox write at commit) and also
polls, so a missed notification (relay restarting, LISTEN connection dropped) only delays
an event, never strands it. Rows are claimed with ``FOR UPDATE SKIP LOCKED``: several
replicas can relay side by side, each publishing a different batch. A row is marked sent in
the transaction that claimed it, after JetStream acknowledged it; it is published with
``Nats-Msg-Id`` = event id, so a republish after a crash between the two is dropped by the
stream's duplicate window (and by the consumers' inboxes beyond it).

Events of one subject (one entity) reach the stream in the order they were written, which
the consumers rely on (a track created, then renamed, then merged). The passes of a relay
and the relays of several replicas each hold some of 16 shares of the subjects per batch (a
hash partition, held with advisory locks), so no two publishers interleave a subject;
within a batch a subject's events go out one wave after another, and an event JetStream
refuses holds its subject's later events back until it is sent.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg
from nats.aio.client import Client as NATS
from nats.js.errors import APIError, NoStreamResponseError
from opentelemetry.trace import SpanKind
from sqlalchemy import ColumnElement, Integer, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_contracts.envelope import EventEnvelope, context_of, nats_subject
from medley_core import tracing
from medley_core.aio import cancel_and_wait, wait_event
from medley_core.db import asyncpg_dsn
from medley_core.events.outbox import notify_channel
from medley_core.events.streams import ensure_stream
from medley_core.events.tables import tables_for
from medley_core.settings import ServiceSettings

log = logging.getLogger("medley.events.relay")

MSG_ID_HEADER = "Nats-Msg-Id"
# Headers captured at write time that travel with the message.
PROPAGATED_HEADERS = ("X-Request-ID", "traceparent")

LISTEN_KEEPALIVE_S = 30.0
LISTEN_RECONNECT_MAX_S = 10.0
PUBLISHED_RETENTION = timedelta(days=7)
PRUNE_EVERY_S = 3600.0
PRUNE_BATCH = 10_000
MAX_ERROR_CHARS = 2000
DRAIN_PASSES = 2
# Subjects are spread over this many shares; a batch holds at most a quarter of them, so
# both passes of two replicas' relays can hold shares at once.
SUBJECT_SHARES = 16
SHARES_PER_BATCH = SUBJECT_SHARES // 4
# How many of the oldest unpublished events a batch is chosen from (a batch takes those of
# its shares: about a quarter).
SHARE_CANDIDATES = 2000
TAKE_SHARES = text(
    "SELECT s FROM unnest(CAST(:shares AS int[])) AS s "
    "WHERE pg_try_advisory_xact_lock(hashtext(:key), s) LIMIT :most"
)


def subject_share(subject: ColumnElement[str]) -> ColumnElement[int]:
    """Which of the ``SUBJECT_SHARES`` a subject belongs to (a stable hash)."""
    hashed = func.hashtext(subject).op("&", return_type=Integer)(0x7FFFFFFF)
    return hashed % SUBJECT_SHARES


def publication_waves(rows: Sequence[Mapping[Any, Any]]) -> list[list[Mapping[Any, Any]]]:
    """Rows in claim order, split into waves: a subject's n-th row goes in wave n.

    A wave is published with every publish in flight at once; the next wave starts when
    its acks are back, so a subject's events reach the stream in order.
    """
    waves: list[list[Mapping[Any, Any]]] = []
    seen: dict[str, int] = {}
    for row in rows:
        wave = seen.get(row["subject"], 0)
        seen[row["subject"]] = wave + 1
        if wave == len(waves):
            waves.append([])
        waves[wave].append(row)
    return waves


@dataclass(frozen=True)
class BatchOutcome:
    """What one claim-and-publish pass did."""

    claimed: int
    published: int
    # NATS unreachable or failing (back off), or only some events refused by JetStream.
    failed: bool
    refused: bool


def build_envelope(row: Mapping[Any, Any], source: str) -> EventEnvelope:
    """The envelope of an outbox row."""
    return EventEnvelope(
        id=row["id"],
        type=row["type"],
        version=row["version"],
        source=source,
        occurred_at=row["occurred_at"],
        subject=row["subject"],
        data=row["data"],
    )


def message_headers(event_id: uuid.UUID, stored: Mapping[str, Any] | None) -> dict[str, str]:
    """NATS headers of an event: its id for de-duplication, the writer's request context."""
    headers = {MSG_ID_HEADER: str(event_id)}
    for name in PROPAGATED_HEADERS:
        value = (stored or {}).get(name)
        if isinstance(value, str) and value:
            headers[name] = value
    return headers


class OutboxRelay:
    """Publishes one service's outbox. Safe to run in every replica at once."""

    def __init__(
        self,
        settings: ServiceSettings,
        sessions: async_sessionmaker[AsyncSession],
        nc: NATS,
        *,
        batch_size: int = 100,
        retry_base_s: float = 0.5,
        retry_cap_s: float = 30.0,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.nc = nc
        self.js = nc.jetstream()
        self.batch_size = batch_size
        self.retry_base_s = retry_base_s
        self.retry_cap_s = retry_cap_s
        self.outbox = tables_for(settings.schema_name).outbox
        self.channel = notify_channel(settings.schema_name)
        self.share_lock_key = f"{settings.schema_name}.outbox-relay"
        self.source = settings.service_name
        # How many events this relay got JetStream to store (duplicates excluded), and how
        # many JetStream reported as duplicates: what tests and metrics look at.
        self.published = 0
        self.duplicates = 0
        self.listening = False
        self._wake = asyncio.Event()
        self._last_prune = time.monotonic()

    def wake(self) -> None:
        """Look at the outbox now (a notification arrived, NATS came back)."""
        self._wake.set()

    async def run(self) -> None:
        """Relay until cancelled: drain on every wake-up and every poll interval."""
        listener = asyncio.create_task(self._listen(), name=f"{self.source}-outbox-listen")
        failures = 0
        try:
            while True:
                self._wake.clear()
                try:
                    ok = await self.drain()
                except Exception:
                    log.exception("outbox relay pass failed")
                    ok = False
                if ok:
                    failures = 0
                    await wait_event(self._wake, self.settings.relay_poll_interval_s)
                    await self._maybe_prune()
                else:
                    # Back off; a notification does not cut it short (NATS is likely down,
                    # retrying on every commit would only hammer it).
                    failures += 1
                    await asyncio.sleep(
                        min(self.retry_base_s * 2 ** (failures - 1), self.retry_cap_s)
                    )
        finally:
            await cancel_and_wait([listener])

    async def drain(self) -> bool:
        """Publish until the outbox is empty; False if a publish failed (back off).

        Two passes run side by side, each holding its own shares of the subjects, so one
        batch is claimed and marked in PostgreSQL while the other is in flight to JetStream.
        """
        # Subjects with an event JetStream refused in this drain: their events wait for the
        # next drain (the refused one first), and do not stand in the others' way.
        held_back: set[str] = set()
        results = await asyncio.gather(*(self._drain_pass(held_back) for _ in range(DRAIN_PASSES)))
        return all(results)

    async def _drain_pass(self, held_back: set[str]) -> bool:
        refused = False
        while True:
            outcome = await self.publish_batch(held_back)
            if outcome.failed:
                return False  # NATS unreachable or failing: stop, back off
            refused = refused or outcome.refused
            if outcome.claimed == 0:
                return not refused

    async def publish_batch(self, held_back: set[str] | None = None) -> BatchOutcome:
        """Claim up to ``batch_size`` of the oldest unpublished rows in shares of the
        subjects this transaction could lock, publish them, mark the acknowledged ones,
        commit.

        The shares are held with transaction-scoped advisory locks (at most
        ``SHARES_PER_BATCH``): no two publishers have events of one subject in flight at
        once, whichever pass or replica they run in.
        """
        if held_back is None:
            held_back = set()
        if not self.nc.is_connected:
            # Nothing can go out; the events wait in the outbox, the runtime wakes us on
            # reconnect. Not a failure: no backoff needed.
            return BatchOutcome(claimed=0, published=0, failed=False, refused=False)
        outbox = self.outbox
        async with self.sessions() as session, session.begin():
            conn = await session.connection()
            taken = await self._take_shares(conn, held_back)
            if taken is None:
                return BatchOutcome(claimed=0, published=0, failed=False, refused=False)
            shares, last_id = taken
            rows = (
                (
                    await conn.execute(
                        select(outbox)
                        .where(outbox.c.published_at.is_(None))
                        .where(outbox.c.id <= last_id)
                        .where(subject_share(outbox.c.subject).in_(shares))
                        .where(outbox.c.subject.not_in(list(held_back)))
                        .order_by(outbox.c.id)
                        .limit(self.batch_size)
                        .with_for_update(skip_locked=True)
                    )
                )
                .mappings()
                .all()
            )
            sent, failures = await self._publish_in_waves(rows, held_back)
            for row, exc in failures:
                await conn.execute(
                    update(outbox)
                    .where(outbox.c.id == row["id"])
                    .values(attempts=outbox.c.attempts + 1, last_error=exc.error[:MAX_ERROR_CHARS])
                )
            # NATS unreachable or failing: back off rather than retry at once.
            failed = any(exc.transport for _row, exc in failures)
            refused = any(not exc.transport for _row, exc in failures)
            if sent:
                await conn.execute(
                    update(outbox)
                    .where(outbox.c.id.in_(sent))
                    .values(published_at=func.now(), last_error=None)
                )
        if rows:
            log.debug("relayed %d of %d claimed events", len(sent), len(rows))
        return BatchOutcome(claimed=len(rows), published=len(sent), failed=failed, refused=refused)

    async def _take_shares(
        self, conn: AsyncConnection, held_back: set[str]
    ) -> tuple[list[int], uuid.UUID] | None:
        """Lock shares of the oldest unpublished events: the shares this transaction now
        holds, and the newest of the events looked at (the batch is taken up to it).

        The oldest ``SHARE_CANDIDATES`` events are looked at, their shares tried in the
        order they first appear, and the locks of the first ``SHARES_PER_BATCH`` free ones
        taken (``unnest`` yields in order and LIMIT ends the tries: no lock is taken
        beyond). None when no share with work is free.
        """
        outbox = self.outbox
        candidates = (
            await conn.execute(
                select(outbox.c.id, subject_share(outbox.c.subject))
                .where(outbox.c.published_at.is_(None))
                .where(outbox.c.subject.not_in(list(held_back)))
                .order_by(outbox.c.id)
                .limit(SHARE_CANDIDATES)
            )
        ).all()
        if not candidates:
            return None
        in_order = list(dict.fromkeys(int(share) for _id, share in candidates))
        held = list(
            (
                await conn.execute(
                    TAKE_SHARES,
                    {"key": self.share_lock_key, "shares": in_order, "most": SHARES_PER_BATCH},
                )
            ).scalars()
        )
        return (held, candidates[-1][0]) if held else None

    async def _publish_in_waves(
        self, rows: Sequence[Mapping[Any, Any]], held_back: set[str]
    ) -> tuple[list[uuid.UUID], list[tuple[Mapping[Any, Any], _PublishFailed]]]:
        """Publish ``rows``: the ids JetStream acknowledged, and the rows that failed.

        Pipelined: every publish of a wave is in flight at once and the acks come back
        together, instead of one round trip (and, with sync_interval always, one fsync
        wait) per event. A subject whose event failed sends nothing more in this batch: its
        later events stay in the outbox, behind the failed one.
        """
        sent: list[uuid.UUID] = []
        failures: list[tuple[Mapping[Any, Any], _PublishFailed]] = []
        for wave in publication_waves(rows):
            ready = [row for row in wave if row["subject"] not in held_back]
            outcomes = await asyncio.gather(*(self._publish(row) for row in ready))
            for row, error in zip(ready, outcomes, strict=True):
                if error is None:
                    sent.append(row["id"])
                else:
                    failures.append((row, error))
                    held_back.add(row["subject"])
        return sent, failures

    async def _publish(self, row: Mapping[Any, Any]) -> _PublishFailed | None:
        """Publish one row: None once JetStream acknowledged it, else why it did not go out."""
        try:
            if tracing.tracing_enabled():
                await self._publish_traced(row)
            else:
                await self._publish_or_raise(row)
        except _PublishFailed as exc:
            return exc
        return None

    async def _publish_or_raise(self, row: Mapping[Any, Any]) -> None:
        try:
            envelope = build_envelope(row, self.source)
        except ValueError as exc:
            # A row no envelope can carry: leave it (and say why) but do not hold the others.
            log.error("outbox event %s cannot be published: %s", row["id"], exc)
            raise _PublishFailed(f"invalid event: {exc}", transport=False) from exc
        subject = nats_subject(envelope.type, self.settings.event_prefix)
        body = envelope.model_dump_json().encode()
        headers = message_headers(envelope.id, row["headers"])
        try:
            try:
                ack = await self.js.publish(subject, body, headers=dict(headers))
            except NoStreamResponseError:
                # No stream takes this subject yet (fresh server, or another context's
                # event): create it and try once more.
                await ensure_stream(self.js, context_of(envelope.type), self.settings.event_prefix)
                ack = await self.js.publish(subject, body, headers=dict(headers))
        except Exception as exc:
            log.warning("publishing event %s failed: %s", envelope.id, exc)
            # A 4xx from JetStream refuses this one message (too big, say); anything else
            # (timeouts, a lost connection, a 5xx) is NATS itself failing.
            code = getattr(exc, "code", None) if isinstance(exc, APIError) else None
            refusal = isinstance(code, int) and 400 <= code < 500
            raise _PublishFailed(f"{type(exc).__name__}: {exc}", transport=not refusal) from exc
        if ack.duplicate:
            self.duplicates += 1
        else:
            self.published += 1

    async def _publish_traced(self, row: Mapping[Any, Any]) -> None:
        """The publish as a producer span continuing the outbox write's trace; the message
        carries this span as the consumers' parent."""
        stored: Mapping[str, Any] = row["headers"] or {}
        with tracing.span(
            f"publish {row['type']}",
            SpanKind.PRODUCER,
            parent=stored.get("traceparent"),
            attributes={"messaging.system": "nats", "messaging.message.id": str(row["id"])},
        ) as span:
            if span is not None:
                row = {**row, "headers": {**stored, "traceparent": tracing.traceparent_of(span)}}
            await self._publish_or_raise(row)

    async def _maybe_prune(self) -> None:
        """Delete rows published long ago, a batch at a time, at most once an hour."""
        if time.monotonic() - self._last_prune < PRUNE_EVERY_S:
            return
        self._last_prune = time.monotonic()
        outbox = self.outbox
        try:
            async with self.sessions() as session, session.begin():
                conn = await session.connection()
                old = (
                    select(outbox.c.id)
                    .where(outbox.c.published_at < func.now() - PUBLISHED_RETENTION)
                    .limit(PRUNE_BATCH)
                    .with_for_update(skip_locked=True)
                    .scalar_subquery()
                )
                await conn.execute(delete(outbox).where(outbox.c.id.in_(old)))
        except Exception:
            log.exception("pruning the outbox failed")

    async def _listen(self) -> None:
        """Hold a LISTEN connection, reconnecting when it drops; wake the relay on NOTIFY."""
        delay = 0.5
        while True:
            conn: Any = None
            try:
                conn = await asyncpg.connect(
                    asyncpg_dsn(self.settings.database_url),
                    server_settings={"application_name": f"medley-{self.source}-relay"},
                )
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
                await conn.add_listener(self.channel, lambda *_args: self._wake.set())
                self.listening = True
                delay = 0.5
                # Whatever was committed while nobody listened is waiting.
                self._wake.set()
                while not await wait_event(lost, LISTEN_KEEPALIVE_S):
                    # A silent network drop is only noticed by using the connection.
                    await conn.fetchval("SELECT 1", timeout=LISTEN_KEEPALIVE_S)
                log.warning("outbox LISTEN connection lost; reconnecting")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox LISTEN connection failed (%s); retrying in %.1fs", exc, delay)
            finally:
                self.listening = False
                if conn is not None:
                    conn.terminate()
            await asyncio.sleep(delay)
            delay = min(delay * 2, LISTEN_RECONNECT_MAX_S)


class _PublishFailed(Exception):
    """An event did not go out; ``transport`` when NATS itself is the problem."""

    def __init__(self, error: str, *, transport: bool) -> None:
        super().__init__(error)
        self.error = error
        self.transport = transport
