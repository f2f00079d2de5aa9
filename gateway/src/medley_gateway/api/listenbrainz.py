"""``/1/…``: ListenBrainz's API at the root of the host, where its clients build their URLs.

Written by hand because it does more than pass a request through: a scrobbling client
authenticates with a Medley API token (``Authorization: Token …``, or ``?token=`` on
``validate-token``), which the gateway resolves through the users service (scope
``api-tokens:resolve``), keeps for :data:`TOKEN_CACHE_S`, and turns into its own service token
(scope ``listens:on-behalf``) plus the user it names (``X-Medley-User-Id``,
``X-Medley-Username``) for ingestion, which serves the routes. A Medley access token
(``Bearer``) and anonymous reads go through as they came. Answers, ListenBrainz's error
shape and its ``X-RateLimit-*`` headers come back from ingestion as they are. The catch-all
is not in the document itself: each operation it serves is, from
:mod:`medley_gateway.routes.listenbrainz`.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from litestar import Request, Response, route
from litestar.params import PathParameter

from medley_core.http import UpstreamUnavailable
from medley_core.registry import API_TOKENS_RESOLVE, LISTENS_ON_BEHALF
from medley_core.service_tokens import ServiceTokens
from medley_gateway.upstreams import forwarded_headers, upstreams_of

INGESTION = "ingestion"
USERS = "users"
RESOLVE_PATH = "/internal/api-tokens/resolve"
TOKENS_STATE_KEY = "listenbrainz_tokens"
# How long a resolved API token is trusted without asking again (a revoked one works this
# long at most), and how long an unknown one is refused without asking again.
TOKEN_CACHE_S = 30.0
UNKNOWN_CACHE_S = 5.0
MAX_CACHED = 100_000
# ListenBrainz's largest request: 1,000 listens of 10,240 bytes.
MAX_BODY_BYTES = 11 * 1024 * 1024
RELAYED = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset",
           "x-ratelimit-reset-in", "retry-after")  # fmt: skip


@dataclass(frozen=True)
class Scrobbler:
    user_id: uuid.UUID
    username: str


class ApiTokens:
    """The gateway's service token and the API tokens it resolved, cached briefly."""

    def __init__(self, tokens: ServiceTokens) -> None:
        self.service = tokens
        self._cache: dict[str, tuple[float, Scrobbler | None]] = {}

    @classmethod
    def from_settings(cls, settings: Any) -> ApiTokens:
        scope = f"{API_TOKENS_RESOLVE} {LISTENS_ON_BEHALF}"
        return cls(ServiceTokens.from_settings(settings, scope=scope))

    async def resolve(self, request: Request[Any, Any, Any], token: str) -> Scrobbler | None:
        key = hashlib.sha256(token.encode()).hexdigest()
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        found = await self._ask(request, token)
        if len(self._cache) >= MAX_CACHED:
            self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
        self._cache[key] = (now + (TOKEN_CACHE_S if found else UNKNOWN_CACHE_S), found)
        return found

    async def _ask(self, request: Request[Any, Any, Any], token: str) -> Scrobbler | None:
        users = upstreams_of(request)[USERS]
        for attempt in range(2):
            response = await users.post(
                RESOLVE_PATH,
                json={"token": token},
                authorization=await self.service.authorization(),
            )
            if response.status_code == 401 and attempt == 0:
                self.service.invalidate()  # our own token expired or was rotated
                continue
            if response.status_code in (403, 404):
                return None  # unknown, revoked, or its account disabled
            if response.status_code != 200:
                raise UpstreamUnavailable(USERS, f"resolving an API token: {response.status_code}")
            body = response.json()
            return Scrobbler(uuid.UUID(body["user_id"]), str(body["username"]))
        raise UpstreamUnavailable(USERS, "the users service refused the gateway's token")


def api_tokens(request: Request[Any, Any, Any]) -> ApiTokens:
    found = request.app.state.get(TOKENS_STATE_KEY)
    if found is None:
        found = ApiTokens.from_settings(request.app.state["settings"])
        request.app.state[TOKENS_STATE_KEY] = found
    assert isinstance(found, ApiTokens)
    return found


def _api_token(request: Request[Any, Any, Any], path: str) -> str | None:
    scheme, _, value = (request.headers.get("authorization") or "").strip().partition(" ")
    if scheme.lower() == "token" and value.strip():
        return value.strip()
    if path == "validate-token":
        return request.query_params.get("token") or None
    return None


def _lb(status: int, body: dict[str, Any]) -> Response[dict[str, Any]]:
    return Response(body, status_code=status)


@route(
    "/1/{path:path}",
    http_method=["GET", "POST"],
    include_in_schema=False,
    request_max_body_size=MAX_BODY_BYTES,
)
async def listenbrainz(
    request: Request[Any, Any, Any], path: Annotated[str, PathParameter()]
) -> Response[Any]:
    path = path.lstrip("/")
    token = _api_token(request, path)
    headers = forwarded_headers(request)
    authorization = request.headers.get("authorization")
    if token is not None:
        tokens = api_tokens(request)
        who = await tokens.resolve(request, token)
        if who is None:
            if path == "validate-token":
                return _lb(200, {"code": 200, "message": "Token invalid.", "valid": False})
            return _lb(401, {"code": 401, "error": "Invalid authorization token."})
        authorization = await tokens.service.authorization()
        headers.update({"X-Medley-User-Id": str(who.user_id), "X-Medley-Username": who.username})
    # The API token never travels further than here.
    query = urlencode([(k, v) for k, v in parse_qsl(request.url.query) if k != "token"])
    target = f"/1/{path}?{query}" if query else f"/1/{path}"
    body = await request.body() if request.method == "POST" else None
    answer = await upstreams_of(request)[INGESTION].request(
        request.method,
        target,
        content=body or None,
        headers=headers,
        authorization=authorization,
    )
    relayed = {name: value for name in RELAYED if (value := answer.headers.get(name)) is not None}
    return Response(
        content=answer.content if answer.status_code != 204 else b"",
        status_code=answer.status_code,
        media_type=answer.headers.get("content-type") or None,
        headers=relayed,
    )
