"""The catalog's HTTP API: thin controllers over the capability modules.

Reads are public (the gateway exposes them under ``/api/v1/catalog/…``); writes need an
admin user token or a service token with ``catalog:write``; ``/internal/resolve`` needs a
service token with ``catalog:resolve``, ``/internal/tracks`` one with ``catalog:export``
(see :mod:`medley_core.registry`).
"""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from medley_catalog.api.entities import AlbumController, ArtistController, TrackController
from medley_catalog.api.internal import export_tracks, resolve
from medley_catalog.api.search import GenreController, SearchController

ROUTE_HANDLERS: list[ControllerRouterHandler] = [
    TrackController,
    AlbumController,
    ArtistController,
    SearchController,
    GenreController,
    resolve,
    export_tracks,
]
