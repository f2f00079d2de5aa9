"""Following a stream in every process: an ordered (ephemeral, per-process) JetStream
consumer, not a shared durable one, for state each replica keeps for itself.

Two things are kept this way: the revoked tokens (:mod:`medley_core.revocation`, from the
users stream) and the gateway's cache of catalog parts (invalidated by ``catalog.*``
events). :class:`StreamFollower` is the mechanism they share: start ``lookback_s`` back in
the stream, resume from the newest event seen after a failure, and start a new consumer
when a reconnect may have made the server forget this one. A subclass says what an event
does (:meth:`StreamFollower.apply`), and may act when the feed is live or paused.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from nats.aio.client import Client as NATS
from nats.js.api import ConsumerConfig, DeliverPolicy
from pydantic import ValidationError

from medley_contracts.envelope import EventEnvelope, nats_subject
from medley_core.aio import cancel_and_wait

log = logging.getLogger("medley.follow")

RETRY_S = 1.0
HEARTBEAT_S = 2.0
WATCH_S = 1.0


class StreamFollower:
    """Follows ``pattern`` (``users.user.>``) under ``event_prefix`` in the background."""

    #: What the logs and the task call it.
    name = "stream-follower"

    def __init__(self, nc: NATS, *, pattern: str, event_prefix: str, lookback_s: float) -> None:
        self.nc = nc
        self.subject = nats_subject(pattern, event_prefix)
        self.lookback_s = lookback_s
        self.applied = 0
        # Where to resume after a failure: the time of the newest event seen.
        self._resume_from: datetime | None = None
        self._task: asyncio.Task[None] | None = None

    def apply(self, envelope: EventEnvelope) -> None:
        """What one event does (a subclass says)."""
        raise NotImplementedError

    def on_live(self) -> None:
        """The consumer is subscribed: events from here on are seen."""

    def on_paused(self) -> None:
        """The consumer is gone (a failure, a reconnect, a stop): events may be missed
        until :meth:`on_live` again."""

    def start(self) -> None:
        """Follow the stream in the background (NATS may not be connected yet)."""
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait([self._task])
            self._task = None

    async def run(self) -> None:
        """Follow the stream until cancelled, resubscribing after any failure."""
        while True:
            if not self.nc.is_connected:
                await asyncio.sleep(0.2)
                continue
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # The stream may not exist yet (its service creates it), or the connection
                # dropped; what was applied already stays in force meanwhile.
                log.info("%s paused (%s); retrying", self.name, exc or type(exc).__name__)
            await asyncio.sleep(RETRY_S)

    async def _follow(self) -> None:
        start = datetime.now(UTC) - timedelta(seconds=self.lookback_s)
        if self._resume_from is not None:
            start = max(start, self._resume_from)
        reconnects = self.nc.stats["reconnects"]
        subscription = await self.nc.jetstream().subscribe(
            self.subject,
            ordered_consumer=True,
            idle_heartbeat=HEARTBEAT_S,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=start),
        )
        self.on_live()
        try:
            while True:
                try:
                    message = await subscription.next_msg(timeout=WATCH_S)
                except TimeoutError:
                    # A server restarted behind a reconnect has forgotten this ephemeral
                    # consumer: start a new one from the last event seen.
                    if self.nc.stats["reconnects"] != reconnects:
                        raise ConnectionResetError("reconnected to NATS") from None
                    continue
                self._apply(message.data)
        finally:
            self.on_paused()
            try:
                await subscription.unsubscribe()
            except Exception as exc:  # the connection may be gone already
                log.debug("unsubscribing %s: %s", self.name, exc)

    def _apply(self, raw: bytes) -> None:
        try:
            envelope = EventEnvelope.model_validate_json(raw)
        except ValidationError:
            log.warning("a malformed event on %s was ignored", self.subject)
            return
        self._resume_from = envelope.occurred_at
        self.apply(envelope)
