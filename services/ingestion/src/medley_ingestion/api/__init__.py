"""Ingestion's HTTP API: thin controllers over the capability modules.

``/api/v1/imports…`` and ``/api/v1/me/…`` take user tokens (the gateway forwards them);
``/1/…`` is ListenBrainz's API, which the gateway serves at the root of its host.
"""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from medley_ingestion.api.imports import ImportsController
from medley_ingestion.api.listenbrainz import listenbrainz_router
from medley_ingestion.api.me import LikesController, ListensController, StatsController
from medley_ingestion.api.plays import PlaysController

ROUTE_HANDLERS: list[ControllerRouterHandler] = [
    ImportsController,
    ListensController,
    LikesController,
    StatsController,
    PlaysController,
    listenbrainz_router(),
]
