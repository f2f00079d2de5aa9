"""The ingestion service's app: ``uvicorn --factory medley_ingestion.app:create_app``."""

from __future__ import annotations

from litestar import Litestar

from medley_core.app import create_service_app, provide_value
from medley_core.catalog_client import CatalogClient
from medley_core.verification import TokenVerifier
from medley_ingestion import events
from medley_ingestion.api import ROUTE_HANDLERS
from medley_ingestion.runtime import Ingestion
from medley_ingestion.settings import IngestionSettings


def create_app(
    settings: IngestionSettings | None = None,
    *,
    verifier: TokenVerifier | None = None,
    catalog: CatalogClient | None = None,
) -> Litestar:
    """Build the app from the environment (``MEDLEY_INGESTION_*``, ``MEDLEY_*``).

    ``catalog`` replaces the client built from the settings (tests give one holding a token
    their catalog accepts).
    """
    settings = settings or IngestionSettings()
    ingestion = Ingestion(settings, catalog=catalog)

    return create_service_app(
        settings,
        route_handlers=ROUTE_HANDLERS,
        dependencies={
            "ingestion_settings": provide_value(settings),
            "ingestion": provide_value(ingestion),
        },
        event_handlers=events.handlers(settings),
        on_startup=[ingestion.start],
        on_shutdown=[ingestion.stop],
        title="Medley ingestion",
        verifier=verifier,
    )
