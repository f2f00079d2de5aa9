"""The playlists service's app: ``uvicorn --factory medley_playlists.app:create_app``."""

from __future__ import annotations

from litestar import Litestar
from litestar.di import Provide

from medley_core.app import create_service_app, provide_value
from medley_core.catalog_client import CatalogClient
from medley_core.verification import TokenVerifier
from medley_playlists import events
from medley_playlists.api import ROUTE_HANDLERS
from medley_playlists.api.deps import caller, reader
from medley_playlists.catalog import CatalogLink, client_from_settings
from medley_playlists.settings import PlaylistsSettings


def create_app(
    settings: PlaylistsSettings | None = None,
    *,
    verifier: TokenVerifier | None = None,
    catalog: CatalogClient | None = None,
) -> Litestar:
    """Build the app from the environment (``MEDLEY_PLAYLISTS_*``, ``MEDLEY_*``).

    ``catalog`` replaces the client built from the settings (tests give one holding a token
    their catalog accepts); the app closes it when it stops.
    """
    settings = settings or PlaylistsSettings()
    link = CatalogLink(settings, catalog or client_from_settings(settings))
    app = create_service_app(
        settings,
        route_handlers=ROUTE_HANDLERS,
        dependencies={
            "playlists_settings": provide_value(settings),
            "user": Provide(caller),
            "viewer": Provide(reader),
        },
        event_handlers=events.handlers(),
        on_startup=[link.start],
        on_shutdown=[link.stop],
        title="Medley playlists",
        verifier=verifier,
    )
    app.state.catalog_resolver = link.client
    return app
