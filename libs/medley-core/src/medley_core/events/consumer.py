"""Durable pull consumers: one per (service, stream), shared by the service's replicas.

Each message is applied through the inbox (:func:`apply_once`), so a redelivery changes
nothing; a fetched batch is applied in one transaction, in order (one commit, not one per
message); a failing handler is retried with exponential backoff (``nak(delay=…)``) and, on
its last allowed delivery, written to ``dead_letters`` and terminated. A message that is
not an envelope is dead-lettered at once. As a backstop for deliveries that never came
back (the process died mid-handler), the server's max-deliveries advisory names the stream
sequence, and the message is fetched from the stream and dead-lettered then.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping
from typing import Any

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import BadRequestError
from opentelemetry.trace import SpanKind
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_contracts.envelope import (
    EventEnvelope,
    context_of,
    nats_subject,
    stream_name,
    stream_subjects,
)
from medley_core import tracing
from medley_core.aio import cancel_and_wait, wait_event
from medley_core.events.deadletters import envelope_document, has_dead_letter, store_dead_letter
from medley_core.events.inbox import EventHandler, already_applied, apply_once, claim_many
from medley_core.events.streams import ensure_stream
from medley_core.settings import ServiceSettings

log = logging.getLogger("medley.events.consumer")

MAX_DELIVERIES_ADVISORY = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES"
# Up to this many messages per fetch, applied in one transaction.
FETCH_BATCH = 64
FETCH_TIMEOUT_S = 5.0
NOT_CONNECTED_WAIT_S = 0.5
SETUP_RETRY_MAX_S = 10.0


def retry_delay(deliveries: int, base_s: float, cap_s: float) -> float:
    """Backoff before delivery ``deliveries + 1``: base, twice that, four times… up to ``cap_s``."""
    return float(min(base_s * 2 ** max(deliveries - 1, 0), cap_s))


def handlers_by_context(handlers: Mapping[str, EventHandler]) -> dict[str, list[str]]:
    """The event types handled, grouped by the context (stream) that publishes them."""
    grouped: dict[str, list[str]] = {}
    for event_type in sorted(handlers):
        grouped.setdefault(context_of(event_type), []).append(event_type)
    return grouped


class StreamConsumer:
    """This service's durable consumer on one context's stream."""

    def __init__(
        self,
        settings: ServiceSettings,
        sessions: async_sessionmaker[AsyncSession],
        nc: NATS,
        context: str,
        handlers: Mapping[str, EventHandler],
        *,
        retry_base_s: float = 0.5,
        retry_cap_s: float = 30.0,
        fetch_batch: int = FETCH_BATCH,
        fetch_timeout_s: float = FETCH_TIMEOUT_S,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream()
        self.context = context
        self.handlers = {t: h for t, h in handlers.items() if context_of(t) == context}
        if not self.handlers:
            raise ValueError(f"no handlers for events of the {context} context")
        self.durable = settings.service_name
        self.prefix = settings.event_prefix
        self.stream = stream_name(context, self.prefix)
        self.subjects = [nats_subject(t, self.prefix) for t in sorted(self.handlers)]
        self.schema = settings.schema_name
        self.max_deliver = settings.consumer_max_deliver
        self.retry_base_s = retry_base_s
        self.retry_cap_s = retry_cap_s
        self.fetch_batch = fetch_batch
        self.fetch_timeout_s = fetch_timeout_s
        # What happened to the messages this consumer saw (tests and metrics read these).
        self.applied = 0
        self.duplicates = 0
        self.retried = 0
        self.dead_lettered = 0
        self._subscription: JetStreamContext.PullSubscription | None = None
        self._advisories: Subscription | None = None
        self._handling = False
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._fetch: asyncio.Future[list[Msg]] | None = None
        self._wake = asyncio.Event()

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def stopping(self) -> bool:
        return self._stopping

    def start(self) -> asyncio.Task[None]:
        self._task = asyncio.create_task(self.run(), name=f"consume-{self.stream}")
        return self._task

    async def stop(self, timeout_s: float = 10.0) -> None:
        """Stop fetching; let the message in hand finish (up to ``timeout_s``), then end."""
        self._stopping = True
        task = self._task
        if task is None or task.done():
            return
        if self._handling:
            await asyncio.wait({task}, timeout=timeout_s)
        await cancel_and_wait([task])

    async def run(self) -> None:
        """Fetch and handle until stopped; survive NATS going away and coming back."""
        failures = 0
        try:
            while not self._stopping:
                if not self.nc.is_connected:
                    self._wake.clear()
                    await wait_event(self._wake, NOT_CONNECTED_WAIT_S)
                    continue
                try:
                    if self._subscription is None:
                        self._subscription = await self.setup()
                    messages = await self._fetch_messages(self._subscription)
                except TimeoutError:
                    continue  # nothing to do (or a fetch lost in a reconnect)
                except asyncio.CancelledError:
                    task = asyncio.current_task()
                    if task is not None and task.cancelling():
                        raise
                    continue  # the fetch was interrupted by a reconnect
                except Exception as exc:
                    failures += 1
                    delay = min(0.5 * 2 ** (failures - 1), SETUP_RETRY_MAX_S)
                    log.warning(
                        "consumer %s on %s failed (%s); retrying in %.1fs",
                        self.durable,
                        self.stream,
                        exc,
                        delay,
                    )
                    await self._drop_subscription()
                    await asyncio.sleep(delay)
                    continue
                failures = 0
                if self.stopping:
                    break  # unacked: redelivered after ack_wait, to us or a replica
                self._handling = True
                try:
                    await self.handle_batch(messages)
                except Exception:
                    # Database down while dead-lettering, say. What is left unacked comes
                    # back after ack_wait.
                    log.exception("handling messages from %s failed", self.stream)
                finally:
                    self._handling = False
        finally:
            await self._drop_subscription()

    async def _fetch_messages(self, subscription: JetStreamContext.PullSubscription) -> list[Msg]:
        fetch = asyncio.ensure_future(
            subscription.fetch(self.fetch_batch, timeout=self.fetch_timeout_s)
        )
        self._fetch = fetch
        try:
            messages: list[Msg] = await fetch
        finally:
            self._fetch = None
        return messages

    def on_connected(self) -> None:
        """NATS is (back) up: stop waiting, and drop a pull request the old server took
        with it rather than wait for it to time out."""
        self._wake.set()
        if self._fetch is not None and not self._fetch.done():
            self._fetch.cancel()

    async def setup(self) -> JetStreamContext.PullSubscription:
        """Ensure the stream and the durable consumer (create or update), then bind to it."""
        await ensure_stream(self.js, self.context, self.prefix)
        config = ConsumerConfig(
            name=self.durable,
            durable_name=self.durable,
            description=f"{self.durable} consuming {self.stream}",
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.settings.consumer_ack_wait_s,
            max_deliver=self.max_deliver,
        )
        version = self.nc.connected_server_version
        if (version.major, version.minor) >= (2, 10):
            config.filter_subjects = self.subjects
        elif len(self.subjects) == 1:
            config.filter_subject = self.subjects[0]
        else:
            # Servers before 2.10 take one filter: take the whole stream and ack what we
            # have no handler for.
            config.filter_subject = stream_subjects(self.context, self.prefix)
        try:
            # Create, or update in place (new handlers, new limits) on servers >= 2.10.
            await self.js.add_consumer(self.stream, config=config)
        except BadRequestError as exc:
            log.warning(
                "consumer %s on %s exists with a configuration the server would not "
                "change (%s); using it as it is",
                self.durable,
                self.stream,
                exc,
            )
        if self._advisories is None:
            # One replica per advisory (queue group); nats-py resubscribes on reconnect.
            self._advisories = await self.nc.subscribe(
                f"{MAX_DELIVERIES_ADVISORY}.{self.stream}.{self.durable}",
                queue=f"medley-{self.durable}-dead-letters",
                cb=self._on_max_deliveries,
            )
        subscription: JetStreamContext.PullSubscription = await self.js.pull_subscribe_bind(
            durable=self.durable, stream=self.stream
        )
        log.info("consuming %s as %s: %s", self.stream, self.durable, ", ".join(self.subjects))
        return subscription

    async def _drop_subscription(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()
        if self._stopping and self._advisories is not None:
            advisories, self._advisories = self._advisories, None
            with contextlib.suppress(Exception):
                await advisories.unsubscribe()

    # -- a fetched batch --------------------------------------------------------------------

    async def handle_batch(self, messages: list[Msg]) -> None:
        """Apply a fetched batch in one transaction, in order, then ack it.

        One commit for the batch instead of one per message: a consumer keeps up with a
        relay publishing thousands of events a second. Should any message of the batch
        fail, the transaction is rolled back and every message is handled on its own, so
        a failing event is retried or dead-lettered alone and the others still apply.
        """
        ready: list[tuple[Msg, EventEnvelope, EventHandler]] = []
        for msg in messages:
            parsed = await self._parse(msg)
            if parsed is not None:
                ready.append((msg, *parsed))
        if len(ready) == 1:
            await self._handle_parsed(*ready[0])
            return
        if not ready:
            return
        in_hand = [msg for msg, _envelope, _handler in ready]
        keep_alive = asyncio.create_task(self._keep_alive(*in_hand))
        try:
            async with self.sessions() as session, session.begin():
                # One inbox statement for the batch, then the handlers of what it claimed.
                claimed = await claim_many(
                    session,
                    self.durable,
                    [envelope.id for _, envelope, _ in ready],
                    schema=self.schema,
                )
                outcomes = []
                for msg, envelope, handler in ready:
                    fresh = envelope.id in claimed
                    claimed.discard(envelope.id)  # the same event twice: applied once
                    if fresh:
                        await self._run(session, msg, envelope, handler)
                    outcomes.append(fresh)
        except Exception as exc:
            keep_alive.cancel()
            log.info(
                "a batch of %d events from %s failed (%s: %s); handling them one by one",
                len(ready),
                self.stream,
                type(exc).__name__,
                exc,
            )
            for msg, envelope, handler in ready:
                await self._handle_parsed(msg, envelope, handler)
            return
        finally:
            keep_alive.cancel()
        for (msg, envelope, _handler), applied in zip(ready, outcomes, strict=True):
            self._count(envelope, applied, msg.metadata.num_delivered)
            await msg.ack()

    # -- one message -----------------------------------------------------------------------

    async def handle(self, msg: Msg) -> None:
        """Apply one message at most once; retry, dead-letter or skip it otherwise."""
        parsed = await self._parse(msg)
        if parsed is not None:
            await self._handle_parsed(msg, *parsed)

    async def _handle_parsed(
        self, msg: Msg, envelope: EventEnvelope, handler: EventHandler
    ) -> None:
        """One parsed message in a transaction of its own, then acked (or retried)."""
        deliveries = msg.metadata.num_delivered
        keep_alive = asyncio.create_task(self._keep_alive(msg))
        try:
            async with self.sessions() as session, session.begin():
                applied = await self._apply(session, msg, envelope, handler)
        except Exception as exc:
            keep_alive.cancel()
            await self._failed(msg, envelope, exc, deliveries)
            return
        finally:
            keep_alive.cancel()
        self._count(envelope, applied, deliveries)
        await msg.ack()

    async def _parse(self, msg: Msg) -> tuple[EventEnvelope, EventHandler] | None:
        """The message's envelope and handler; None when it was dealt with here (not an
        envelope: dead-lettered; no handler for its type: acked)."""
        try:
            envelope = EventEnvelope.model_validate_json(msg.data)
        except ValidationError as exc:
            metadata = msg.metadata
            log.error(
                "message %d on %s is not an event envelope", metadata.sequence.stream, msg.subject
            )
            await self._dead_letter(
                msg, None, f"not a valid event envelope: {exc}", metadata.num_delivered
            )
            await msg.term()
            return None
        handler = self.handlers.get(envelope.type)
        if handler is None:
            # Only when the server could not filter for us (before 2.10): not ours.
            await msg.ack()
            return None
        return envelope, handler

    async def _apply(
        self, session: AsyncSession, msg: Msg, envelope: EventEnvelope, handler: EventHandler
    ) -> bool:
        """The event applied through the inbox in the caller's transaction; True if it ran."""

        async def run(session: AsyncSession, envelope: EventEnvelope) -> None:
            await self._run(session, msg, envelope, handler)

        return await apply_once(session, self.durable, envelope, run, schema=self.schema)

    async def _run(
        self, session: AsyncSession, msg: Msg, envelope: EventEnvelope, handler: EventHandler
    ) -> None:
        """The handler, in the writer's request context and (tracing on) a consumer span."""
        headers = msg.headers or {}
        tracing.bind(headers.get("X-Request-ID"), headers.get("traceparent"))
        # A consumer span, child of the publish, when tracing is on; nothing when off.
        with tracing.span(
            f"process {envelope.type}",
            SpanKind.CONSUMER,
            parent=headers.get("traceparent"),
            attributes={"messaging.consumer.group.name": self.durable},
        ):
            await handler(session, envelope)

    def _count(self, envelope: EventEnvelope, applied: bool, deliveries: int) -> None:
        log.debug(
            "event %s (%s) delivery %d: %s",
            envelope.id,
            envelope.type,
            deliveries,
            "applied" if applied else "already applied",
        )
        if applied:
            self.applied += 1
        else:
            self.duplicates += 1
            log.info("event %s (%s) was already applied; skipping", envelope.id, envelope.type)

    async def _failed(
        self, msg: Msg, envelope: EventEnvelope, exc: Exception, deliveries: int
    ) -> None:
        error = f"{type(exc).__name__}: {exc}"
        if deliveries >= self.max_deliver:
            log.error(
                "event %s (%s) failed on delivery %d of %d; dead-lettering it",
                envelope.id,
                envelope.type,
                deliveries,
                self.max_deliver,
                exc_info=exc,
            )
            await self._dead_letter(msg, envelope, error, deliveries)
            await msg.term()
            return
        delay = retry_delay(deliveries, self.retry_base_s, self.retry_cap_s)
        log.warning(
            "event %s (%s) failed on delivery %d of %d (%s); retrying in %.2fs",
            envelope.id,
            envelope.type,
            deliveries,
            self.max_deliver,
            error,
            delay,
        )
        self.retried += 1
        await msg.nak(delay=delay)

    async def _dead_letter(
        self, msg: Msg, envelope: EventEnvelope | None, error: str, deliveries: int
    ) -> None:
        """Write the dead letter; raises if the database refuses (the message stays
        unacked, and the max-deliveries advisory gives it another chance)."""
        async with self.sessions() as session, session.begin():
            await store_dead_letter(
                session,
                consumer=self.durable,
                stream=self.stream,
                stream_seq=msg.metadata.sequence.stream,
                subject=msg.subject,
                event_id=envelope.id if envelope else None,
                envelope=(
                    envelope.model_dump(mode="json") if envelope else envelope_document(msg.data)
                ),
                error=error,
                deliveries=deliveries,
                schema=self.schema,
            )
        self.dead_lettered += 1

    async def _keep_alive(self, *messages: Msg) -> None:
        """Tell JetStream a slow handler is still working, so it does not redeliver."""
        interval = max(self.settings.consumer_ack_wait_s / 2, 0.1)
        with contextlib.suppress(Exception):
            while True:
                await asyncio.sleep(interval)
                for msg in messages:
                    await msg.in_progress()

    async def _on_max_deliveries(self, advisory: Msg) -> None:
        """Backstop: a message ran out of deliveries without us dead-lettering it."""
        try:
            info: dict[str, Any] = json.loads(advisory.data)
            stream_seq = int(info["stream_seq"])
            deliveries = int(info.get("deliveries", self.max_deliver))
            raw = await self.js.get_msg(self.stream, stream_seq)
            data = raw.data or b""
            try:
                envelope: EventEnvelope | None = EventEnvelope.model_validate_json(data)
            except ValidationError:
                envelope = None
            event_id = envelope.id if envelope else None
            async with self.sessions() as session, session.begin():
                if event_id is not None and await already_applied(
                    session, self.durable, event_id, schema=self.schema
                ):
                    return  # it went through; only the ack was lost
                if await has_dead_letter(
                    session,
                    consumer=self.durable,
                    stream=self.stream,
                    stream_seq=stream_seq,
                    event_id=event_id,
                    schema=self.schema,
                ):
                    return
                await store_dead_letter(
                    session,
                    consumer=self.durable,
                    stream=self.stream,
                    stream_seq=stream_seq,
                    subject=raw.subject or "",
                    event_id=event_id,
                    envelope=(
                        envelope.model_dump(mode="json") if envelope else envelope_document(data)
                    ),
                    error=(
                        "ran out of deliveries without a recorded failure: the handler "
                        "outlived ack_wait or the service stopped while handling it"
                    ),
                    deliveries=deliveries,
                    schema=self.schema,
                )
            self.dead_lettered += 1
            log.error("message %d of %s dead-lettered from the advisory", stream_seq, self.stream)
        except Exception:
            log.exception("could not dead-letter from a max-deliveries advisory")
