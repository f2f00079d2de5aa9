"""``/api/v1/auth/register`` and ``/api/v1/auth/login``: written by hand, not declared in a
table, because they do more than pass through.

They take no access token (the users service checks the credentials in the body), and they
are rate limited per client address and per account before the upstream is called: the
handler reads the account name from the decoded body, charges the budgets (shared by every
replica, :class:`~medley_gateway.ratelimit.AuthRateLimits`), and (login) refunds them when
the users service accepts the credentials. Refresh, logout and the
client-credentials token are plain pass-throughs (:mod:`medley_gateway.routes.users`).
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from litestar.params import JSONBody

from medley_gateway.docs import responses
from medley_gateway.ratelimit import AuthRateLimits, refund
from medley_gateway.routes.users import REGISTER, USERS
from medley_gateway.routing import PublicPaths, responses_of
from medley_gateway.schemas import LoginRequest, RegisterRequest, TokenPair
from medley_gateway.upstreams import forward

RATE_LIMITS_STATE_KEY = "rate_limits"
PUBLIC_PATHS_STATE_KEY = "public_paths"


def rate_limits_of(request: Request[Any, Any, Any]) -> AuthRateLimits:
    limits: AuthRateLimits = request.app.state[RATE_LIMITS_STATE_KEY]
    return limits


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post(
        "/register",
        status_code=REGISTER.status,
        summary=REGISTER.summary,
        # Its request and answer shapes are the users service's, from its contract (as for the
        # pass-through routes, :func:`medley_gateway.contracts.compose`).
        responses=responses_of(REGISTER),
    )
    async def register(
        self, request: Request[Any, Any, Any], data: JSONBody[RegisterRequest]
    ) -> Response[bytes]:
        """Create an account; log in afterwards. Limited per address and per username/email."""
        await rate_limits_of(request).register(request, data.username, data.email)
        response = await forward(request, USERS, REGISTER.upstream_path, authorize=False)
        # The users service's Location (``/me``: the account, read once logged in), at the
        # gateway's path.
        location = response.headers.get("location")
        if location is not None and location.startswith("/"):
            public: PublicPaths = request.app.state[PUBLIC_PATHS_STATE_KEY]
            response.headers["location"] = public.of(USERS, location) or location
        return response

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
        charges = await limits.login(request, data.login)
        response = await forward(request, USERS, "/login", authorize=False)
        if 200 <= (response.status_code or 0) < 300:
            refund(charges)
        return response
