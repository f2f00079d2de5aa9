"""Dependencies the controllers share: the users toolkit and the calling account."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from medley_core.auth import Principal
from medley_users import accounts
from medley_users.models import User


async def provide_current_user(principal: Principal, db_session: AsyncSession) -> User:
    """The caller's account, still existing and enabled (a token outlives neither).

    403 for a service token; 401 if the account was deleted or disabled since the token
    was issued.
    """
    return await accounts.active_user(db_session, principal.user_id)
