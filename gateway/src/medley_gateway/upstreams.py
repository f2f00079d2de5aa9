"""The services behind the gateway, and how their answers are relayed.

Adding a service is one entry in :mod:`medley_core.registry` (hence in :data:`UPSTREAMS`):
its URL is then read from ``MEDLEY_GATEWAY_<SVC>_URL`` (or ``MEDLEY_<SVC>_URL``), it gets
its own pooled client, retries and circuit breaker, and ``GET /health`` checks its
``/health/ready``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

import httpx
from litestar import Request, Response

from medley_core.http import CircuitBreaker, UpstreamClient, UpstreamUnavailable
from medley_core.pagination import relink
from medley_gateway.settings import UPSTREAMS as UPSTREAMS
from medley_gateway.settings import GatewaySettings
from medley_gateway.settings import UpstreamSpec as UpstreamSpec

UPSTREAMS_STATE_KEY = "upstreams"

# Response headers worth relaying from an upstream; hop-by-hop headers, Server, Date and
# the upstream's own X-Request-ID/traceparent (the gateway sets its own) are not.
RELAYED_HEADERS = (
    "cache-control",
    "content-disposition",
    "content-language",
    "etag",
    "expires",
    "last-modified",
    "link",
    "location",
    "pragma",
    "retry-after",
    "vary",
    "www-authenticate",
)
_RELAYED = frozenset(name.encode("ascii") for name in RELAYED_HEADERS)
# Request headers worth forwarding to an upstream (besides Authorization, on request).
FORWARDED_REQUEST_HEADERS = (
    "content-type",
    "accept",
    "accept-language",
    "if-match",
    "if-none-match",
)


class Upstreams(Mapping[str, UpstreamClient]):
    """Every upstream's client, by service name."""

    def __init__(self, clients: Mapping[str, UpstreamClient]) -> None:
        self._clients = dict(clients)

    @classmethod
    def from_settings(
        cls,
        settings: GatewaySettings,
        *,
        transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    ) -> Upstreams:
        timeout = httpx.Timeout(
            settings.upstream_timeout_s,
            connect=settings.upstream_connect_timeout_s,
            pool=settings.upstream_connect_timeout_s,
        )
        # Every connection may stay open: with fewer kept alive than there are requests in
        # flight, each request past that number opened (and closed) a TCP connection.
        limits = httpx.Limits(
            max_connections=settings.upstream_max_connections,
            max_keepalive_connections=settings.upstream_max_connections,
        )
        clients = {
            spec.name: UpstreamClient(
                spec.name,
                settings.upstream_url(spec.name),
                timeout=timeout,
                limits=limits,
                retries=settings.upstream_retries,
                breaker=CircuitBreaker(
                    failure_threshold=settings.circuit_failure_threshold,
                    reset_timeout_s=settings.circuit_reset_s,
                ),
                transport=(transports or {}).get(spec.name),
            )
            for spec in UPSTREAMS
        }
        return cls(clients)

    def __getitem__(self, name: str) -> UpstreamClient:
        return self._clients[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._clients)

    def __len__(self) -> int:
        return len(self._clients)

    async def aclose(self) -> None:
        await asyncio.gather(*(client.aclose() for client in self._clients.values()))

    async def readiness(self, timeout_s: float) -> dict[str, dict[str, Any]]:
        """Every upstream's ``/health/ready``, asked concurrently, bypassing the breakers."""

        async def check(client: UpstreamClient) -> dict[str, Any]:
            started = time.perf_counter()
            state: dict[str, Any] = {"url": client.base_url, "circuit": client.breaker.state}
            try:
                async with asyncio.timeout(timeout_s):
                    response = await client.get(
                        "/health/ready", use_breaker=False, retries=0, timeout=timeout_s
                    )
            except Exception as exc:  # whatever went wrong, the upstream is not ready
                state.update(status="down", error=_reason(exc))
            else:
                state["status"] = "up" if response.status_code == 200 else "down"
                if response.status_code != 200:
                    state["error"] = f"/health/ready answered {response.status_code}"
                    checks = _json_or_none(response)
                    if isinstance(checks, dict) and isinstance(checks.get("checks"), dict):
                        state["checks"] = checks["checks"]
            state["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
            return state

        names = list(self._clients)
        results = await asyncio.gather(*(check(self._clients[n]) for n in names))
        return dict(zip(names, results, strict=True))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    detail = getattr(exc, "detail", None)
    return str(detail or exc.__class__.__name__)


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def upstreams_of(request: Request[Any, Any, Any]) -> Upstreams:
    upstreams: Upstreams = request.app.state[UPSTREAMS_STATE_KEY]
    return upstreams


def path_segment(value: str) -> str:
    """A path parameter made safe to put in the upstream path (no traversal, no query)."""
    return quote(value, safe="")


def forwarded_headers(request: Request[Any, Any, Any]) -> dict[str, str]:
    return {
        name: value
        for name in FORWARDED_REQUEST_HEADERS
        if (value := request.headers.get(name)) is not None
    }


def relay(upstream: str, response: httpx.Response) -> Response[bytes]:
    """The upstream's answer as the gateway's: status, body and the useful headers.

    Problem details (and any JSON) pass through as they are. A 5xx answer that is not JSON
    (a proxy's error page, say) becomes a 503 problem naming the upstream instead.
    """
    # One pass over the raw headers (``Headers.get`` scans them all at every call).
    encoding = response.headers.encoding
    types: list[str] = []
    picked: dict[str, list[str]] = {}
    for raw_name, raw_value in response.headers.raw:
        name = raw_name.lower()
        if name == b"content-type":
            types.append(raw_value.decode(encoding))
        elif name in _RELAYED:
            picked.setdefault(name.decode("ascii"), []).append(raw_value.decode(encoding))
    content_type = ", ".join(types)
    is_json = "json" in content_type
    if response.status_code >= 500 and not is_json:
        raise UpstreamUnavailable(upstream, f"the {upstream} service answered an error")
    # A header sent more than once is relayed as httpx joins it (comma-separated).
    headers = {name: ", ".join(values) for name, values in picked.items()}
    if response.status_code in (204, 304):
        return Response(content=b"", status_code=response.status_code, headers=headers)
    return Response(
        content=response.content,
        status_code=response.status_code,
        media_type=content_type or None,
        headers=headers,
    )


async def forward(
    request: Request[Any, Any, Any],
    upstream: str,
    path: str,
    *,
    authorize: bool = True,
    body: bytes | AsyncIterable[bytes] | None = None,
) -> Response[bytes]:
    """Send the caller's request (method, query, body, Authorization) to ``upstream``; a
    ``body`` that is a stream goes on as it arrives. A ``Link`` the upstream wrote against
    its own path points at the public one (the query is the caller's, forwarded as sent)."""
    client = upstreams_of(request)[upstream]
    query = request.scope.get("query_string", b"").decode("latin-1")
    target = f"{path}?{query}" if query else path
    content = body if body is not None else await request.body()
    response = await client.request(
        request.method,
        target,
        content=content or None,
        headers=forwarded_headers(request),
        authorization=request.headers.get("authorization") if authorize else None,
    )
    answer = relay(upstream, response)
    if (link := answer.headers.get("link")) is not None:
        answer.headers["link"] = relink(link, request.url.path)
    return answer
