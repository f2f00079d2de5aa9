"""Roles administrators give and take: how admin is handed on after the bootstrap.

``user`` is every account's base role and is not managed here; ``admin`` is granted by an
admin and taken back by an admin (their own too), as long as one enabled admin remains.
Taking it back ends the access tokens that still carry it, everywhere (a revocation event).
"""

from __future__ import annotations

import uuid

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_core.errors import Conflict, NotFound
from medley_core.ids import utcnow
from medley_users import accounts
from medley_users.models import ROLE_ADMIN, User

MANAGED_ROLES = (ROLE_ADMIN,)


async def grant(session: AsyncSession, user_id: uuid.UUID, role: str) -> User:
    """Give ``role`` to the account (nothing changes if it has it)."""
    assert role in MANAGED_ROLES
    user = await session.get(User, user_id, with_for_update=True, populate_existing=True)
    if user is None:
        raise NotFound("no such user")
    if role not in user.roles:
        user.roles = [*user.roles, role]
        user.updated_at = utcnow()
        session.add(user)
        await session.flush()
    return user


async def revoke(session: AsyncSession, user_id: uuid.UUID, role: str) -> User:
    """Take ``role`` from the account; refused if that would leave no enabled admin."""
    assert role in MANAGED_ROLES
    # Lock every admin row first: two admins revoking each other at once serialise here,
    # and the second sees the first's change, so they cannot both go.
    admins = (
        await session.exec(
            select(User.id, User.disabled_at)
            .where(col(User.roles).contains([ROLE_ADMIN]))
            .with_for_update()
        )
    ).all()
    # The acting admin's own row may already be loaded (as ``me``): read it again, locked.
    user = await session.get(User, user_id, with_for_update=True, populate_existing=True)
    if user is None:
        raise NotFound("no such user")
    if role not in user.roles:
        return user
    if role == ROLE_ADMIN and not any(
        admin_id != user.id and disabled_at is None for admin_id, disabled_at in admins
    ):
        raise Conflict(
            "this is the last enabled admin: grant admin to another account first",
            slug="last-admin",
        )
    now = utcnow()
    user.roles = [r for r in user.roles if r != role]
    user.updated_at = now
    # Access tokens carry roles and are verified without asking us: end the tokens that
    # still say admin everywhere. The sessions stay: a refresh gets a token without it.
    await accounts.revoke_access_tokens(session, user, now, reason="role-revoked")
    return user
