"""Dependencies the controllers share: the users toolkit and the calling account, and the
explicit markers for every injected parameter (Litestar 3 drops inferred dependencies)."""

from __future__ import annotations

from typing import TypeAlias

from litestar.di import NamedDependency
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_core.app import ServiceRuntime
from medley_core.verification import Principal
from medley_users import accounts
from medley_users.context import UsersContext
from medley_users.models import User

Session: TypeAlias = NamedDependency[AsyncSession]
Users: TypeAlias = NamedDependency[UsersContext]
Runtime: TypeAlias = NamedDependency[ServiceRuntime]
Me: TypeAlias = NamedDependency[User]


async def provide_current_user(principal: NamedDependency[Principal], db_session: Session) -> User:
    """The caller's account, still existing and enabled (a token outlives neither).

    403 for a service token; 401 if the account was deleted or disabled since the token
    was issued.
    """
    return await accounts.active_user(db_session, principal.user_id)
