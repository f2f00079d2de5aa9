"""Ingestion's settings: ``MEDLEY_INGESTION_*`` (shared ones fall back to ``MEDLEY_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from medley_core.catalog_client import CatalogCallerSettings
from medley_core.registry import INGESTION

# Its name, schema and port are its entry in the registry of services.
SERVICE_NAME = INGESTION.name
SCHEMA = INGESTION.schema or SERVICE_NAME
DEFAULT_PORT = INGESTION.dev_port

GIB = 1024**3


class IngestionSettings(CatalogCallerSettings, service=INGESTION):
    port: int = DEFAULT_PORT
    # A submission of 1,000 listens of 10,240 bytes each is ListenBrainz's largest body.
    max_body_bytes: int = Field(default=11 * 1_048_576, ge=1024)

    resolve_timeout_s: float = Field(default=120.0, gt=0)
    # Resolve calls (of up to 1,000 candidates) one import keeps in flight at once.
    resolve_concurrency: int = Field(default=3, ge=1, le=8)

    # --- imports -------------------------------------------------------------------------
    max_upload_bytes: int = Field(default=2 * GIB, ge=1024)
    # Zip archives: what one may unpack to, and how much more than its compressed size.
    max_unpacked_bytes: int = Field(default=16 * GIB, ge=1024)
    max_compression_ratio: float = Field(default=200.0, gt=1)
    max_archive_entries: int = Field(default=10_000, ge=1)
    # Workers claiming import jobs in each process (replicas share the queue).
    import_workers: int = Field(default=1, ge=0, le=16)
    worker_poll_interval_s: float = Field(default=2.0, gt=0)
    # Records per checkpoint: one transaction writes a chunk's plays, counters and position.
    import_chunk_records: int = Field(default=50_000, ge=1)
    # Rejected records listed on a job (every one is counted).
    rejections_kept: int = Field(default=100, ge=0, le=10_000)

    # --- counting and de-duplication -----------------------------------------------------
    # A Spotify row is a listen when played this long, or played to its end.
    min_listen_ms: int = Field(default=30_000, ge=0)
    # The same track from another source within this many seconds is the same listen.
    duplicate_window_s: int = Field(default=90, ge=0, le=3600)

    # --- the ListenBrainz-compatible API --------------------------------------------------
    # Per user, per window (ListenBrainz's own default is 30 requests per 10 s).
    listenbrainz_rate_limit: int = Field(default=100, ge=1)
    listenbrainz_rate_window_s: int = Field(default=10, ge=1)
    # How long a "playing now" without a duration stays playing.
    playing_now_default_s: int = Field(default=300, ge=1)

    @property
    def uploads_dir(self) -> Path:
        """Where uploads are written: a volume every replica shares, since any replica's
        worker may claim a job."""
        return self.data_dir / SERVICE_NAME / "uploads"
