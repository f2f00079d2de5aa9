"""The Litestar app factory every service uses: one shape, one set of cross-cutting parts.

What every app gets: problem details for every error, the request-context middleware, the
request-decoding guard (:mod:`medley_core.decoding`), JSON logs, Prometheus ``/metrics``,
``/health`` (liveness) and ``/health/ready`` (database and NATS), the database engine, a
transactional ``db_session`` dependency, a ``read_session`` one for read paths and ``rows``
(one row by primary key, :mod:`medley_core.rows`), and the events runtime (outbox relay,
consumers, dead-letter admin endpoints).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypeAlias

import msgspec
from litestar import Litestar, Request, Router, get
from litestar.config.app import AppConfig
from litestar.di import NamedDependency, Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.plugins.prometheus import PrometheusController
from litestar.types import ControllerRouterHandler, Middleware
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_core.auth import VERIFIER_STATE_KEY, provide_principal
from medley_core.db import create_engine, create_read_session_factory, create_session_factory
from medley_core.decoding import DecodingGuardMiddleware
from medley_core.errors import ServiceUnavailable
from medley_core.events.admin import dead_letters_router
from medley_core.events.runtime import EventHandler, EventRuntime
from medley_core.logs import configure_telemetry
from medley_core.metrics import (
    RequestMetricsMiddleware,
    sample_event_metrics,
    unwatch_events,
    watch_events,
)
from medley_core.problems import exception_handlers
from medley_core.responses import ServiceResponse
from medley_core.revocation import RevocationFeed
from medley_core.rows import RowReads
from medley_core.settings import ServiceSettings
from medley_core.tracing import RequestContextMiddleware
from medley_core.verification import (
    Principal,
    TokenVerifier,
    follow_revocations,
    verifier_from_settings,
)

READINESS_TIMEOUT_S = 2.0


@dataclass
class ServiceRuntime:
    """What a running service holds: its settings, database and events machinery."""

    settings: ServiceSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    events: EventRuntime
    # Sessions without a transaction, for reads (``read_session``); made from the engine.
    reads: async_sessionmaker[AsyncSession] = field(init=False)
    # One row by primary key, without a session (``rows``); on the engine's pool.
    rows: RowReads = field(init=False)

    def __post_init__(self) -> None:
        self.reads = create_read_session_factory(self.engine)
        self.rows = RowReads(self.engine)

    async def database_ready(self) -> bool:
        try:
            async with asyncio.timeout(READINESS_TIMEOUT_S), self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def readiness_checks(self) -> dict[str, str]:
        """``{"database": "up"|"down", "nats": …}``: a round trip to each, concurrently,
        each within :data:`READINESS_TIMEOUT_S` (a frozen dependency is down, not up)."""
        database, nats = await asyncio.gather(
            self.database_ready(), self.events.nats_ready(READINESS_TIMEOUT_S)
        )
        return {"database": _state(database), "nats": _state(nats)}


def _state(up: bool) -> str:
    return "up" if up else "down"


def runtime_of(request: Request[Any, Any, Any]) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


async def provide_db_session(request: Request[Any, Any, Any]) -> AsyncIterator[AsyncSession]:
    """A session in a transaction: committed when the handler returns (with the events the
    handler collected written to the outbox just before), rolled back if it raises, so a
    failed request never leaves anything half-written and publishes nothing."""
    async with runtime_of(request).sessions() as session, session.begin():
        yield session


def read_session(request: Request[Any, Any, Any]) -> AsyncSession:
    """A session for a read path (``async with read_session(request) as session``): no
    transaction around its statements (no ``BEGIN`` and ``COMMIT`` round trips), and any
    write through it is refused. For code that only reads; anything that writes or collects
    events takes ``db_session``. A dependency that reads one row uses this directly rather
    than depending on ``read_session``: one dependency resolves cheaper than two."""
    return runtime_of(request).reads()


async def provide_read_session(request: Request[Any, Any, Any]) -> AsyncIterator[AsyncSession]:
    """The ``read_session`` dependency: :func:`read_session` for the handler's duration."""
    async with read_session(request) as session:
        yield session


def provide_runtime(request: Request[Any, Any, Any]) -> ServiceRuntime:
    return runtime_of(request)


def rows_of(request: Request[Any, Any, Any]) -> RowReads:
    """The app's :class:`~medley_core.rows.RowReads`: one row by primary key for a read
    path, cheaper than a ``read_session``'s ``get`` (see :mod:`medley_core.rows`). As with
    :func:`read_session`, a dependency that reads one row uses this directly."""
    return runtime_of(request).rows


def provide_rows(request: Request[Any, Any, Any]) -> RowReads:
    return runtime_of(request).rows


class Liveness(msgspec.Struct):
    status: Literal["ok"]


class Readiness(msgspec.Struct):
    status: Literal["ready"]
    checks: Annotated[
        dict[str, str], msgspec.Meta(description="each dependency (database, nats): up or down")
    ]


@get("/health", tags=["health"], summary="Liveness", include_in_schema=True, sync_to_thread=False)
def liveness() -> Liveness:
    return Liveness(status="ok")


@get("/health/ready", tags=["health"], summary="Readiness: database and NATS")
async def readiness(request: Request[Any, Any, Any]) -> Readiness:
    checks = await runtime_of(request).readiness_checks()
    if any(state != "up" for state in checks.values()):
        raise ServiceUnavailable("a dependency is not ready", checks=checks)
    return Readiness(status="ready", checks=checks)


