"""The gateway app: Medley's only public HTTP surface.

It owns no data: it verifies access tokens itself (the users service's JWKS, cached), rate
limits the guessable endpoints, forwards to the services over pooled clients with retries and
circuit breakers, and relays their answers. Same cross-cutting parts as every service:
problem details for every error, request ids and trace context, the request-decoding guard,
JSON logs, Prometheus ``/metrics``. Run with ``uvicorn --factory medley_gateway.app:create_app``.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import partial
from typing import Any

import httpx
from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.connection import ASGIConnection
from litestar.openapi import OpenAPIConfig
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from nats.aio.client import Client as NATS

from medley_core.aio import cancel_and_wait
from medley_core.auth import VERIFIER_STATE_KEY, bearer_token
from medley_core.decoding import DecodingGuardMiddleware
from medley_core.errors import NotFound, Unauthorized
from medley_core.events.runtime import close_quietly, connect_forever
from medley_core.logs import configure_telemetry
from medley_core.problems import exception_handlers
from medley_core.ratelimit import NatsCounters
from medley_core.revocation import RevocationFeed, RevocationList
from medley_core.tracing import RequestContextMiddleware
from medley_core.verification import (
    JwksKeySource,
    TokenVerifier,
    default_jwks_url,
    follow_revocations,
)
from medley_gateway.api import route_handlers
from medley_gateway.api.auth import PUBLIC_PATHS_STATE_KEY, RATE_LIMITS_STATE_KEY
from medley_gateway.api.health import HEALTH_TIMEOUT_STATE_KEY
from medley_gateway.compose import CACHE_STATE_KEY, Composer, without_composed
from medley_gateway.compose.docs import link_contract_shapes
from medley_gateway.contracts import Contracts, compose
from medley_gateway.docs import openapi_config, static_files_router
from medley_gateway.examples import add_examples
from medley_gateway.ratelimit import (
    REQUEST_LIMITS_STATE_KEY,
    AuthRateLimits,
    RateLimitMiddleware,
    RequestRateLimits,
)
from medley_gateway.routes import DOCUMENT_ONLY, HAND_WRITTEN, ROUTES
from medley_gateway.routing import PublicPaths, Route
from medley_gateway.settings import GatewaySettings
from medley_gateway.upstreams import UPSTREAMS_STATE_KEY, Upstreams

VERSION = "1.0.0"


async def _metrics_scraper_only(connection: ASGIConnection[Any, Any, Any, Any], _: Any) -> None:
    """The gateway is the public surface: its metrics (upstream names, paths, error rates)
    go only to a scraper holding the configured token, and nowhere if none is set."""
    settings: GatewaySettings = connection.app.state["settings"]
    if settings.metrics_token is None:
        raise NotFound("no such resource")
    expected = settings.metrics_token.get_secret_value()
    if not hmac.compare_digest(bearer_token(connection) or "", expected):
        raise Unauthorized("metrics need the scraper's bearer token")


class _MetricsController(PrometheusController):
    include_in_schema = False
    guards = [_metrics_scraper_only]


def _metrics() -> PrometheusConfig:
    return PrometheusConfig(
        app_name="medley_gateway",
        prefix="medley",
        group_path=True,
        exclude=["/metrics", "/health", "/static", "/docs"],
    )


def _documentation(settings: GatewaySettings, routes: Sequence[Route]) -> OpenAPIConfig | None:
    """The OpenAPI document, completed with the routes' shapes from the upstreams' contracts
    and the examples of the main bodies and answers (:mod:`medley_gateway.examples`)."""
    if not settings.docs_enabled:
        return None
    complete = partial(
        compose,
        routes=(*routes, *HAND_WRITTEN),
        contracts=Contracts.load(),
        document_only=DOCUMENT_ONLY,
    )
    return openapi_config(
        version=VERSION,
        complete=lambda document: add_examples(complete(link_contract_shapes(document))),
    )


def _lifespan(
    settings: GatewaySettings,
    nc: NATS,
    upstreams: Upstreams,
    keys: JwksKeySource,
    revocations: RevocationList,
    composer: Composer,
    *,
    warm_keys: bool,
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """What the gateway starts and stops around serving: its NATS connection (kept trying),
    the revocation and catalog feeds, the JWKS cache (warmed when ``warm_keys``); then the
    upstream clients and keys closed."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        connecting = asyncio.create_task(connect_forever(nc, settings), name="nats-connect")
        feed = RevocationFeed.for_settings(nc, revocations, settings)
        feed.start()
        catalog_feed = composer.feed(nc)
        catalog_feed.start()
        if warm_keys:
            # Warm the key cache; if the users service is not up yet, the first request
            # that needs a key tries again.
            await keys.refresh()
        try:
            yield
        finally:
            await feed.stop()
            await catalog_feed.stop()
            await cancel_and_wait([connecting])
            await close_quietly(nc)
            await upstreams.aclose()
            await keys.aclose()

    return lifespan


