"""What administrators do: list accounts, disable/enable them, grant and revoke admin,
follow erasures, rotate the integration key."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, Parameter
from litestar.status_codes import HTTP_200_OK

from medley_core.api_params import Cursor
from medley_core.auth import require_roles
from medley_core.errors import Forbidden, NotFound, Unprocessable
from medley_core.verification import Principal
from medley_users import accounts, erasure, integrations, roles
from medley_users.api.deps import Me, Session, Users, provide_current_user
from medley_users.api.schemas import (
    AdminUserOut,
    ErasureStatusOut,
    ReencryptedOut,
    UserPageOut,
)
from medley_users.models import ROLE_ADMIN, ROLES, User


async def provide_current_admin(principal: NamedDependency[Principal], db_session: Session) -> User:
    """The calling admin's account, still existing, enabled and admin, whatever the token
    says: an access token outlives a revoked role by up to its lifetime."""
    user = await provide_current_user(principal, db_session)
    if ROLE_ADMIN not in user.roles:
        raise Forbidden("this account is no longer an admin", slug="not-an-admin")
    return user


def _managed(role: str) -> str:
    if role not in roles.MANAGED_ROLES:
        raise Unprocessable(
            f"only these roles are granted and revoked: {', '.join(roles.MANAGED_ROLES)}",
            errors=[{"field": "role", "message": "not a role administrators manage"}],
        )
    return role


class AdminController(Controller):
    path = "/admin"
    tags = ["admin"]
    guards = [require_roles(ROLE_ADMIN)]
    dependencies = {"me": Provide(provide_current_admin)}

    @get("/users", summary="Accounts, oldest first, a keyset page at a time (?cursor=)")
    async def list_users(
        self,
        me: Me,
        db_session: Session,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 50,
        cursor: Cursor = None,
        after: Annotated[
            uuid.UUID | None,
            Parameter(description="the older form of cursor: the previous page's next_after"),
        ] = None,
        q: Annotated[str | None, Parameter(max_length=100)] = None,
        status: FromQuery[Literal["active", "disabled"] | None] = None,
        role: FromQuery[Literal["user", "admin"] | None] = None,
    ) -> UserPageOut:
        assert role is None or role in ROLES
        page = await accounts.list_users(
            db_session, limit=limit, cursor=cursor, after=after, query=q, status=status, role=role
        )
        return UserPageOut.of(page.map(AdminUserOut.of))

    @post("/users/{user_id:uuid}/disable", status_code=HTTP_200_OK, summary="Disable an account")
    async def disable(
        self, user_id: FromPath[uuid.UUID], me: Me, db_session: Session, users: Users
    ) -> AdminUserOut:
        user = await accounts.set_disabled(
            db_session, users, user_id, disabled=True, acting_user_id=me.id
        )
        return AdminUserOut.of(user)

    @post("/users/{user_id:uuid}/enable", status_code=HTTP_200_OK, summary="Enable an account")
    async def enable(
        self, user_id: FromPath[uuid.UUID], me: Me, db_session: Session, users: Users
    ) -> AdminUserOut:
        user = await accounts.set_disabled(
            db_session, users, user_id, disabled=False, acting_user_id=me.id
        )
        return AdminUserOut.of(user)

    @put(
        "/users/{user_id:uuid}/roles/{role:str}",
        status_code=HTTP_200_OK,
        summary="Grant a role (admin) to an account",
    )
    async def grant_role(
        self, user_id: FromPath[uuid.UUID], role: FromPath[str], me: Me, db_session: Session
    ) -> AdminUserOut:
        return AdminUserOut.of(await roles.grant(db_session, user_id, _managed(role)))

    @delete(
        "/users/{user_id:uuid}/roles/{role:str}",
        status_code=HTTP_200_OK,
        summary="Revoke a role (admin) from an account; the last enabled admin keeps it",
    )
    async def revoke_role(
        self, user_id: FromPath[uuid.UUID], role: FromPath[str], me: Me, db_session: Session
    ) -> AdminUserOut:
        return AdminUserOut.of(await roles.revoke(db_session, user_id, _managed(role)))

    @get("/erasures/{user_id:uuid}", summary="Where the erasure of a deleted account stands")
    async def erasure_status(
        self, user_id: FromPath[uuid.UUID], me: Me, db_session: Session
    ) -> ErasureStatusOut:
        found = await erasure.status_for_user(db_session, user_id)
        if found is None:
            raise NotFound("no erasure for this user")
        return ErasureStatusOut.of(found)

    @post(
        "/integrations/reencrypt",
        status_code=HTTP_200_OK,
        summary="Re-encrypt integration tokens under the current key (after a rotation)",
    )
    async def reencrypt(self, me: Me, db_session: Session, users: Users) -> ReencryptedOut:
        count = await integrations.reencrypt_all(db_session, users.cipher)
        return ReencryptedOut(reencrypted=count, key_id=users.cipher.current_id)
