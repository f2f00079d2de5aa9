"""Events published by the users context (version 1)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from medley_contracts.envelope import EventType


class UserRegisteredV1(BaseModel):
    model_config = ConfigDict(frozen=True)

    user_id: uuid.UUID
    username: str
    display_name: str | None
    registered_at: datetime


class UserDeletedV1(BaseModel):
    """An account was deleted: every context erases what it holds for ``user_id``
    and answers with ``<context>.user_data.erased``."""

    model_config = ConfigDict(frozen=True)

    user_id: uuid.UUID
    erasure_id: uuid.UUID
    deleted_at: datetime


class UserDisabledV1(BaseModel):
    """An administrator disabled the account: its sessions are over, and every access token
    issued before ``disabled_at`` is refused everywhere (not only when it expires)."""

    model_config = ConfigDict(frozen=True)

    user_id: uuid.UUID
    disabled_at: datetime


class UserSessionsRevokedV1(BaseModel):
    """Every session of the account that existed at ``revoked_at`` ended (a password
    change, say): access tokens issued before then are refused everywhere."""

    model_config = ConfigDict(frozen=True)

    user_id: uuid.UUID
    revoked_at: datetime
    reason: str


class UserDataErasedV1(BaseModel):
    """A context finished erasing a deleted user's data (published by every context)."""

    model_config = ConfigDict(frozen=True)

    user_id: uuid.UUID
    erasure_id: uuid.UUID
    context: str
    erased_at: datetime


USER_REGISTERED = EventType("users.user.registered", 1, UserRegisteredV1)
USER_DELETED = EventType("users.user.deleted", 1, UserDeletedV1)
USER_DISABLED = EventType("users.user.disabled", 1, UserDisabledV1)
USER_SESSIONS_REVOKED = EventType("users.user.sessions_revoked", 1, UserSessionsRevokedV1)
USER_DATA_ERASED = EventType("users.user_data.erased", 1, UserDataErasedV1)


def user_data_erased(context: str) -> EventType[UserDataErasedV1]:
    """The erasure answer a context publishes: ``catalog.user_data.erased``…"""
    return EventType(f"{context}.user_data.erased", 1, UserDataErasedV1)
