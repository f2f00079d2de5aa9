"""What administrators do: list accounts, disable/enable them, follow erasures, rotate the
integration key."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from litestar import Controller, get, post
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, Parameter
from litestar.status_codes import HTTP_200_OK

from medley_core.auth import require_roles
from medley_core.problems import NotFound
from medley_users import accounts, erasure, integrations
from medley_users.api.deps import Me, Session, Users, provide_current_user
from medley_users.api.schemas import (
    AdminUserOut,
    ErasureStatusOut,
    ReencryptedOut,
    UserPageOut,
)
from medley_users.models import ROLE_ADMIN, ROLES


class AdminController(Controller):
    path = "/admin"
    tags = ["admin"]
    guards = [require_roles(ROLE_ADMIN)]
    # The admin's own account must still exist and be enabled, whatever the token says.
    dependencies = {"me": Provide(provide_current_user)}

    @get("/users", summary="Accounts, oldest first, a page at a time (keyset: ?after=)")
    async def list_users(
        self,
        me: Me,
        db_session: Session,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 50,
        after: FromQuery[uuid.UUID | None] = None,
        q: Annotated[str | None, Parameter(max_length=100)] = None,
        status: FromQuery[Literal["active", "disabled"] | None] = None,
        role: FromQuery[Literal["user", "admin"] | None] = None,
    ) -> UserPageOut:
        assert role is None or role in ROLES
        page = await accounts.list_users(
            db_session, limit=limit, after=after, query=q, status=status, role=role
        )
        return UserPageOut(
            items=[AdminUserOut.of(u) for u in page.items], next_after=page.next_after
        )

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
