"""The bootstrap admin: how a new deployment gets its first administrator.

``MEDLEY_USERS_BOOTSTRAP_ADMIN`` names a username. The role is granted once, to that account,
while no admin exists: when it registers, or at start-up if it already exists. The grant is
recorded (``bootstrap_grant``, one row ever) in the same transaction, so from then on nothing
grants it again: not a restart, not a re-registration of the name after the account was
deleted, not another name in the setting. Admins hand the role on with :mod:`medley_users.roles`.

Email addresses never count: they are not verified, so anyone could register the configured
one or change theirs to it.
"""

from __future__ import annotations

from sqlalchemy import String, exists, func, literal
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_core.ids import utcnow
from medley_users.models import ROLE_ADMIN, BootstrapGrant, User
from medley_users.settings import UsersSettings


async def claim(session: AsyncSession, settings: UsersSettings, user: User) -> bool:
    """Make ``user`` admin if it is the bootstrap admin and the bootstrap is unused; whether
    it did. Runs in the caller's transaction (a registration, or start-up)."""
    if settings.bootstrap_admin is None or user.username != settings.bootstrap_admin:
        return False
    no_admin = ~exists().where(col(User.roles).contains([ROLE_ADMIN]))
    # The one-row key settles races (replicas starting together, a registration during a
    # start): one insert wins, the others insert nothing and grant nothing.
    granted = await session.exec(
        insert(BootstrapGrant)
        .from_select(
            ["user_id", "username", "granted_at"],
            sa_select(
                literal(user.id, PG_UUID(as_uuid=True)),
                literal(user.username, String()),
                func.now(),
            ).where(no_admin),
        )
        .on_conflict_do_nothing()
        .returning(col(BootstrapGrant.user_id))
    )
    if granted.first() is None:
        return False
    user.roles = [*user.roles, ROLE_ADMIN]
    user.updated_at = utcnow()
    session.add(user)
    await session.flush()
    return True


async def grant_at_start_up(session: AsyncSession, settings: UsersSettings) -> bool:
    """The bootstrap for an account registered before the setting named it."""
    if settings.bootstrap_admin is None:
        return False
    user = (
        await session.exec(
            select(User).where(col(User.username) == settings.bootstrap_admin).with_for_update()
        )
    ).one_or_none()
    return user is not None and await claim(session, settings, user)