def create_app(
    settings: GatewaySettings | None = None,
    *,
    verifier: TokenVerifier | None = None,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    routes: Sequence[Route] = ROUTES,
) -> Litestar:
    """The gateway. With no arguments (as uvicorn's ``--factory`` calls it), the settings come
    from the environment. ``verifier``, ``transports`` and ``routes`` (the pass-through
    table) are for tests."""
    settings = settings or GatewaySettings()
    configure_telemetry(settings)  # before the upstream clients: they add spans if on

    upstreams = Upstreams.from_settings(settings, transports=transports)
    keys = JwksKeySource(
        default_jwks_url(settings),
        cache_ttl_s=settings.jwks_cache_ttl_s,
        min_refresh_s=settings.jwks_min_refresh_s,
        timeout_s=settings.health_timeout_s,
    )
    token_verifier = verifier or TokenVerifier(
        keys, issuer=settings.jwt_issuer, audience=settings.jwt_audience
    )
    revocations = follow_revocations(token_verifier, settings)
    composer = Composer.from_settings(settings, upstreams)
    # A composed read answers at its routes' paths instead; a Location still points there.
    public_paths = PublicPaths(routes)
    routes = without_composed(routes)
    # NATS to follow revocations and catalog changes (the cache of composed reads) and for
    # the rate limits' shared counts: the gateway publishes and consumes no events.
    nc = NATS()

    lifespan = _lifespan(
        settings, nc, upstreams, keys, revocations, composer, warm_keys=verifier is None
    )

    metrics = _metrics()
    config = AppConfig(
        route_handlers=[
            *route_handlers(routes, public_paths),
            *composer.handlers(),
            _MetricsController,
            static_files_router(),
        ],
        # The same request-decoding guard as every service: the gateway decodes bodies
        # itself (rate limits read the login) before forwarding them.
        middleware=[
            RequestContextMiddleware,
            metrics.middleware,
            DecodingGuardMiddleware,
            RateLimitMiddleware(),  # before the composer: composed reads count too
            composer.middleware,
        ],
        exception_handlers=exception_handlers(),
        lifespan=[lifespan],
        openapi_config=_documentation(settings, routes),
        request_max_body_size=settings.max_body_bytes,
        debug=False,
    )
    app = Litestar.from_config(config)
    app.state[UPSTREAMS_STATE_KEY] = upstreams
    app.state[CACHE_STATE_KEY] = composer.cache
    app.state[VERIFIER_STATE_KEY] = token_verifier
    counters = NatsCounters(nc)  # one store for every budget, shared by the replicas
    app.state[RATE_LIMITS_STATE_KEY] = AuthRateLimits.from_settings(settings, counters)
    if settings.rate_limit_enabled:
        app.state[REQUEST_LIMITS_STATE_KEY] = RequestRateLimits.from_settings(settings, counters)
    app.state[PUBLIC_PATHS_STATE_KEY] = public_paths
    app.state[HEALTH_TIMEOUT_STATE_KEY] = settings.health_timeout_s
    app.state["settings"] = settings
    return app
