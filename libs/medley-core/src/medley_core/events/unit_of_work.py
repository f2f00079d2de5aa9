"""The unit of work: the events a transaction produces, collected as it runs and written to
the outbox once, just before it commits.

A write path says what it changed with :func:`collect` (or :func:`collect_many` for bulk
paths), after the write, with the entity's state as the write left it::

    collect(session, TRACK_UPDATED, track_payload(row), subject=str(track_id))

Nothing is written then: the event joins the change set of the session's transaction. Every
session a service opens (:func:`medley_core.db.create_session_factory`: the request's
``db_session``, :func:`medley_core.db.transaction`, the event consumers) writes its change
set to the outbox in SQLAlchemy's ``before_commit`` hook, once, with COPY when it is large
(:func:`medley_core.events.outbox.write_outbox`); a rollback drops it, and a savepoint
rolled back drops what was collected since it began.

**One event per entity per change.** An entity is the event's family (its name without the
last part: ``catalog.track``) and its subject. Collecting an event for an entity whose
latest event in this transaction is

* of the same type replaces that event's payload: the last state wins (two edits of a track
  in one transaction are one ``catalog.track.updated`` carrying the final state);
* ``<family>.created``, while this one is ``<family>.updated`` (same payload type), replaces
  the created event's payload: one ``.created`` carrying the final state.

Anything else is a change of its own and is kept, in order. So an entity created and then
deleted in one transaction publishes both events: its id was handed out and (in the
catalog, which deletes softly) its row can be restored, so consumers must have heard of it;
and a delete then a restore publishes the ``.deleted`` and the ``.updated`` after it. A
merged event keeps the id and place of the first one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeAlias, TypeVar

from pydantic import BaseModel
from sqlalchemy import event as sa_event
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_contracts.envelope import EventType
from medley_core import tracing
from medley_core.events.outbox import OutboxRow, check_event, write_outbox
from medley_core.ids import new_id, utcnow
from medley_core.tracing import propagation_headers

P = TypeVar("P", bound=BaseModel)

# (event type, payload, subject): one event for :func:`collect_many`.
PendingEvent: TypeAlias = tuple[EventType[Any], BaseModel, str]

CHANGE_SET_KEY = "medley.change_set"


def family(event: EventType[Any]) -> str:
    """The kind of entity an event is about: ``catalog.track.updated`` → ``catalog.track``."""
    return event.name.rpartition(".")[0]


def folds_into(latest: EventType[Any], new: EventType[Any]) -> bool:
    """Whether ``new`` is the same change as ``latest``, the entity's latest event in the
    transaction (see the module docstring)."""
    if new == latest:
        return True
    kind = family(new)
    return (
        new.name == f"{kind}.updated"
        and latest.name == f"{kind}.created"
        and new.payload is latest.payload
    )


@dataclass
class ChangeSet:
    """The events of one transaction, one per entity per change, in the order collected."""

    rows: list[OutboxRow] = field(default_factory=list)
    # (family, subject) → index in ``rows`` of the entity's latest event.
    latest: dict[tuple[str, str], int] = field(default_factory=dict)
    savepoints: dict[SessionTransaction, tuple[list[OutboxRow], dict[tuple[str, str], int]]] = (
        field(default_factory=dict)
    )

    def add(
        self,
        event: EventType[Any],
        payload: BaseModel,
        subject: str,
        occurred_at: datetime,
        headers: dict[str, str],
    ) -> uuid.UUID:
        """Add one checked event (merged into the entity's latest when it is the same
        change); returns the id the event is written with."""
        return self.add_many([(event, payload, subject)], occurred_at, headers)[0]

    def add_many(
        self, events: Sequence[PendingEvent], occurred_at: datetime, headers: dict[str, str]
    ) -> list[uuid.UUID]:
        """:meth:`add` for each of ``events`` in turn. Bulk paths add thousands of events
        of a handful of types: the per-event work is two dict look-ups and a tuple."""
        rows, latest = self.rows, self.latest
        families: dict[int, str] = {}  # by the event type's identity: cheaper than its hash
        ids: list[uuid.UUID] = []
        for event, payload, subject in events:
            kind = families.get(id(event))
            if kind is None:
                kind = families[id(event)] = family(event)
            entity = (kind, subject)
            index = latest.get(entity)
            if index is not None and folds_into(rows[index].event, event):
                kept = rows[index]
                rows[index] = kept._replace(payload=payload, occurred_at=occurred_at)
                ids.append(kept.id)
                continue
            latest[entity] = len(rows)
            row = OutboxRow(new_id(), event, subject, payload, occurred_at, headers)
            rows.append(row)
            ids.append(row.id)
        return ids

    def mark(self, savepoint: SessionTransaction) -> None:
        # Rows are immutable and replaced, never changed in place: shallow copies suffice.
        self.savepoints[savepoint] = (list(self.rows), dict(self.latest))

    def restore(self, savepoint: SessionTransaction) -> None:
        saved = self.savepoints.get(savepoint)
        if saved is not None:
            self.rows, self.latest = list(saved[0]), dict(saved[1])


class UnitOfWorkSession(Session):
    """The sync session behind every service's :class:`AsyncSession`: its transaction's
    change set goes to the outbox just before commit (the listeners below)."""


def change_set(session: AsyncSession | Session) -> ChangeSet:
    """The change set of the session's transaction (created on first use)."""
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    if not isinstance(sync, UnitOfWorkSession):
        raise TypeError(
            "events are collected on sessions from medley_core.db.create_session_factory, "
            "which write them to the outbox at commit"
        )
    if not sync.in_transaction():
        raise RuntimeError("events are collected inside a transaction (session.begin())")
    changes: ChangeSet | None = sync.info.get(CHANGE_SET_KEY)
    if changes is None:
        changes = sync.info[CHANGE_SET_KEY] = ChangeSet()
    return changes


