"""STUB (to be implemented): the events side of a running service.

Owns the NATS connection (reconnecting; a service starts even while NATS is down), the
outbox relay (LISTEN/NOTIFY + polling, FOR UPDATE SKIP LOCKED, Nats-Msg-Id = event id),
stream provisioning, and one durable pull consumer per (service, stream) feeding the
registered handlers through the inbox.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_contracts.envelope import EventEnvelope
from medley_core.settings import ServiceSettings

# A handler applies one event inside the transaction that also records it in the inbox.
EventHandler = Callable[[AsyncSession, EventEnvelope], Awaitable[None]]


class EventRuntime:
    def __init__(
        self,
        settings: ServiceSettings,
        sessions: async_sessionmaker[AsyncSession],
        handlers: Mapping[str, EventHandler],
        *,
        publishes: bool = True,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.handlers = dict(handlers)
        self.publishes = publishes

    async def start(self) -> None:
        """Connect (in the background if NATS is down), ensure streams, start relay/consumers."""

    async def stop(self) -> None:
        """Stop consumers and relay, drain and close the connection."""

    @property
    def nats_connected(self) -> bool:
        return False
