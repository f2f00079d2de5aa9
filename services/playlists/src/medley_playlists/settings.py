"""The playlists service's settings: ``MEDLEY_PLAYLISTS_*`` (shared ones fall back to
``MEDLEY_*``)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from medley_core.registry import CATALOG, PLAYLISTS
from medley_core.settings import ServiceSettings

# Its name, schema and port are its entry in the registry of services.
SERVICE_NAME = PLAYLISTS.name
SCHEMA = PLAYLISTS.schema or SERVICE_NAME
DEFAULT_PORT = PLAYLISTS.dev_port
EXTENSIONS: tuple[str, ...] = PLAYLISTS.extensions

#: The most items one playlist holds (the issue's bound; the database checks it too).
MAX_ITEMS = 10_000


class PlaylistsSettings(ServiceSettings, service=PLAYLISTS):
    port: int = DEFAULT_PORT
    # A replace of 10,000 track ids is ~400 kB of JSON; an uploaded playlist file a few MB.
    max_body_bytes: int = Field(default=8 * 1_048_576, ge=1024)

    # Where the catalog answers POST /internal/resolve and GET /internal/tracks (the launcher,
    # compose and Koyeb set it).
    catalog_url: str = f"http://127.0.0.1:{CATALOG.dev_port}"
    # A fixed service token for the catalog instead of client credentials from the users
    # service (a process started on its own in tests; never needed with the launcher).
    catalog_token: SecretStr | None = None
    # ≤ the catalog's resolve_max_candidates: one call per this many unmatched entries.
    resolve_batch_size: int = Field(default=1_000, ge=1, le=1_000)
    catalog_timeout_s: float = Field(default=60.0, gt=0)
    # Tracks per page of the catalog's export when the projection is backfilled from it.
    backfill_page_size: int = Field(default=1_000, ge=1, le=5_000)
    # Off: never backfill from the export (a projection fed by the stream alone).
    backfill_from_export: bool = True
