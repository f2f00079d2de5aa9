"""Writing events: the transactional outbox.

A service never publishes to NATS from a request. Its write paths collect events into the
transaction's change set (:mod:`medley_core.events.unit_of_work`), which this module writes
into the service's ``outbox`` table just before the transaction commits, so either the
state change and its events are committed or neither is; the relay
(:mod:`medley_core.events.relay`) publishes them afterwards.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple, cast

from pydantic import BaseModel
from sqlalchemy import Connection, func, insert, select
from sqlalchemy.engine.interfaces import AdaptedConnection

from medley_contracts.envelope import EventEnvelope, EventType
from medley_core.events.tables import tables_for
from medley_core.ids import utcnow

NOTIFY_SUFFIX = "_outbox"

# Below this many rows a multi-row INSERT is cheaper than opening a COPY.
COPY_THRESHOLD = 32

COLUMNS = ("id", "type", "version", "subject", "data", "headers", "occurred_at")


def notify_channel(schema: str) -> str:
    """The LISTEN/NOTIFY channel a service's relay waits on: ``users_outbox``."""
    return f"{schema}{NOTIFY_SUFFIX}"


class OutboxRow(NamedTuple):
    """One event on its way to the outbox: ``subject`` is the id of the entity it is about;
    ``headers`` the request context (request id, trace) it was produced in. (A named tuple:
    bulk paths make thousands, and a tuple is the cheapest object to make.)"""

    id: uuid.UUID
    event: EventType[Any]
    subject: str
    payload: BaseModel
    occurred_at: datetime
    headers: dict[str, str]


def check_event(event: EventType[Any], payload: BaseModel, subject: str) -> None:
    """Refuse an event the relay could not carry, in the request that produced it, rather
    than leaving it in the outbox."""
    if not isinstance(payload, event.payload):
        raise TypeError(
            f"{event.name} v{event.version} carries {event.payload.__name__}, "
            f"not {type(payload).__name__}"
        )
    if not isinstance(subject, str):
        raise TypeError(f"the subject of {event.name} is an entity id as text, not {subject!r}")
    _check_envelope_fields(event)


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


def write_outbox(connection: Connection, rows: Sequence[OutboxRow]) -> None:
    """Write ``rows`` into the outbox of the connection's schema (the first one on its
    ``search_path``, which every service engine sets to its own), in its transaction: one
    multi-row INSERT, or one COPY past :data:`COPY_THRESHOLD` rows, and one notification
    that wakes the relay when the transaction commits.

    Synchronous, so the unit of work can call it from SQLAlchemy's ``before_commit`` hook
    (under an :class:`~sqlalchemy.ext.asyncio.AsyncSession` it runs inside the session's
    greenlet, where the sync API awaits the driver).
    """
    if not rows:
        return
    # Delivered at commit, and folded into one per transaction however many events it holds.
    # First: it also begins the database transaction, which the COPY below must be part of.
    channel = func.concat(func.current_schema(), NOTIFY_SUFFIX)
    connection.execute(select(func.pg_notify(channel, "")))
    outbox = tables_for(None).outbox
    if len(rows) < COPY_THRESHOLD:
        connection.execute(
            insert(outbox),
            [
                {
                    "id": row.id,
                    "type": row.event.name,
                    "version": row.event.version,
                    "subject": row.subject,
                    "data": row.payload.model_dump(mode="json"),
                    "headers": row.headers,
                    "occurred_at": row.occurred_at,
                }
                for row in rows
            ],
        )
        return
    headers_json = _json_by_identity()
    records = [
        (
            row.id,
            row.event.name,
            row.event.version,
            row.subject,
            row.payload.model_dump_json(),
            headers_json(row.headers),
            row.occurred_at,
        )
        for row in rows
    ]
    adapted = cast(AdaptedConnection, connection.connection.dbapi_connection)
    # Unqualified: the service's schema, first on the search_path, as for INSERT.
    adapted.run_async(
        lambda driver: driver.copy_records_to_table(outbox.name, columns=COLUMNS, records=records)
    )


def _json_by_identity() -> Callable[[dict[str, str]], str]:
    """``json.dumps`` remembering its answers by object: the rows of one collect share one
    headers dict, so a bulk write serialises it once, not once per row."""
    memo: dict[int, tuple[dict[str, str], str]] = {}

    def dumps(headers: dict[str, str]) -> str:
        hit = memo.get(id(headers))
        if hit is None or hit[0] is not headers:
            hit = memo[id(headers)] = (headers, json.dumps(headers))
        return hit[1]

    return dumps
