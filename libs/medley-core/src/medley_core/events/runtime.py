"""The events side of a running service.

Owns the NATS connection (reconnecting forever; a service starts even while NATS is down
and connects when it comes), its context's stream, the outbox relay, and one durable pull
consumer per stream it consumes, feeding the registered handlers through the inbox.

A service registers handlers by event type name::

    create_service_app(settings, ..., event_handlers={
        "users.user.deleted": on_user_deleted,   # async (session, envelope) -> None
    })
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_core.aio import cancel_and_wait
from medley_core.events.consumer import StreamConsumer, handlers_by_context
from medley_core.events.deadletters import ReplayResult, replay_dead_letter
from medley_core.events.inbox import EventHandler
from medley_core.events.relay import OutboxRelay
from medley_core.events.streams import ensure_stream
from medley_core.settings import ServiceSettings

__all__ = ["EventHandler", "EventRuntime", "close_quietly", "connect_forever"]

log = logging.getLogger("medley.events")

_EVENT_TYPE = re.compile(r"^[a-z_]+\.[a-z_]+\.[a-z_.]+$")
RECONNECT_WAIT_S = 1
CONNECT_TIMEOUT_S = 2
STOP_TIMEOUT_S = 10.0
ERROR_LOG_EVERY_S = 30.0


async def connect_forever(nc: NATS, settings: ServiceSettings, **callbacks: Any) -> None:
    """Connect ``nc`` to the settings' NATS server, however long that takes.

    With max_reconnect_attempts=-1, connect() itself keeps trying until a server answers;
    after that the client reconnects on its own, forever. ``callbacks`` are nats-py's
    (``error_cb``, ``disconnected_cb``, ``reconnected_cb``…).
    """
    await nc.connect(
        servers=[settings.nats_url],
        name=f"medley-{settings.service_name}",
        allow_reconnect=True,
        max_reconnect_attempts=-1,
        reconnect_time_wait=RECONNECT_WAIT_S,
        connect_timeout=CONNECT_TIMEOUT_S,
        **callbacks,
    )


async def close_quietly(nc: NATS) -> None:
    """Drain (or close, if not connected) ``nc`` within :data:`STOP_TIMEOUT_S`; at stop, a
    connection that will not close is logged, not raised."""
    if nc.is_closed:
        return
    try:
        async with asyncio.timeout(STOP_TIMEOUT_S):
            if nc.is_connected:
                await nc.drain()
            else:
                await nc.close()
    except Exception as exc:
        log.warning("closing the NATS connection: %s", exc)


class EventRuntime:
    """NATS connection, stream, relay and consumers of one service process."""

    def __init__(
        self,
        settings: ServiceSettings,
        sessions: async_sessionmaker[AsyncSession],
        handlers: Mapping[str, EventHandler],
        *,
        publishes: bool = True,
        retry_base_s: float = 0.5,
        retry_cap_s: float = 30.0,
        relay_batch_size: int = 500,
    ) -> None:
        for event_type in handlers:
            if not _EVENT_TYPE.match(event_type):
                raise ValueError(f"handlers are keyed by event type, not {event_type!r}")
        self.settings = settings
        self.sessions = sessions
        self.handlers = dict(handlers)
        self.publishes = publishes
        self.retry_base_s = retry_base_s
        self.retry_cap_s = retry_cap_s
        self.context = settings.service_name
        self.nc = NATS()
        self.relay: OutboxRelay | None = (
            OutboxRelay(
                settings,
                sessions,
                self.nc,
                batch_size=relay_batch_size,
                retry_base_s=retry_base_s,
                retry_cap_s=retry_cap_s,
            )
            if publishes
            else None
        )
        self.consumers = [
            StreamConsumer(
                settings,
                sessions,
                self.nc,
                context,
                self.handlers,
                retry_base_s=retry_base_s,
                retry_cap_s=retry_cap_s,
            )
            for context in handlers_by_context(self.handlers)
        ]
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False
        self._last_error_log = 0.0

    @property
    def js(self) -> JetStreamContext:
        """The JetStream context (usable once :attr:`nats_connected`)."""
        return self.nc.jetstream()

    @property
    def nats_connected(self) -> bool:
        return bool(self.nc.is_connected)

    async def nats_ready(self, timeout_s: float) -> bool:
        """A PING/PONG round trip within ``timeout_s``: a frozen server (its socket still
        open, so the client still says connected) fails this where ``nats_connected``
        does not."""
        if not self.nc.is_connected:
            return False
        try:
            async with asyncio.timeout(timeout_s):
                await self.nc.flush(timeout=math.ceil(timeout_s))
        except Exception:
            return False
        return True

    async def start(self) -> None:
        """Start connecting (in the background: NATS may be down), the relay, the consumers."""
        if self._started:
            return
        self._started = True
        self._tasks.append(asyncio.create_task(self._connect(), name="nats-connect"))
        if self.relay is not None:
            self._tasks.append(asyncio.create_task(self.relay.run(), name="outbox-relay"))
        for consumer in self.consumers:
            consumer.start()

    async def stop(self) -> None:
        """Stop consumers (letting a message in hand finish) and relay, then close NATS."""
        if not self._started:
            return
        self._started = False
        await asyncio.gather(*(c.stop(STOP_TIMEOUT_S) for c in self.consumers))
        await cancel_and_wait(self._tasks)
        self._tasks.clear()
        await close_quietly(self.nc)

    async def replay(self, dead_letter_id: uuid.UUID) -> ReplayResult:
        """Replay one of this service's dead letters with the current handlers."""
        return await replay_dead_letter(
            self.sessions, self.handlers, dead_letter_id, schema=self.settings.schema_name
        )

    # -- connection ------------------------------------------------------------------------

    async def _connect(self) -> None:
        await connect_forever(
            self.nc,
            self.settings,
            error_cb=self._on_error,
            disconnected_cb=self._on_disconnected,
            reconnected_cb=self._on_reconnected,
        )
        log.info(
            "connected to NATS at %s",
            self.nc.connected_url.netloc if self.nc.connected_url else "?",
        )
        await self._on_connected()

    async def _on_connected(self) -> None:
        """Make sure our stream exists (publishers create it), then let the relay go."""
        if self.publishes:
            try:
                await ensure_stream(self.js, self.context, self.settings.event_prefix)
            except Exception as exc:
                # The relay creates it on its first publish if this did not.
                log.warning("could not ensure the %s stream yet: %s", self.context, exc)
        if self.relay is not None:
            self.relay.wake()
        for consumer in self.consumers:
            consumer.on_connected()

    async def _on_reconnected(self) -> None:
        log.info("reconnected to NATS")
        # Not inline: callbacks run on the client's own task. Forget finished ones so a
        # flapping connection does not grow the list.
        self._tasks = [t for t in self._tasks if not t.done()]
        self._tasks.append(asyncio.create_task(self._on_connected(), name="nats-reconnected"))

    async def _on_disconnected(self) -> None:
        if self._started:
            log.warning("disconnected from NATS; events wait in the outbox until it is back")

    async def _on_error(self, exc: Exception) -> None:
        # While NATS is down the client reports every failed attempt; say it now and then.
        now = time.monotonic()
        if now - self._last_error_log >= ERROR_LOG_EVERY_S:
            self._last_error_log = now
            log.warning("NATS: %s", exc or type(exc).__name__)
