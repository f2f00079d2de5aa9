"""``/.well-known/jwks.json``: the users service's public keys, relayed and cacheable."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from medley_gateway.api.common import USERS, responses
from medley_gateway.schemas import Jwks
from medley_gateway.upstreams import forward

JWKS_CACHE_CONTROL = "public, max-age=300"


@get(
    "/.well-known/jwks.json",
    tags=["keys"],
    summary="Token verification keys (JWKS)",
    responses=responses((200, Jwks, "The public keys that verify Medley access tokens.")),
)
async def jwks(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Verify Medley access tokens (EdDSA) with these keys; cache them, refetch on an
    unknown ``kid``."""
    response = await forward(request, USERS, "/.well-known/jwks.json", authorize=False)
    if response.status_code == 200 and "cache-control" not in response.headers:
        response.headers["Cache-Control"] = JWKS_CACHE_CONTROL
    return response
