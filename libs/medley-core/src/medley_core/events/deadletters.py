"""Dead letters: events a consumer gave up on, kept for an operator to read and replay.

A message lands here when its handler failed on every one of ``consumer_max_deliver``
deliveries, or when it is not an event envelope at all. Nothing is lost: the row holds the
envelope, the stream sequence and the last error; replaying it runs the handler again,
through the inbox, once the cause is fixed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import msgspec
from pydantic import ValidationError
from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_contracts.envelope import EventEnvelope
from medley_core.errors import Conflict, NotFound, Unprocessable
from medley_core.events.inbox import EventHandler, apply_once
from medley_core.events.tables import tables_for
from medley_core.ids import new_id
from medley_core.pagination import Page, rows_page, sort_key

MAX_ERROR_CHARS = 4000
DEFAULT_PAGE = 50
MAX_PAGE = 500


class DeadLetter(msgspec.Struct, frozen=True, kw_only=True):
    """One event a consumer gave up on. (A msgspec Struct: its description of ``envelope``
    reaches the OpenAPI document.)"""

    id: uuid.UUID
    consumer: str
    stream: str
    stream_seq: int
    subject: str
    event_id: uuid.UUID | None
    envelope: Annotated[
        dict[str, Any],
        msgspec.Meta(description="the message as it arrived: an event envelope, or not one"),
    ]
    error: str
    deliveries: int
    failed_at: datetime
    replayed_at: datetime | None
    replay_error: str | None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> DeadLetter:
        return cls(
            id=row["id"],
            consumer=row["consumer"],
            stream=row["stream"],
            stream_seq=row["stream_seq"],
            subject=row["subject"],
            event_id=row["event_id"],
            envelope=row["envelope"],
            error=row["error"],
            deliveries=row["deliveries"],
            failed_at=row["failed_at"],
            replayed_at=row["replayed_at"],
            replay_error=row["replay_error"],
        )


class DeadLetterPage(Page[DeadLetter], kw_only=True):
    """A page of dead letters, oldest first; ``next_after`` (pass as ``after``) is the older
    form of ``next_cursor``."""

    items: list[DeadLetter]  # named again: OpenAPI then shows the items' shape
    next_after: uuid.UUID | None


@dataclass(frozen=True)
class ReplayResult:
    """A successful replay. ``applied`` is False when the inbox shows the event had
    already been applied (by a later redelivery or an earlier replay): nothing ran twice."""

    dead_letter: DeadLetter
    applied: bool


class ReplayFailed(Conflict):
    """The handler failed again; the error is on the dead letter as ``replay_error``."""

    slug = "replay-failed"


class NotReplayable(Conflict):
    slug = "not-replayable"


def envelope_document(data: bytes) -> dict[str, Any]:
    """What to keep of a message body: its JSON object, or the text itself."""
    try:
        document = json.loads(data)
    except ValueError:
        return {"raw": data.decode("utf-8", errors="replace")}
    return document if isinstance(document, dict) else {"raw": document}


async def store_dead_letter(
    session: AsyncSession,
    *,
    consumer: str,
    stream: str,
    stream_seq: int,
    subject: str,
    event_id: uuid.UUID | None,
    envelope: dict[str, Any],
    error: str,
    deliveries: int,
    schema: str | None = None,
) -> uuid.UUID:
    """Record a dead letter (in the caller's transaction); returns its id."""
    dead_letters = tables_for(schema).dead_letters
    dead_letter_id = new_id()
    conn = await session.connection()
    await conn.execute(
        insert(dead_letters).values(
            id=dead_letter_id,
            consumer=consumer,
            stream=stream,
            stream_seq=stream_seq,
            subject=subject,
            event_id=event_id,
            envelope=envelope,
            error=error[:MAX_ERROR_CHARS],
            deliveries=deliveries,
        )
    )
    return dead_letter_id


async def has_dead_letter(
    session: AsyncSession,
    *,
    consumer: str,
    stream: str,
    stream_seq: int,
    event_id: uuid.UUID | None,
    schema: str | None = None,
) -> bool:
    """Whether this message is already a dead letter of ``consumer``."""
    dead_letters = tables_for(schema).dead_letters
    conn = await session.connection()
    found = await conn.scalar(
        select(func.count())
        .select_from(dead_letters)
        .where(
            dead_letters.c.consumer == consumer,
            dead_letters.c.stream == stream,
            dead_letters.c.stream_seq == stream_seq,
            dead_letters.c.event_id.is_not_distinct_from(event_id),
        )
    )
    return bool(found)


# Oldest first: ids are time-ordered UUIDv7.
DEAD_LETTERS_BY_ID = sort_key("dead-letters")


async def list_dead_letters(
    session: AsyncSession,
    *,
    limit: int = DEFAULT_PAGE,
    cursor: str | None = None,
    after: uuid.UUID | None = None,
    replayed: bool | None = None,
    consumer: str | None = None,
    schema: str | None = None,
) -> DeadLetterPage:
    """Dead letters oldest first, ``limit`` at a time after ``cursor`` (keyset pages,
    :mod:`medley_core.pagination`); ``after``, the last id of the previous page, is the
    older form of the cursor.

    ``replayed``: True for replayed ones only, False for those still waiting, None for all.
    """
    limit = max(1, min(limit, MAX_PAGE))
    if after is not None:
        if cursor is not None:
            raise Unprocessable("give cursor or after, not both", field="after")
        cursor = DEAD_LETTERS_BY_ID.cursor_after({"id": after})
    dead_letters = tables_for(schema).dead_letters
    query = select(dead_letters)
    if replayed is True:
        query = query.where(dead_letters.c.replayed_at.is_not(None))
    elif replayed is False:
        query = query.where(dead_letters.c.replayed_at.is_(None))
    if consumer is not None:
        query = query.where(dead_letters.c.consumer == consumer)
    rows = await rows_page(
        session, query, DEAD_LETTERS_BY_ID, [dead_letters.c.id], cursor=cursor, limit=limit
    )
    page = rows.map(DeadLetter.from_row)
    return DeadLetterPage(
        items=page.items, next_cursor=page.next_cursor, next_after=page.next_after_id()
    )


async def get_dead_letter(
    session: AsyncSession, dead_letter_id: uuid.UUID, *, schema: str | None = None
) -> DeadLetter | None:
    dead_letters = tables_for(schema).dead_letters
    conn = await session.connection()
    row = (
        (await conn.execute(select(dead_letters).where(dead_letters.c.id == dead_letter_id)))
        .mappings()
        .first()
    )
    return DeadLetter.from_row(row) if row is not None else None


async def _locked_for_replay(
    conn: AsyncConnection, dead_letters: Table, dead_letter_id: uuid.UUID
) -> DeadLetter:
    """The dead letter, locked for this transaction; :class:`NotFound` if there is none,
    :class:`Conflict` if it was already replayed."""
    row = (
        (
            await conn.execute(
                select(dead_letters).where(dead_letters.c.id == dead_letter_id).with_for_update()
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"no dead letter {dead_letter_id}")
    letter = DeadLetter.from_row(row)
    if letter.replayed_at is not None:
        raise Conflict(
            f"dead letter {dead_letter_id} was already replayed",
            slug="already-replayed",
            replayed_at=letter.replayed_at.isoformat(),
        )
    return letter


def _replayable(
    letter: DeadLetter, handlers: Mapping[str, EventHandler]
) -> tuple[EventEnvelope, EventHandler]:
    """The letter's event and the handler it goes to again; :class:`NotReplayable` if it
    holds no valid envelope, or this service no longer handles its type."""
    try:
        envelope = EventEnvelope.model_validate(letter.envelope)
    except ValidationError as exc:
        raise NotReplayable(
            f"dead letter {letter.id} does not hold a valid event envelope",
            error=str(exc)[:MAX_ERROR_CHARS],
        ) from exc
    handler = handlers.get(envelope.type)
    if handler is None:
        raise NotReplayable(
            f"this service no longer handles {envelope.type} events",
            event_type=envelope.type,
        )
    return envelope, handler


async def replay_dead_letter(
    sessions: async_sessionmaker[AsyncSession],
    handlers: Mapping[str, EventHandler],
    dead_letter_id: uuid.UUID,
    *,
    schema: str | None = None,
) -> ReplayResult:
    """Run the event's handler again, through the inbox, and mark the dead letter replayed.

    Raises :class:`NotFound`, :class:`Conflict` (already replayed), :class:`NotReplayable`
    (not an envelope, or no handler for its type any more) or :class:`ReplayFailed` (the
    handler raised again; its error is saved as ``replay_error``). Concurrent replays of
    one dead letter run one after the other; the second finds it replayed.
    """
    dead_letters = tables_for(schema).dead_letters
    failure: str | None = None
    applied = False
    async with sessions() as session, session.begin():
        conn = await session.connection()
        letter = await _locked_for_replay(conn, dead_letters, dead_letter_id)
        envelope, handler = _replayable(letter, handlers)
        try:
            # A savepoint: a failing handler leaves the transaction usable to record why.
            async with session.begin_nested():
                applied = await apply_once(
                    session, letter.consumer, envelope, handler, schema=schema
                )
        except Exception as exc:
            failure = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
            await conn.execute(
                update(dead_letters)
                .where(dead_letters.c.id == dead_letter_id)
                .values(replay_error=failure)
            )
        else:
            await conn.execute(
                update(dead_letters)
                .where(dead_letters.c.id == dead_letter_id)
                .values(replayed_at=func.now(), replay_error=None)
            )
        updated = await get_dead_letter(session, dead_letter_id, schema=schema)
    assert updated is not None  # locked above, in this very transaction
    if failure is not None:
        raise ReplayFailed(
            f"replaying dead letter {dead_letter_id} failed again: {failure}",
            dead_letter_id=str(dead_letter_id),
            event_id=str(envelope.id),
            replay_error=failure,
        )
    return ReplayResult(dead_letter=updated, applied=applied)
