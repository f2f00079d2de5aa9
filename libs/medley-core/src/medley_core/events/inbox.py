"""Applying an event at most once: the inbox.

The handler's effect and the ``(consumer, event_id)`` inbox row are written in one
transaction. A redelivered event (lost ack, JetStream duplicate, a replay of something that
already went through) finds its row and changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy import ARRAY, Text, Uuid, cast, func, literal, select
from sqlalchemy.dialects.postgresql import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_contracts.envelope import EventEnvelope
from medley_core.events.tables import tables_for

# A handler applies one event inside the transaction that also records it in the inbox.
EventHandler = Callable[[AsyncSession, EventEnvelope], Awaitable[None]]


async def apply_once(
    session: AsyncSession,
    consumer: str,
    envelope: EventEnvelope,
    handler: EventHandler,
    *,
    schema: str | None = None,
) -> bool:
    """Run ``handler`` unless ``consumer`` already applied this event; True if it ran.

    Call it inside the caller's transaction: the inbox row commits (or rolls back) together
    with whatever the handler wrote. A concurrent delivery of the same event waits on the
    inbox row's key and then finds it taken.
    """
    inbox = tables_for(schema).inbox
    conn = await session.connection()
    claimed = (
        await conn.execute(
            insert(inbox)
            .values(consumer=consumer, event_id=envelope.id)
            .on_conflict_do_nothing(index_elements=[inbox.c.consumer, inbox.c.event_id])
            .returning(inbox.c.event_id)
        )
    ).first()
    if claimed is None:
        return False
    await handler(session, envelope)
    return True


async def claim_many(
    session: AsyncSession,
    consumer: str,
    event_ids: Sequence[uuid.UUID],
    *,
    schema: str | None = None,
) -> set[uuid.UUID]:
    """Inbox rows for ``event_ids`` in one statement: the ids not applied before.

    For a batch of events applied in one transaction (the caller runs the handlers of the
    returned ids in it); an id given twice is claimed once.
    """
    inbox = tables_for(schema).inbox
    conn = await session.connection()
    unique = list(dict.fromkeys(event_ids))
    claimed = await conn.execute(
        insert(inbox)
        .from_select(
            ["consumer", "event_id"],
            select(
                literal(consumer, Text).label("consumer"),
                func.unnest(cast(unique, ARRAY(Uuid))).label("event_id"),
            ),
        )
        .on_conflict_do_nothing(index_elements=[inbox.c.consumer, inbox.c.event_id])
        .returning(inbox.c.event_id)
    )
    return set(claimed.scalars())


async def already_applied(
    session: AsyncSession, consumer: str, event_id: uuid.UUID, *, schema: str | None = None
) -> bool:
    """Whether ``consumer`` has applied the event ``event_id``."""
    inbox = tables_for(schema).inbox
    conn = await session.connection()
    found = await conn.scalar(
        select(inbox.c.event_id).where(inbox.c.consumer == consumer, inbox.c.event_id == event_id)
    )
    return found is not None
