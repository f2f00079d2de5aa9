"""Auth in a Litestar app: guards and the ``principal`` dependency over the token verifier.

:func:`require_roles` / :func:`require_user` / :func:`require_service` are guards and
:func:`provide_principal` is the ``principal`` dependency. Guards run before dependencies, so
a guard verifies the token once and leaves the :class:`Principal` on ``connection.state``
where the dependency picks it up. The verifier (:mod:`medley_core.verification`, which knows
nothing of Litestar) lives on ``app.state`` under :data:`VERIFIER_STATE_KEY`
(``create_service_app`` and the gateway put it there).
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard

from medley_core.errors import Forbidden, Unauthorized
from medley_core.verification import Principal, TokenVerifier

# Where the verifier lives on ``app.state``; where a verified principal lives on
# ``connection.state`` for the rest of the request.
VERIFIER_STATE_KEY = "verifier"
PRINCIPAL_STATE_KEY = "principal"


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The token of an ``Authorization: Bearer …`` header, if any."""
    value = connection.headers.get("authorization")
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token


def verifier_of(connection: ASGIConnection[Any, Any, Any, Any]) -> TokenVerifier:
    verifier = connection.app.state.get(VERIFIER_STATE_KEY)
    if not isinstance(verifier, TokenVerifier):
        raise RuntimeError(f"no TokenVerifier on app.state[{VERIFIER_STATE_KEY!r}]")
    return verifier


async def authenticate(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The verified caller (verified once per request, then kept on ``connection.state``)."""
    # The scope's state dict itself (what ``connection.state`` wraps in a new object on
    # every access): the guard and the dependency of one request look here.
    state: dict[str, Any] = connection.scope.setdefault("state", {})
    cached = state.get(PRINCIPAL_STATE_KEY)
    if isinstance(cached, Principal):
        return cached
    token = bearer_token(connection)
    if token is None:
        raise Unauthorized("a bearer token is required")
    principal = await verifier_of(connection).verify(token)
    state[PRINCIPAL_STATE_KEY] = principal
    return principal


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """Litestar dependency ``principal``: the verified caller, or a 401 problem."""
    return await authenticate(request)


def require_roles(*roles: str) -> Guard:
    """A Litestar guard: 401 without a valid token, 403 without one of ``roles``.

    With no roles it only requires a valid token (user or service).
    """
    wanted = frozenset(roles)

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = await authenticate(connection)
        if wanted and not (principal.roles & wanted):
            raise Forbidden(f"this needs one of the roles: {', '.join(sorted(wanted))}")

    return guard


def require_user() -> Guard:
    """A Litestar guard: 401 without a valid token, 403 for a service token."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = await authenticate(connection)
        if principal.kind != "user":
            raise Forbidden("this operation needs a user token, not a service token")

    return guard


def require_service(scope: str | None = None) -> Guard:
    """A Litestar guard for internal endpoints: service tokens only, with ``scope`` if given.

    401 without a valid token; 403 for a user token or a service token lacking the scope.
    """

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = await authenticate(connection)
        if principal.kind != "service":
            raise Forbidden("this endpoint is for services only")
        if scope is not None and scope not in principal.scopes:
            raise Forbidden(f"this needs the {scope!r} scope")

    return guard
