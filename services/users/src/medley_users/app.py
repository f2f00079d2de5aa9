"""The users service's app: ``uvicorn --factory medley_users.app:create_app``."""

from __future__ import annotations

from litestar import Litestar

from medley_core.app import ServiceRuntime, create_service_app, provide_value
from medley_core.db import transaction
from medley_core.verification import StaticKeySource, TokenVerifier
from medley_users import bootstrap, events, service_clients
from medley_users.api import ROUTE_HANDLERS
from medley_users.context import UsersContext
from medley_users.settings import UsersSettings


def create_app(settings: UsersSettings | None = None) -> Litestar:
    """Build the app from the environment (``MEDLEY_USERS_*``, ``MEDLEY_*``)."""
    settings = settings or UsersSettings()
    users = UsersContext.from_settings(settings)

    async def on_startup(runtime: ServiceRuntime) -> None:
        async with transaction(runtime.sessions) as session:
            await service_clients.sync(session, settings)
            await bootstrap.grant_at_start_up(session, settings)

    # The users service checks its own tokens against its own keys: no JWKS round trip.
    verifier = TokenVerifier(
        StaticKeySource(users.keys.jwks()),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )
    return create_service_app(
        settings,
        route_handlers=ROUTE_HANDLERS,
        dependencies={"users": provide_value(users)},
        event_handlers=events.handlers(settings.erasure_contexts),
        on_startup=[on_startup],
        title="Medley users",
        verifier=verifier,
    )
