"""What one ingestion process holds beside the shared service runtime: the catalog client
and the import workers (started with the app, stopped before it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from medley_core.app import ServiceRuntime
from medley_core.catalog_client import CatalogClient
from medley_ingestion.settings import IngestionSettings
from medley_ingestion.worker import ImportWorkers, catalog_client


@dataclass
class Ingestion:
    settings: IngestionSettings
    catalog: CatalogClient | None = None
    workers: ImportWorkers | None = None
    _started: bool = field(default=False, repr=False)

    async def start(self, runtime: ServiceRuntime) -> None:
        self.catalog = self.catalog or catalog_client(self.settings)
        self.workers = ImportWorkers(self.settings, runtime.sessions, self.catalog)
        self.workers.start()
        self._started = True

    async def stop(self, runtime: ServiceRuntime) -> None:
        del runtime
        if self.workers is not None:
            await self.workers.stop()
        if self.catalog is not None:
            await self.catalog.aclose()

    def catalog_client(self) -> CatalogClient:
        if self.catalog is None:
            raise RuntimeError("the ingestion runtime has not started")
        return self.catalog

    def wake_workers(self) -> None:
        if self.workers is not None:
            self.workers.wake()
