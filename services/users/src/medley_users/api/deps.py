"""Dependencies the controllers share: the users toolkit and the calling account, and the
explicit markers for every injected parameter (Litestar 3 drops inferred dependencies)."""

from __future__ import annotations

from typing import TypeAlias

from litestar.di import NamedDependency

from medley_core.app import Caller as Caller
from medley_core.app import Runtime as Runtime
from medley_core.app import Session as Session
from medley_users import accounts
from medley_users.context import UsersContext
from medley_users.models import User

Users: TypeAlias = NamedDependency[UsersContext]
Me: TypeAlias = NamedDependency[User]


async def provide_current_user(principal: Caller, db_session: Session) -> User:
    """The caller's account, still existing and enabled (a token outlives neither).

    403 for a service token; 401 if the account was deleted or disabled since the token
    was issued.
    """
    return await accounts.active_user(db_session, principal.user_id)
