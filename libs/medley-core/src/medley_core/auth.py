"""STUB (to be implemented): verifying Medley access tokens, locally, with cached public keys.

The users service signs short-lived JWTs (EdDSA/Ed25519, ``kid`` in the header) and
publishes its public keys at ``/.well-known/jwks.json``. Everyone else verifies them here:
the algorithm is pinned (never taken from the token), ``iss``/``aud``/``exp`` are checked,
and an unknown ``kid`` triggers one (rate-limited) JWKS refresh, so key rotation needs no
restart. The users service is not on the path of every request.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

ALGORITHMS: tuple[str, ...] = ("EdDSA",)
TokenKind = Literal["user", "service"]


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user (``sub`` = user id) or a service client (``sub`` = client id)."""

    subject: str
    kind: TokenKind
    roles: frozenset[str]
    scopes: frozenset[str]
    token_id: str
    expires_at: datetime
    token: str

    @property
    def user_id(self) -> uuid.UUID:
        """The caller's user id; only for user tokens."""
        raise NotImplementedError

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


class KeySource(Protocol):
    """Where verification keys come from."""

    async def key_for(self, kid: str) -> Any: ...


class JwksKeySource:
    """Keys fetched from a JWKS URL, cached, refreshed on an unknown ``kid``."""

    def __init__(self, url: str, *, cache_ttl_s: float = 300.0, min_refresh_s: float = 5.0):
        raise NotImplementedError

    async def key_for(self, kid: str) -> Any:
        raise NotImplementedError

    async def aclose(self) -> None:
        raise NotImplementedError


class StaticKeySource:
    """Keys from a JWKS document in memory (the users service verifies its own tokens)."""

    def __init__(self, jwks: Mapping[str, Any]):
        raise NotImplementedError

    async def key_for(self, kid: str) -> Any:
        raise NotImplementedError


class TokenVerifier:
    def __init__(
        self,
        keys: KeySource,
        *,
        issuer: str,
        audience: str,
        algorithms: Sequence[str] = ALGORITHMS,
        leeway_s: float = 10.0,
    ) -> None:
        raise NotImplementedError

    async def verify(self, token: str) -> Principal:
        """The token's principal; raises ``medley_core.problems.Unauthorized`` otherwise."""
        raise NotImplementedError


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The token of an ``Authorization: Bearer …`` header, if any."""
    raise NotImplementedError


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """Litestar dependency ``principal``: the verified caller, or a 401 problem."""
    raise NotImplementedError


def require_roles(*roles: str) -> Any:
    """A Litestar guard: 401 without a valid token, 403 without one of ``roles``."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        raise NotImplementedError

    return guard
