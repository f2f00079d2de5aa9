"""API tokens for scrobbling clients (ListenBrainz style ``Authorization: Token …``).

A token is 256 random bits behind the ``mdl_`` prefix, shown once when created and stored
only as its SHA-256. The gateway resolves a presented token to its user through an internal
endpoint that only service tokens with the ``api-tokens:resolve`` scope may call.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_core.errors import Conflict, Forbidden, NotFound
from medley_core.ids import utcnow
from medley_users.models import ApiToken, User
from medley_users.tokens import token_hash

TOKEN_PREFIX = "mdl_"  # noqa: S105 - a marker, not a secret
TOKEN_BYTES = 32
DISPLAY_PREFIX_LENGTH = 12  # "mdl_" and 8 characters: enough to tell tokens apart
NAME_MAX = 100
# last_used_at is a hint, not an audit log: write it at most this often per token.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def new_api_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def display_prefix(token: str) -> str:
    return token[:DISPLAY_PREFIX_LENGTH]


@dataclass(frozen=True)
class CreatedApiToken:
    row: ApiToken
    token: str  # the secret: returned once, never stored


@dataclass(frozen=True)
class ResolvedApiToken:
    token_id: uuid.UUID
    user_id: uuid.UUID
    username: str


async def create(
    session: AsyncSession, user_id: uuid.UUID, name: str, *, max_per_user: int
) -> CreatedApiToken:
    count = (
        await session.exec(
            select(func.count()).select_from(ApiToken).where(col(ApiToken.user_id) == user_id)
        )
    ).one()
    if count >= max_per_user:
        raise Conflict(
            f"you already have {count} API tokens (the most allowed); revoke one first",
            slug="too-many-api-tokens",
        )
    token = new_api_token()
    row = ApiToken(
        user_id=user_id,
        name=name.strip(),
        prefix=display_prefix(token),
        token_hash=token_hash(token),
        created_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    return CreatedApiToken(row, token)


async def list_for(session: AsyncSession, user_id: uuid.UUID) -> list[ApiToken]:
    return list(
        (
            await session.exec(
                select(ApiToken)
                .where(col(ApiToken.user_id) == user_id)
                .order_by(col(ApiToken.created_at), col(ApiToken.id))
            )
        ).all()
    )


async def get_for(session: AsyncSession, user_id: uuid.UUID, token_id: uuid.UUID) -> ApiToken:
    """One of the user's tokens; 404 if it is not theirs (or revoked)."""
    found = (
        await session.exec(
            select(ApiToken).where(col(ApiToken.id) == token_id, col(ApiToken.user_id) == user_id)
        )
    ).first()
    if found is None:
        raise NotFound("no such API token")
    return found


async def revoke(session: AsyncSession, user_id: uuid.UUID, token_id: uuid.UUID) -> None:
    """Revoke (delete) one of the user's tokens; 404 if it is not theirs."""
    result = await session.exec(
        delete(ApiToken).where(col(ApiToken.id) == token_id, col(ApiToken.user_id) == user_id)
    )
    if not result.rowcount:
        raise NotFound("no such API token")


async def resolve(session: AsyncSession, token: str) -> ResolvedApiToken:
    """Whose token this is. 404 for a token that is unknown or revoked (the same answer:
    nothing tells a guesser whether a token ever existed); 403 if the account is disabled."""
    if not token.startswith(TOKEN_PREFIX):
        raise NotFound("unknown or revoked API token", slug="api-token-unknown")
    row = (
        await session.exec(
            select(ApiToken.id, ApiToken.user_id, User.username, User.disabled_at)
            .join(User, col(User.id) == col(ApiToken.user_id))
            .where(col(ApiToken.token_hash) == token_hash(token))
        )
    ).one_or_none()
    if row is None:
        raise NotFound("unknown or revoked API token", slug="api-token-unknown")
    token_id, user_id, username, disabled_at = row
    if disabled_at is not None:
        raise Forbidden("the account of this API token is disabled", slug="account-disabled")
    now = utcnow()
    await session.exec(
        update(ApiToken)
        .where(
            col(ApiToken.id) == token_id,
            (col(ApiToken.last_used_at).is_(None))
            | (col(ApiToken.last_used_at) < now - LAST_USED_RESOLUTION),
        )
        .values(last_used_at=now)
    )
    return ResolvedApiToken(token_id=token_id, user_id=user_id, username=username)