async def _sample_lags(request: Request[Any, Any, Any]) -> None:
    """Before a scrape: read the outbox, consumer and dead-letter lags (bounded)."""
    await sample_event_metrics(runtime_of(request).events)


class MetricsController(PrometheusController):
    """Prometheus ``/metrics``: for the scraper, not part of the API document."""

    include_in_schema = False
    before_request = _sample_lags  # type: ignore[assignment]  # Litestar unbinds it


StartupHook = Callable[[ServiceRuntime], Awaitable[None]]

# Explicit markers for what every service app injects (Litestar 3 drops inferred
# dependencies): handlers declare ``db_session: Session``, ``principal: Caller``,
# ``runtime: Runtime``, ``rows: Rows``.
Session: TypeAlias = NamedDependency[AsyncSession]
Caller: TypeAlias = NamedDependency[Principal]
Runtime: TypeAlias = NamedDependency[ServiceRuntime]
Rows: TypeAlias = NamedDependency[RowReads]
Lifespan = Callable[[Litestar], AbstractAsyncContextManager[None]]


def provide_value(value: object) -> Provide:
    """A dependency that is always ``value`` (the app's settings, an object made with the
    app), computed once per request."""

    def provide() -> Any:
        return value

    return Provide(provide, sync_to_thread=False, use_cache=True)


def service_lifespan(
    settings: ServiceSettings,
    token_verifier: TokenVerifier,
    event_handlers: Mapping[str, EventHandler],
    on_startup: Sequence[StartupHook],
    on_shutdown: Sequence[StartupHook],
    *,
    owns_verifier: bool,
) -> Lifespan:
    """What a service starts and stops around serving: its engine and sessions, events
    (relay, consumers), the revocation feed for ``token_verifier``, then the ``on_startup``
    hooks; on the way down the ``on_shutdown`` hooks first, and ``token_verifier`` closed
    when the app made it (``owns_verifier``)."""
    revocations = follow_revocations(token_verifier, settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        engine = create_engine(settings)
        sessions = create_session_factory(engine)
        events = EventRuntime(settings, sessions, event_handlers)
        runtime = ServiceRuntime(settings, engine, sessions, events)
        watch_events(events)
        app.state.runtime = runtime
        app.state[VERIFIER_STATE_KEY] = token_verifier
        feed = RevocationFeed.for_settings(events.nc, revocations, settings)
        try:
            await events.start()
            feed.start()
            for hook in on_startup:
                await hook(runtime)
            yield
        finally:
            unwatch_events(events)
            for hook in on_shutdown:
                await hook(runtime)
            await feed.stop()
            await events.stop()
            await engine.dispose()
            if owns_verifier:
                await token_verifier.aclose()

    return lifespan


def create_service_app(
    settings: ServiceSettings,
    *,
    route_handlers: Sequence[ControllerRouterHandler],
    dependencies: Mapping[str, Provide] | None = None,
    event_handlers: Mapping[str, EventHandler] | None = None,
    on_startup: Sequence[StartupHook] = (),
    on_shutdown: Sequence[StartupHook] = (),
    middleware: Sequence[Middleware] = (),
    title: str | None = None,
    version: str = "1.0.0",
    verifier: TokenVerifier | None = None,
) -> Litestar:
    """Build a service's app. ``event_handlers`` maps event types it consumes to handlers.

    ``on_startup`` hooks run once the database and events are up; ``on_shutdown`` hooks run
    first when the app stops (background workers stop before what they use goes away).

    ``verifier`` checks bearer tokens (the ``principal`` dependency, the auth guards); by
    default one over the users service's JWKS (``jwks_url``, else ``users_url``).
    """
    configure_telemetry(settings)
    lifespan = service_lifespan(
        settings,
        verifier or verifier_from_settings(settings),
        event_handlers or {},
        on_startup,
        on_shutdown,
        owns_verifier=verifier is None,
    )
    metrics = DefineMiddleware(
        RequestMetricsMiddleware,
        app_name=f"medley_{settings.service_name}",
        prefix="medley",
        exclude=["/metrics", "/health"],
    )
    config = AppConfig(
        route_handlers=[
            liveness,
            readiness,
            MetricsController,
            dead_letters_router(),
            Router(path="/", route_handlers=list(route_handlers)),
        ],
        dependencies={
            "db_session": Provide(provide_db_session),
            "read_session": Provide(provide_read_session),
            "runtime": Provide(provide_runtime, sync_to_thread=False),
            "rows": Provide(provide_rows, sync_to_thread=False),
            "principal": Provide(provide_principal),
            **(dependencies or {}),
        },
        middleware=[
            RequestContextMiddleware,
            metrics,
            # Hostile strings and bodies are 4xx problems before any handler decodes them.
            DecodingGuardMiddleware,
            *middleware,
        ],
        exception_handlers=exception_handlers(),
        # Link on pages, ETag and 304 on reads: medley_core.responses.
        response_class=ServiceResponse,
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(
            title=title or f"Medley {settings.service_name}",
            version=version,
            path="/schema",
            render_plugins=[ScalarRenderPlugin()],
        ),
        # Larger uploads (exports, audio) go through their own streaming endpoints.
        request_max_body_size=settings.max_body_bytes,
        debug=False,
    )
    return Litestar.from_config(config)
