"""``/api/v1/me``: the caller's own account, API tokens and connected integrations.

Every route needs a user access token, verified here before the users service is called;
the caller's ``Authorization`` is forwarded so the users service acts for them.
"""

from __future__ import annotations

import uuid
from typing import Any, cast

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.params import FromPath, JSONBody

from medley_core.auth import require_user
from medley_gateway.api.common import USERS, responses
from medley_gateway.docs import BEARER
from medley_gateway.schemas import (
    ApiToken,
    ApiTokenCreated,
    ApiTokenRequest,
    ChangePasswordRequest,
    DeleteMeRequest,
    ErasureStarted,
    Integration,
    IntegrationRequest,
    TokenPair,
    UpdateMeRequest,
    User,
)
from medley_gateway.upstreams import forward, path_segment

_AUTH = (401, 403)


class MeController(Controller):
    path = "/api/v1/me"
    tags = ["me"]
    guards = [require_user()]
    security = BEARER

    @get("/", summary="Who am I", responses=responses((200, User, "The caller."), *_AUTH))
    async def get_me(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        return await forward(request, USERS, "/me")

    @patch(
        "/",
        summary="Update my profile",
        responses=responses((200, User, "The updated account."), *_AUTH, 400, 409, 413, 422),
    )
    async def update_me(
        self, request: Request[Any, Any, Any], data: JSONBody[UpdateMeRequest]
    ) -> Response[bytes]:
        return await forward(request, USERS, "/me")

    @delete(
        "/",
        status_code=202,
        summary="Delete my account",
        responses=responses(
            (202, ErasureStarted, "The account is gone; the erasure of its data started."),
            *_AUTH,
            400,
            413,
            422,
        ),
    )
    async def delete_me(
        self, request: Request[Any, Any, Any], data: JSONBody[DeleteMeRequest]
    ) -> Response[bytes]:
        """Delete the account (confirm with the password): it is gone at once, and every
        service erases the user's data."""
        return await forward(request, USERS, "/me")

    @post(
        "/password",
        status_code=200,
        summary="Change my password",
        responses=responses(
            (200, TokenPair, "Changed: every other session ended; a fresh token pair."),
            *_AUTH,
            400,
            413,
            422,
        ),
    )
    async def change_password(
        self, request: Request[Any, Any, Any], data: JSONBody[ChangePasswordRequest]
    ) -> Response[bytes]:
        return await forward(request, USERS, "/me/password")

    @get(
        "/api-tokens",
        summary="My API tokens",
        responses=responses((200, list[ApiToken], "The tokens (never their secrets)."), *_AUTH),
    )
    async def list_api_tokens(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        return await forward(request, USERS, "/me/api-tokens")

    @post(
        "/api-tokens",
        summary="Create an API token",
        responses=responses(
            (201, ApiTokenCreated, "The token, shown this once."), *_AUTH, 400, 409, 413, 422
        ),
    )
    async def create_api_token(
        self, request: Request[Any, Any, Any], data: JSONBody[ApiTokenRequest]
    ) -> Response[bytes]:
        """A long-lived token for a scrobbling client (``Authorization: Token …``)."""
        return await forward(request, USERS, "/me/api-tokens")

    @delete(
        "/api-tokens/{token_id:uuid}",
        summary="Revoke an API token",
        responses=responses((204, None, "Revoked."), *_AUTH, 404),
    )
    async def revoke_api_token(
        self, request: Request[Any, Any, Any], token_id: FromPath[uuid.UUID]
    ) -> Response[None]:
        return cast("Response[None]", await forward(request, USERS, f"/me/api-tokens/{token_id}"))

    @get(
        "/integrations",
        summary="My connected integrations",
        responses=responses((200, list[Integration], "Connections (never their tokens)."), *_AUTH),
    )
    async def list_integrations(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        return await forward(request, USERS, "/me/integrations")

    @put(
        "/integrations/{provider:str}",
        summary="Connect an integration",
        responses={
            **responses(
                (200, Integration, "The connection, replaced."), *_AUTH, 400, 404, 413, 422
            ),
            **responses((201, Integration, "The connection, new.")),
        },
    )
    async def connect_integration(
        self,
        request: Request[Any, Any, Any],
        provider: FromPath[str],
        data: JSONBody[IntegrationRequest],
    ) -> Response[bytes]:
        """Connect (or replace) the provider (``spotify``, ``lastfm``, ``roon``…)."""
        return await forward(request, USERS, f"/me/integrations/{path_segment(provider)}")

    @delete(
        "/integrations/{provider:str}",
        summary="Disconnect an integration",
        responses=responses((204, None, "Disconnected."), *_AUTH, 404),
    )
    async def disconnect_integration(
        self, request: Request[Any, Any, Any], provider: FromPath[str]
    ) -> Response[None]:
        return cast(
            "Response[None]",
            await forward(request, USERS, f"/me/integrations/{path_segment(provider)}"),
        )
