"""The catalog service's app: ``uvicorn --factory medley_catalog.app:create_app``."""

from __future__ import annotations

from litestar import Litestar

from medley_catalog import events
from medley_catalog.api import ROUTE_HANDLERS
from medley_catalog.settings import CatalogSettings
from medley_core.app import create_service_app, provide_value
from medley_core.verification import TokenVerifier


def create_app(
    settings: CatalogSettings | None = None, *, verifier: TokenVerifier | None = None
) -> Litestar:
    """Build the app from the environment (``MEDLEY_CATALOG_*``, ``MEDLEY_*``)."""
    settings = settings or CatalogSettings()
    return create_service_app(
        settings,
        route_handlers=ROUTE_HANDLERS,
        dependencies={"catalog_settings": provide_value(settings)},
        event_handlers=events.handlers(),
        title="Medley catalog",
        verifier=verifier,
    )
