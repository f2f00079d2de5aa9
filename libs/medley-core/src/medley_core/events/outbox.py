"""Writing events: the transactional outbox.

A service never publishes to NATS from a request. It writes the event into its ``outbox``
table in the same transaction as the state change, so either both are committed or
neither is; the relay (:mod:`medley_core.events.relay`) publishes it afterwards.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypeAlias, TypeVar

from pydantic import BaseModel
from sqlalchemy import func, insert, select
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_contracts.envelope import EventEnvelope, EventType
from medley_core.db import driver_connection
from medley_core.events.tables import tables_for
from medley_core.ids import new_id, utcnow
from medley_core.tracing import propagation_headers

P = TypeVar("P", bound=BaseModel)

NOTIFY_SUFFIX = "_outbox"

# Below this many rows a multi-row INSERT is cheaper than opening a COPY.
COPY_THRESHOLD = 32

# (event type, payload, subject): one event for :func:`record_events`.
PendingEvent: TypeAlias = tuple[EventType[Any], BaseModel, str]


def notify_channel(schema: str) -> str:
    """The LISTEN/NOTIFY channel a service's relay waits on: ``users_outbox``."""
    return f"{schema}{NOTIFY_SUFFIX}"


async def record_event(
    session: AsyncSession,
    event: EventType[P],
    payload: P,
    *,
    subject: str,
    occurred_at: datetime | None = None,
) -> uuid.UUID:
    """Write ``event`` into the outbox, in the caller's transaction; returns the event id.

    ``subject`` is the id of the entity the event is about. The row goes into the
    ``outbox`` of the session's schema (the first one on its ``search_path``, which every
    service engine sets to its own schema). A notification wakes the relay when the
    transaction commits; if it rolls back, the event never existed.
    """
    [event_id] = await record_events(session, [(event, payload, subject)], occurred_at=occurred_at)
    return event_id


async def record_events(
    session: AsyncSession,
    events: Iterable[PendingEvent],
    *,
    occurred_at: datetime | None = None,
) -> list[uuid.UUID]:
    """:func:`record_event` for many events at once (bulk paths): the rows go in with one
    statement (COPY past a few dozen) and one notification. ``events`` are ``(event type,
    payload, subject)``; returns their ids in order."""
    when = occurred_at or utcnow()
    headers = propagation_headers()
    envelopes = [_envelope(event, payload, subject, when) for event, payload, subject in events]
    if not envelopes:
        return []
    outbox = tables_for(None).outbox
    if len(envelopes) < COPY_THRESHOLD:
        conn = await session.connection()
        await conn.execute(
            insert(outbox),
            [
                {
                    "id": e.id,
                    "type": e.type,
                    "version": e.version,
                    "subject": e.subject,
                    "data": e.data,
                    "headers": headers,
                    "occurred_at": e.occurred_at,
                }
                for e in envelopes
            ],
        )
    else:
        driver = await driver_connection(session)
        headers_json = json.dumps(headers)
        await driver.copy_records_to_table(
            outbox.name,
            # Unqualified: the service's schema, first on the search_path, as for INSERT.
            columns=("id", "type", "version", "subject", "data", "headers", "occurred_at"),
            records=[
                (
                    e.id,
                    e.type,
                    e.version,
                    e.subject,
                    json.dumps(e.data),
                    headers_json,
                    e.occurred_at,
                )
                for e in envelopes
            ],
        )
    # Delivered at commit, and folded into one per transaction however many events it holds.
    conn = await session.connection()
    channel = func.concat(func.current_schema(), NOTIFY_SUFFIX)
    await conn.execute(select(func.pg_notify(channel, "")))
    return [e.id for e in envelopes]


def _envelope(
    event: EventType[Any], payload: BaseModel, subject: str, occurred_at: datetime
) -> EventEnvelope:
    """The envelope the relay will publish, built now: an event it could not carry fails
    here, in the request that wrote it, rather than sitting in the outbox."""
    if not isinstance(payload, event.payload):
        raise TypeError(
            f"{event.name} v{event.version} carries {event.payload.__name__}, "
            f"not {type(payload).__name__}"
        )
    return EventEnvelope(
        id=new_id(),
        type=event.name,
        version=event.version,
        source="outbox",  # the relay stamps the service's name when it publishes
        occurred_at=occurred_at,
        subject=subject,
        data=payload.model_dump(mode="json"),
    )
