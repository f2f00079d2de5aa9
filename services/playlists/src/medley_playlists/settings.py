"""The playlists service's settings: ``MEDLEY_PLAYLISTS_*`` (shared ones fall back to
``MEDLEY_*``)."""

from __future__ import annotations

from pydantic import Field

from medley_core.catalog_client import CatalogCallerSettings
from medley_core.registry import PLAYLISTS

# Its name, schema and port are its entry in the registry of services.
SERVICE_NAME = PLAYLISTS.name
SCHEMA = PLAYLISTS.schema or SERVICE_NAME
DEFAULT_PORT = PLAYLISTS.dev_port
EXTENSIONS: tuple[str, ...] = PLAYLISTS.extensions

#: The most items one playlist holds (the issue's bound; the database checks it too).
MAX_ITEMS = 10_000


class PlaylistsSettings(CatalogCallerSettings, service=PLAYLISTS):
    port: int = DEFAULT_PORT
    # A replace of 10,000 track ids is ~400 kB of JSON; an uploaded playlist file a few MB.
    max_body_bytes: int = Field(default=8 * 1_048_576, ge=1024)

    catalog_timeout_s: float = Field(default=60.0, gt=0)
    # Tracks per page of the catalog's export when the projection is backfilled from it.
    backfill_page_size: int = Field(default=1_000, ge=1, le=5_000)
    # Off: never backfill from the export (a projection fed by the stream alone).
    backfill_from_export: bool = True
