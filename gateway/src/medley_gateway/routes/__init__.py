"""Every pass-through route of the gateway, one table per upstream.

To add an upstream's routes, write ``routes/<upstream>.py`` with its ``ROUTES`` (see
:mod:`medley_gateway.routing` and the gateway section of the README), add them below, and
run ``uv run python -m medley_gateway.contracts`` to record their shapes.
"""

from __future__ import annotations

from medley_gateway.routes import catalog, ingestion, listenbrainz, playlists, users
from medley_gateway.routing import Route

ROUTES: tuple[Route, ...] = (*users.ROUTES, *catalog.ROUTES, *ingestion.ROUTES, *playlists.ROUTES)

#: Routes written by hand whose shapes the document takes from the contracts all the same.
HAND_WRITTEN: tuple[Route, ...] = (users.REGISTER,)

#: Operations one hand-written handler serves that Litestar's document does not show (the
#: ``/1/`` catch-all): the document gets an operation for each, shaped from the contracts.
DOCUMENT_ONLY: tuple[Route, ...] = listenbrainz.ROUTES

#: Every route the contracts record, and the document completes from them.
DOCUMENTED: tuple[Route, ...] = (*ROUTES, *HAND_WRITTEN, *DOCUMENT_ONLY)
