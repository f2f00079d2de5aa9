"""Composed reads: answers the gateway builds from several services at once.

The compositions are declared in :mod:`medley_gateway.compose.reads` (their parts: which
upstream fills which field, which are optional), run by :mod:`medley_gateway.compose.declare`
(concurrent calls, batch lookups, a deadline, ``meta.degraded``, 503 when the primary
part is missing), with the catalog parts kept briefly by :mod:`medley_gateway.compose.cache`.
:class:`Composer` is what the app wires in: the handlers, the cache's middleware and feed.
A composed route replaces the pass-through route at the same path
(:func:`without_composed`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.handlers import HTTPRouteHandler
from litestar.middleware import DefineMiddleware
from nats.aio.client import Client as NATS

from medley_core.auth import authenticate, require_user
from medley_core.http import UpstreamClient
from medley_gateway.compose.cache import (
    CACHE_STATE_KEY,
    CatalogCache,
    CatalogFeed,
    CatalogWriteInvalidation,
)
from medley_gateway.compose.declare import Composition, Context, Runner, UpstreamAnswered
from medley_gateway.compose.reads import COMPOSITIONS
from medley_gateway.docs import BEARER, answer, problem_responses
from medley_gateway.routing import GuardedHandler, Route, public_template
from medley_gateway.settings import GatewaySettings
from medley_gateway.upstreams import forward, path_segment, relay

JSON = "application/json"
_encode = msgspec.json.Encoder().encode

#: The public operations the compositions answer (``GET /api/v1/me/listens``).
COMPOSED_KEYS = frozenset(f"GET {public_template(c.path)}" for c in COMPOSITIONS)


def without_composed(routes: Iterable[Route]) -> tuple[Route, ...]:
    """The pass-through routes, less those a composition answers instead."""
    return tuple(route for route in routes if route.key not in COMPOSED_KEYS)


@dataclass
class Composer:
    """The composed reads of one gateway process: runner, catalog cache and its feed."""

    runner: Runner
    cache: CatalogCache
    event_prefix: str
    compositions: tuple[Composition, ...] = COMPOSITIONS

    @classmethod
    def from_settings(
        cls, settings: GatewaySettings, clients: Mapping[str, UpstreamClient]
    ) -> Composer:
        cache = CatalogCache(
            ttl_s=settings.compose_cache_ttl_s, max_entries=settings.compose_cache_max_entries
        )
        runner = Runner(clients, cache, deadline_s=settings.compose_deadline_s)
        return cls(runner, cache, settings.event_prefix)

    def feed(self, nc: NATS) -> CatalogFeed:
        return CatalogFeed(nc, self.cache, event_prefix=self.event_prefix)

    @property
    def middleware(self) -> DefineMiddleware:
        return DefineMiddleware(CatalogWriteInvalidation, cache=self.cache)

    def handlers(self) -> list[HTTPRouteHandler]:
        return [self.handler(composition) for composition in self.compositions]

    def handler(self, composition: Composition) -> HTTPRouteHandler:
        runner = self.runner

        async def composed(request: Request[Any, Any, Any]) -> Response[bytes]:
            query = request.query_params
            if composition.composes_when is not None and not composition.composes_when(query):
                return await _plain(request, composition)
            authorization = request.headers.get("authorization")
            user = composition.user_only
            if not user and authorization is not None:
                user = (await authenticate(request)).kind == "user"
            context = Context(
                path=request.path_params,
                query=query,
                user=user,
                raw_query=request.scope.get("query_string", b"").decode("latin-1"),
            )
            try:
                body, degraded = await runner.run(composition, context, authorization)
            except UpstreamAnswered as answered:
                return relay(answered.upstream, answered.response)
            body["meta"] = {"degraded": [part.shown() for part in degraded]}
            return Response(content=_encode(body), media_type=JSON)

        problems = (401, 403) if composition.user_only else (401,)
        return GuardedHandler(
            path=composition.path,
            http_method="GET",
            name=f"composed {composition.path}",
            summary=composition.summary,
            description=composition.description,
            tags=list(composition.tags) or None,
            guards=[require_user()] if composition.user_only else None,
            security=BEARER,
            responses={
                200: answer(composition.response, "The composed answer, with `meta.degraded`."),
                # Uncomposed, the upstream's own conditional read answers as it does.
                **(
                    {304: answer(None, "Not modified (not composed).")} if composition.plain else {}
                ),
                **problem_responses(*problems, 404, 422, 503),
            },
        )(composed)


async def _plain(request: Request[Any, Any, Any], composition: Composition) -> Response[bytes]:
    """The request as the upstream answers it without composition (ETag, 304 and all)."""
    assert composition.plain is not None, "composes_when needs a plain route"
    upstream, template = composition.plain
    target = template.format_map(
        {name: path_segment(str(value)) for name, value in request.path_params.items()}
    )
    return await forward(request, upstream, target, authorize=True)


__all__ = [
    "CACHE_STATE_KEY",
    "COMPOSED_KEYS",
    "COMPOSITIONS",
    "CatalogCache",
    "Composer",
    "without_composed",
]
