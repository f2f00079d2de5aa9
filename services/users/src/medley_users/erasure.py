"""The erasure saga: an account deletion is complete when every context has erased what it
holds for the user.

Deleting an account creates an erasure and one step per context expected to answer (the
configured ``erasure_contexts``) plus ``users``, whose step completes at once because the
users context deletes its own data in the same transaction. Each
``<context>.user_data.erased`` event completes its step (idempotently); the erasure is
complete when no step is left.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_core.ids import utcnow
from medley_users.models import Erasure, ErasureStep

USERS_CONTEXT = "users"
ErasureState = Literal["pending", "completed"]


@dataclass(frozen=True)
class ErasureStatus:
    erasure_id: uuid.UUID
    user_id: uuid.UUID
    status: ErasureState
    requested_at: datetime
    completed_at: datetime | None
    contexts_done: list[str]
    contexts_missing: list[str]


async def start(
    session: AsyncSession,
    user_id: uuid.UUID,
    contexts: Sequence[str],
    *,
    now: datetime | None = None,
) -> Erasure:
    """Create the erasure of ``user_id``: the users step done, the others pending."""
    now = now or utcnow()
    others = [c for c in dict.fromkeys(contexts) if c != USERS_CONTEXT]
    erasure = Erasure(user_id=user_id, requested_at=now, completed_at=None if others else now)
    session.add(erasure)
    await session.flush()
    session.add(ErasureStep(erasure_id=erasure.id, context=USERS_CONTEXT, completed_at=now))
    for context in others:
        session.add(ErasureStep(erasure_id=erasure.id, context=context))
    await session.flush()
    return erasure


async def mark_erased(
    session: AsyncSession,
    erasure_id: uuid.UUID,
    context: str,
    *,
    erased_at: datetime | None = None,
) -> bool:
    """Record that ``context`` erased its data; True when this completed the erasure.

    Idempotent: a step already done keeps its first time, an unknown erasure or a context
    that was not expected changes nothing. The erasure row is locked first, so two contexts
    answering at once cannot both miss that they were the last.
    """
    erasure = (
        await session.exec(select(Erasure).where(col(Erasure.id) == erasure_id).with_for_update())
    ).one_or_none()
    if erasure is None or erasure.completed_at is not None:
        return False
    await session.exec(
        update(ErasureStep)
        .where(
            col(ErasureStep.erasure_id) == erasure_id,
            col(ErasureStep.context) == context,
            col(ErasureStep.completed_at).is_(None),
        )
        .values(completed_at=erased_at or utcnow())
    )
    missing = (
        await session.exec(
            select(ErasureStep.context).where(
                col(ErasureStep.erasure_id) == erasure_id, col(ErasureStep.completed_at).is_(None)
            )
        )
    ).first()
    if missing is not None:
        return False
    await session.exec(
        update(Erasure).where(col(Erasure.id) == erasure_id).values(completed_at=utcnow())
    )
    return True


async def status_for_user(session: AsyncSession, user_id: uuid.UUID) -> ErasureStatus | None:
    erasure = (
        await session.exec(select(Erasure).where(col(Erasure.user_id) == user_id))
    ).one_or_none()
    if erasure is None:
        return None
    steps = (
        await session.exec(
            select(ErasureStep)
            .where(col(ErasureStep.erasure_id) == erasure.id)
            .order_by(col(ErasureStep.context))
        )
    ).all()
    return ErasureStatus(
        erasure_id=erasure.id,
        user_id=erasure.user_id,
        status="completed" if erasure.completed_at is not None else "pending",
        requested_at=erasure.requested_at,
        completed_at=erasure.completed_at,
        contexts_done=[s.context for s in steps if s.completed_at is not None],
        contexts_missing=[s.context for s in steps if s.completed_at is None],
    )
