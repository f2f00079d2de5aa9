"""``/api/v1/admin``: what operators do to accounts. The ``admin`` role, checked here."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.params import FromPath, Parameter

from medley_core.auth import require_roles
from medley_gateway.api.common import USERS, responses
from medley_gateway.docs import BEARER
from medley_gateway.schemas import AdminUser, Erasure, UserPage
from medley_gateway.upstreams import forward, path_segment

_AUTH = (401, 403)


class AdminController(Controller):
    path = "/api/v1/admin"
    tags = ["admin"]
    guards = [require_roles("admin")]
    security = BEARER

    @get(
        "/users",
        summary="List accounts",
        responses=responses((200, UserPage, "A page."), *_AUTH, 400),
    )
    async def list_users(
        self,
        request: Request[Any, Any, Any],
        limit: Annotated[int | None, Parameter(description="page size (1-500, default 50)")] = None,
        after: Annotated[
            uuid.UUID | None, Parameter(description="the previous page's `next_after`")
        ] = None,
        q: Annotated[str | None, Parameter(description="username or email contains")] = None,
        status: Annotated[str | None, Parameter(description="`active` or `disabled`")] = None,
        role: Annotated[str | None, Parameter(description="`user` or `admin`")] = None,
    ) -> Response[bytes]:
        """Accounts, oldest first, a page at a time. The query string is passed to the users
        service as it came; it checks the values."""
        return await forward(request, USERS, "/admin/users")

    @post(
        "/users/{user_id:uuid}/disable",
        status_code=200,
        summary="Disable an account",
        responses=responses((200, AdminUser, "Disabled; its sessions are revoked."), *_AUTH, 404),
    )
    async def disable_user(
        self, request: Request[Any, Any, Any], user_id: FromPath[uuid.UUID]
    ) -> Response[bytes]:
        return await forward(request, USERS, f"/admin/users/{user_id}/disable")

    @post(
        "/users/{user_id:uuid}/enable",
        status_code=200,
        summary="Enable an account",
        responses=responses((200, AdminUser, "Enabled."), *_AUTH, 404),
    )
    async def enable_user(
        self, request: Request[Any, Any, Any], user_id: FromPath[uuid.UUID]
    ) -> Response[bytes]:
        return await forward(request, USERS, f"/admin/users/{user_id}/enable")

    @put(
        "/users/{user_id:uuid}/roles/{role:str}",
        status_code=200,
        summary="Grant a role (admin)",
        responses=responses((200, AdminUser, "The account, with the role."), *_AUTH, 404, 422),
    )
    async def grant_role(
        self, request: Request[Any, Any, Any], user_id: FromPath[uuid.UUID], role: FromPath[str]
    ) -> Response[bytes]:
        """Give an account the `admin` role (nothing changes if it has it). Its next login or
        refresh carries the role."""
        return await forward(request, USERS, f"/admin/users/{user_id}/roles/{path_segment(role)}")

    @delete(
        "/users/{user_id:uuid}/roles/{role:str}",
        status_code=200,
        summary="Revoke a role (admin)",
        responses=responses(
            (200, AdminUser, "The account, without the role."), *_AUTH, 404, 409, 422
        ),
    )
    async def revoke_role(
        self, request: Request[Any, Any, Any], user_id: FromPath[uuid.UUID], role: FromPath[str]
    ) -> Response[bytes]:
        """Take the `admin` role from an account (one's own too); refused (409) when it is the
        last enabled admin. Access tokens already issued keep it until they expire."""
        return await forward(request, USERS, f"/admin/users/{user_id}/roles/{path_segment(role)}")

    @get(
        "/erasures/{user_id:uuid}",
        summary="An account erasure's progress",
        responses=responses(
            (200, Erasure, "Which contexts have erased the user's data."), *_AUTH, 404
        ),
    )
    async def get_erasure(
        self, request: Request[Any, Any, Any], user_id: FromPath[uuid.UUID]
    ) -> Response[bytes]:
        return await forward(request, USERS, f"/admin/erasures/{user_id}")
