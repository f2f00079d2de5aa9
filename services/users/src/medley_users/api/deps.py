"""Dependencies the controllers share: the users toolkit and the calling account, and the
explicit markers for every injected parameter (Litestar 3 drops inferred dependencies)."""

from __future__ import annotations

from typing import Any, TypeAlias

from litestar import Request
from litestar.di import NamedDependency

from medley_core.app import Caller as Caller
from medley_core.app import Runtime as Runtime
from medley_core.app import Session as Session
from medley_core.app import rows_of
from medley_core.auth import authenticate
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


async def provide_current_user_to_read(request: Request[Any, Any, Any]) -> User:
    """:func:`provide_current_user` for a handler that only reads the account: the same
    checks, one statement and no transaction or session around it (the row by its key,
    :mod:`medley_core.rows`), one dependency rather than three."""
    principal = await authenticate(request)
    return await accounts.active_user(rows_of(request), principal.user_id)
