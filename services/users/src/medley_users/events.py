"""What the users context publishes and how it reacts to other contexts' events (completing
the erasure saga).

Write paths collect these events into the transaction's unit of work
(:mod:`medley_core.events.unit_of_work`), which writes them to the outbox once, at commit.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from medley_contracts.envelope import EventEnvelope
from medley_contracts.users import (
    USER_DATA_ERASED,
    USER_DELETED,
    USER_DISABLED,
    USER_REGISTERED,
    USER_SESSIONS_REVOKED,
    UserDataErasedV1,
    UserDeletedV1,
    UserDisabledV1,
    UserRegisteredV1,
    UserSessionsRevokedV1,
    user_data_erased,
)
from medley_core.events.runtime import EventHandler
from medley_core.events.unit_of_work import collect
from medley_users import erasure
from medley_users.models import User

log = logging.getLogger("medley.users.events")

PUBLISHES = (USER_REGISTERED, USER_DELETED, USER_DISABLED, USER_SESSIONS_REVOKED, USER_DATA_ERASED)


def user_registered(session: AsyncSession, user: User) -> None:
    collect(
        session,
        USER_REGISTERED,
        UserRegisteredV1(
            user_id=user.id,
            username=user.username,
            display_name=user.display_name,
            registered_at=user.created_at,
        ),
        subject=str(user.id),
    )


def user_deleted(
    session: AsyncSession, user_id: uuid.UUID, erasure_id: uuid.UUID, deleted_at: datetime
) -> None:
    """The account is gone: every context erases the user's data and answers."""
    collect(
        session,
        USER_DELETED,
        UserDeletedV1(user_id=user_id, erasure_id=erasure_id, deleted_at=deleted_at),
        subject=str(user_id),
        occurred_at=deleted_at,
    )
    # The users context's own answer: its part was done in this very transaction.
    collect(
        session,
        USER_DATA_ERASED,
        UserDataErasedV1(
            user_id=user_id, erasure_id=erasure_id, context="users", erased_at=deleted_at
        ),
        subject=str(user_id),
        occurred_at=deleted_at,
    )


def user_disabled(session: AsyncSession, user_id: uuid.UUID, disabled_at: datetime) -> None:
    """Every verifier refuses the account's access tokens from now on (not at expiry)."""
    collect(
        session,
        USER_DISABLED,
        UserDisabledV1(user_id=user_id, disabled_at=disabled_at),
        subject=str(user_id),
        occurred_at=disabled_at,
    )


def sessions_revoked(
    session: AsyncSession, user_id: uuid.UUID, revoked_at: datetime, reason: str
) -> None:
    """Every verifier refuses the access tokens issued before ``revoked_at``."""
    collect(
        session,
        USER_SESSIONS_REVOKED,
        UserSessionsRevokedV1(user_id=user_id, revoked_at=revoked_at, reason=reason),
        subject=str(user_id),
        occurred_at=revoked_at,
    )


def erasure_handler(context: str) -> EventHandler:
    """The handler of ``<context>.user_data.erased``: completes that context's step."""
    event_type = user_data_erased(context)

    async def handle(session: AsyncSession, envelope: EventEnvelope) -> None:
        payload = event_type.parse(envelope)
        completed = await erasure.mark_erased(
            session, payload.erasure_id, context, erased_at=payload.erased_at
        )
        log.info(
            "erasure %s: %s erased user %s%s",
            payload.erasure_id,
            context,
            payload.user_id,
            "; erasure complete" if completed else "",
        )

    return handle


def handlers(erasure_contexts: Iterable[str]) -> dict[str, EventHandler]:
    """``{event type: handler}`` for the app factory: one per context that must answer."""
    return {user_data_erased(c).name: erasure_handler(c) for c in erasure_contexts}