def collect(
    session: AsyncSession,
    event: EventType[P],
    payload: P,
    *,
    subject: str,
    occurred_at: datetime | None = None,
) -> uuid.UUID:
    """Add ``event`` about the entity ``subject`` to the transaction's change set; it is
    written to the outbox when the transaction commits, and never if it rolls back.
    Returns the event's id (the id of the event it merged into, if it did)."""
    check_event(event, payload, subject)
    return change_set(session).add(
        event, payload, subject, occurred_at or utcnow(), propagation_headers()
    )


def collect_many(
    session: AsyncSession,
    events: Iterable[PendingEvent],
    *,
    occurred_at: datetime | None = None,
) -> list[uuid.UUID]:
    """:func:`collect` for many events (bulk paths): all are checked before any joins the
    change set. Returns their ids in order."""
    pending = list(events)
    for event, payload, subject in pending:
        check_event(event, payload, subject)
    if not pending:
        return []
    return change_set(session).add_many(pending, occurred_at or utcnow(), propagation_headers())


# --- the change set's life: written before commit, dropped on rollback ------------------------


@sa_event.listens_for(UnitOfWorkSession, "before_commit")
def _write_before_commit(session: Session) -> None:
    # A savepoint's commit (RELEASE) keeps its events for the transaction's own commit.
    if session.in_nested_transaction():
        return
    changes: ChangeSet | None = session.info.pop(CHANGE_SET_KEY, None)
    if changes is None:
        return
    if tracing.tracing_enabled() and changes.rows:
        _write_traced(session, changes.rows)
    else:
        write_outbox(session.connection(), changes.rows)


def _write_traced(session: Session, rows: list[OutboxRow]) -> None:
    """The outbox write as a span, child of the request (or message) that collected the
    events; each row keeps this span as its parent, so the relay's publish continues it."""
    parent = rows[0].headers.get("traceparent")
    attributes: dict[str, str | int | float | bool] = {
        "messaging.batch.message_count": len(rows),
        "medley.event.type": rows[0].event.name,
    }
    with tracing.span("outbox write", parent=parent, attributes=attributes) as span:
        if span is not None:
            traceparent = tracing.traceparent_of(span)
            # Rows of one collect share one headers dict: one copy each, not one per row.
            retagged: dict[int, dict[str, str]] = {}
            for index, row in enumerate(rows):
                headers = retagged.get(id(row.headers))
                if headers is None:
                    headers = {**row.headers, "traceparent": traceparent}
                    retagged[id(row.headers)] = headers
                rows[index] = row._replace(headers=headers)
        write_outbox(session.connection(), rows)


@sa_event.listens_for(UnitOfWorkSession, "after_transaction_create")
def _mark_savepoint(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        changes: ChangeSet | None = session.info.get(CHANGE_SET_KEY)
        if changes is None:
            changes = session.info[CHANGE_SET_KEY] = ChangeSet()
        changes.mark(transaction)


@sa_event.listens_for(UnitOfWorkSession, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    changes: ChangeSet | None = session.info.get(CHANGE_SET_KEY)
    if changes is None:
        return
    if previous_transaction.nested:
        changes.restore(previous_transaction)
    else:
        del session.info[CHANGE_SET_KEY]


@sa_event.listens_for(UnitOfWorkSession, "after_transaction_end")
def _end(session: Session, transaction: SessionTransaction) -> None:
    # A savepoint's copy is kept until the transaction ends: SQLAlchemy ends a savepoint
    # before it reports the rollback that restores from it.
    if transaction.parent is None and not transaction.nested:
        # Committed (written already), rolled back or closed: nothing survives the transaction.
        session.info.pop(CHANGE_SET_KEY, None)


__all__ = [
    "ChangeSet",
    "PendingEvent",
    "UnitOfWorkSession",
    "change_set",
    "collect",
    "collect_many",
]
