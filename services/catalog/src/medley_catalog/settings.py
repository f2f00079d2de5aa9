"""The catalog's settings: ``MEDLEY_CATALOG_*`` (shared ones fall back to ``MEDLEY_*``)."""

from __future__ import annotations

from pydantic import Field

from medley_core.registry import CATALOG
from medley_core.settings import ServiceSettings

# Its name, schema, port and extensions are its entry in the registry of services.
SERVICE_NAME = CATALOG.name
SCHEMA = CATALOG.schema or SERVICE_NAME
DEFAULT_PORT = CATALOG.dev_port
# What the administrator creates in the catalog's schema at provisioning time.
EXTENSIONS: tuple[str, ...] = CATALOG.extensions


class CatalogSettings(ServiceSettings, service=CATALOG):
    port: int = DEFAULT_PORT
    # A resolution batch of 1,000 rich candidates is well under 1 MiB; leave room.
    max_body_bytes: int = Field(default=4 * 1_048_576, ge=1024)

    # Entity resolution (beets-style distance; see resolution.py).
    resolve_max_candidates: int = Field(default=1_000, ge=1, le=10_000)
    fuzzy_min_confidence: int = Field(default=80, ge=0, le=100)
    duration_grace_ms: int = Field(default=10_000, ge=0)
    duration_max_ms: int = Field(default=30_000, ge=1)
    variant_duration_tolerance_ms: int = Field(default=3_000, ge=0)

    # Reads: ids per batch get (list pages are at most 1,000 items, search pages 100).
    batch_get_max: int = Field(default=1_000, ge=1, le=10_000)
