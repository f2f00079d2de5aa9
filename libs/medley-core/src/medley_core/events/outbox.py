"""Writing events: the transactional outbox.

A service never publishes to NATS from a request. It writes the event into its ``outbox``
table in the same transaction as the state change, so either both are committed or
neither is; the relay (:mod:`medley_core.events.relay`) publishes it afterwards.
"""

from __future__ import annotations

import functools
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
    rows = [_row(event, payload, subject) for event, payload, subject in events]
    if not rows:
        return []
    outbox = tables_for(None).outbox
    if len(rows) < COPY_THRESHOLD:
        conn = await session.connection()
        await conn.execute(
            insert(outbox),
            [
                {
                    "id": event_id,
                    "type": event.name,
                    "version": event.version,
                    "subject": subject,
                    "data": json.loads(data),
                    "headers": headers,
                    "occurred_at": when,
                }
                for event_id, event, subject, data in rows
            ],
        )
    else:
        driver = await driver_connection(session)
        headers_json = json.dumps(headers)
        await driver.copy_records_to_table(
            # Unqualified: the service's schema, first on the search_path, as for INSERT.
            outbox.name,
            columns=("id", "type", "version", "subject", "data", "headers", "occurred_at"),
            records=[
                (event_id, event.name, event.version, subject, data, headers_json, when)
                for event_id, event, subject, data in rows
            ],
        )
    # Delivered at commit, and folded into one per transaction however many events it holds.
    conn = await session.connection()
    channel = func.concat(func.current_schema(), NOTIFY_SUFFIX)
    await conn.execute(select(func.pg_notify(channel, "")))
    return [event_id for event_id, _, _, _ in rows]


def _row(
    event: EventType[Any], payload: BaseModel, subject: str
) -> tuple[uuid.UUID, EventType[Any], str, str]:
    """An outbox row's parts, checked now: an event the relay could not carry fails here,
    in the request that wrote it, rather than sitting in the outbox."""
    if not isinstance(payload, event.payload):
        raise TypeError(
            f"{event.name} v{event.version} carries {event.payload.__name__}, "
            f"not {type(payload).__name__}"
        )
    if not isinstance(subject, str):
        raise TypeError(f"the subject of {event.name} is an entity id as text, not {subject!r}")
    _check_envelope_fields(event)
    return new_id(), event, subject, payload.model_dump_json()


@functools.cache
def _check_envelope_fields(event: EventType[Any]) -> None:
    """The envelope's rules on type and version, once per event type (bulk paths write
    thousands of events of a handful of types; the payload is checked by its own model)."""
    EventEnvelope(
        id=uuid.UUID(int=0),
        type=event.name,
        version=event.version,
        source="outbox",  # the relay stamps the service's name when it publishes
        occurred_at=utcnow(),
        subject="-",
        data={},
    )
