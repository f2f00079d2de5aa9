"""The envelope every Medley event travels in, and how events map to NATS subjects."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_PREFIX = "medley"

PayloadT = TypeVar("PayloadT", bound=BaseModel)


class EventEnvelope(BaseModel):
    """One event: who says what happened to which entity, and when."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: uuid.UUID
    type: str = Field(pattern=r"^[a-z_]+\.[a-z_]+\.[a-z_.]+$")
    version: int = Field(ge=1)
    source: str
    occurred_at: datetime
    subject: str = Field(description="the id of the entity the event is about")
    data: dict[str, Any]

    @property
    def context(self) -> str:
        return context_of(self.type)


@dataclass(frozen=True)
class EventType(Generic[PayloadT]):
    """A published event: its name (``users.user.registered``), version and payload type."""

    name: str
    version: int
    payload: type[PayloadT]

    @property
    def context(self) -> str:
        return context_of(self.name)

    def parse(self, envelope: EventEnvelope) -> PayloadT:
        return self.payload.model_validate(envelope.data)


def context_of(event_type: str) -> str:
    """``catalog.track.merged`` → ``catalog``."""
    return event_type.split(".", 1)[0]


def nats_subject(event_type: str, prefix: str = DEFAULT_PREFIX) -> str:
    """``users.user.registered`` → ``medley.users.user.registered``."""
    return f"{prefix}.{event_type}"


def stream_name(context: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The JetStream stream holding one context's events: ``MEDLEY_USERS``."""
    return f"{prefix}_{context}".upper()


def stream_subjects(context: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The subjects of one context's stream: ``medley.users.>``."""
    return f"{prefix}.{context}.>"
