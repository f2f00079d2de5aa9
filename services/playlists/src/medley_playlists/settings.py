"""The playlists service's settings: ``MEDLEY_PLAYLISTS_*`` (shared ones fall back to
``MEDLEY_*``)."""

from __future__ import annotations

from pydantic import Field

from medley_core.registry import PLAYLISTS
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
