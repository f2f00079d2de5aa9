"""What one playlists process holds of the catalog: its client (imports resolve entries
through ``POST /internal/resolve``; the projection backfills from ``GET /internal/tracks``)
and the backfill task started with the app.

Without a catalog token or client credentials there is no client: imports report what the
projection does not know as unmatched, and nothing is backfilled (a warning says so).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from medley_core.aio import cancel_and_wait
from medley_core.app import ServiceRuntime
from medley_core.catalog_client import CatalogClient
from medley_core.registry import CATALOG_EXPORT, CATALOG_RESOLVE
from medley_core.service_tokens import service_authorization
from medley_playlists import backfill
from medley_playlists.settings import PlaylistsSettings

log = logging.getLogger("medley.playlists.catalog")


def client_from_settings(settings: PlaylistsSettings) -> CatalogClient | None:
    if settings.catalog_token is None and (
        settings.client_id is None or settings.client_secret is None
    ):
        log.warning(
            "no catalog token and no client credentials: imports resolve against the "
            "projection only, and the projection is not backfilled from the catalog"
        )
        return None
    authorization = service_authorization(
        settings, token=settings.catalog_token, scopes=[CATALOG_RESOLVE, CATALOG_EXPORT]
    )
    return CatalogClient(
        settings.catalog_url,
        authorization,
        batch_size=settings.resolve_batch_size,
        timeout_s=settings.catalog_timeout_s,
    )


@dataclass
class CatalogLink:
    settings: PlaylistsSettings
    client: CatalogClient | None
    _tasks: list[asyncio.Task[int]] = field(default_factory=list, repr=False)

    async def start(self, runtime: ServiceRuntime) -> None:
        if self.client is not None and self.settings.backfill_from_export:
            self._tasks.append(
                asyncio.create_task(
                    backfill.backfill_when_needed(runtime, self.client, self.settings),
                    name="catalog-backfill",
                )
            )

    async def stop(self, runtime: ServiceRuntime) -> None:
        del runtime
        await cancel_and_wait(self._tasks)
        if self.client is not None:
            await self.client.aclose()
