"""The playlists service's HTTP API: thin controllers over the capability modules.

User routes need a user token (the gateway forwards the caller's); reads of public and
unlisted playlists need none. Paths here are the service's own; the gateway serves them
under ``/api/v1``.
"""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from medley_playlists.api.collaborators import CollaboratorsController
from medley_playlists.api.collections import CollectionsController
from medley_playlists.api.containing import ContainingController
from medley_playlists.api.expanded import ExpandedController
from medley_playlists.api.items import ItemsController
from medley_playlists.api.playlists import PlaylistController, UserPlaylistsController
from medley_playlists.api.smart import SmartPlaylistsController
from medley_playlists.api.transfer import TransferController

ROUTE_HANDLERS: list[ControllerRouterHandler] = [
    PlaylistController,
    UserPlaylistsController,
    ItemsController,
    CollaboratorsController,
    CollectionsController,
    ContainingController,
    ExpandedController,
    SmartPlaylistsController,
    TransferController,
]
