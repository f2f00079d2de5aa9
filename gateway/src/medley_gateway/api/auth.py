"""``/api/v1/auth``: register, login, refresh, logout and the client-credentials token.

These routes take no access token: the users service checks the credentials in the body.
Login and register are rate limited (per client address and per account) before the
upstream is called.
"""

from __future__ import annotations

from typing import Any, cast

from litestar import Controller, Request, Response, post
from litestar.params import JSONBody

from medley_gateway.api.common import USERS, responses
from medley_gateway.ratelimit import AuthRateLimits, refund
from medley_gateway.schemas import (
    LoginRequest,
    RefreshRequest,
    RegisterRequest,
    ServiceToken,
    TokenPair,
    User,
)
from medley_gateway.upstreams import forward

RATE_LIMITS_STATE_KEY = "rate_limits"


def rate_limits_of(request: Request[Any, Any, Any]) -> AuthRateLimits:
    limits: AuthRateLimits = request.app.state[RATE_LIMITS_STATE_KEY]
    return limits


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post(
        "/register",
        summary="Create an account",
        responses=responses((201, User, "The new account."), 400, 409, 413, 422, 429),
    )
    async def register(
        self, request: Request[Any, Any, Any], data: JSONBody[RegisterRequest]
    ) -> Response[bytes]:
        """Create an account; log in afterwards. Limited per address and per username/email."""
        rate_limits_of(request).register(request, data.username, data.email)
        return await forward(request, USERS, "/register", authorize=False)

    @post(
        "/login",
        status_code=200,
        summary="Log in",
        responses=responses(
            (200, TokenPair, "An access token and a refresh token."), 400, 401, 413, 422, 429
        ),
    )
    async def login(
        self, request: Request[Any, Any, Any], data: JSONBody[LoginRequest]
    ) -> Response[bytes]:
        """Exchange a username or email and a password for tokens.

        Limited per client address and per login name here, and per account (one budget
        whether the login is the username or the email) by the users service, whose 429 and
        Retry-After come back as they are; a successful login does not count.
        """
        limits = rate_limits_of(request)
        charges = limits.login(request, data.login)
        response = await forward(request, USERS, "/login", authorize=False)
        if 200 <= (response.status_code or 0) < 300:
            refund(charges)
        return response

    @post(
        "/refresh",
        status_code=200,
        summary="Refresh the tokens",
        responses=responses((200, TokenPair, "The next token pair."), 400, 401, 413, 422),
    )
    async def refresh(
        self, request: Request[Any, Any, Any], data: JSONBody[RefreshRequest]
    ) -> Response[bytes]:
        """Rotate a refresh token. Presenting an already-used one revokes its whole family."""
        return await forward(request, USERS, "/refresh", authorize=False)

    @post(
        "/logout",
        status_code=204,
        summary="Log out",
        responses=responses((204, None, "The refresh token's family is revoked."), 400, 413, 422),
    )
    async def logout(
        self, request: Request[Any, Any, Any], data: JSONBody[RefreshRequest]
    ) -> Response[None]:
        """Revoke the session (refresh-token family) the token belongs to."""
        return cast("Response[None]", await forward(request, USERS, "/logout"))

    @post(
        "/token",
        status_code=200,
        summary="Service token (OAuth2 client credentials)",
        responses=responses((200, ServiceToken, "A service access token."), 400, 401, 413, 422),
    )
    async def token(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """OAuth2 client-credentials grant (RFC 6749 §4.4), for Medley's own services and
        trusted integrations: ``grant_type=client_credentials``, the client's id and secret
        (HTTP Basic or in the body) and an optional ``scope``. The body is passed to the
        users service as it came (form-encoded or JSON)."""
        return await forward(request, USERS, "/oauth/token")
