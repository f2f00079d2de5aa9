"""Import workers: tasks that claim queued jobs and run them.

Every ingestion process runs ``import_workers`` of them beside its HTTP API (replicas share
the queue through :func:`medley_ingestion.jobs.claim`); ``python -m medley_ingestion.worker``
runs workers alone, without HTTP, for a deployment that separates them. A worker polls every
``worker_poll_interval_s`` and is woken at once when this process accepts an upload.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_core.aio import cancel_and_wait, wait_event
from medley_core.catalog_client import CatalogClient
from medley_core.db import create_engine, create_session_factory
from medley_core.logs import configure_logging
from medley_core.registry import CATALOG_RESOLVE
from medley_core.service_tokens import AuthorizationSource, service_authorization
from medley_ingestion.jobs import claim
from medley_ingestion.pipeline import JobRun, LeaseLost
from medley_ingestion.settings import IngestionSettings

log = logging.getLogger("medley.ingestion.worker")

# After an unexpected failure, wait before claiming again (the job goes back to the queue).
FAILURE_PAUSE_S = 5.0


def catalog_authorization(settings: IngestionSettings) -> AuthorizationSource:
    """A fixed token when one is configured, else client credentials from users."""
    return service_authorization(settings, token=settings.catalog_token, scopes=[CATALOG_RESOLVE])


def catalog_client(settings: IngestionSettings) -> CatalogClient:
    return CatalogClient(
        settings.catalog_url,
        catalog_authorization(settings),
        batch_size=settings.resolve_batch_size,
        timeout_s=settings.resolve_timeout_s,
    )


class ImportWorkers:
    """``count`` worker tasks of this process."""

    def __init__(
        self,
        settings: IngestionSettings,
        sessions: async_sessionmaker[AsyncSession],
        catalog: CatalogClient,
        *,
        count: int | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.catalog = catalog
        self.count = settings.import_workers if count is None else count
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        for index in range(self.count):
            self._tasks.append(
                asyncio.create_task(self._loop(index), name=f"import-worker-{index}")
            )

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks)
        self._tasks.clear()

    def wake(self) -> None:
        self._wake.set()

    async def run_one(self, worker: str | None = None) -> str | None:
        """Claim one job and run it; its final status, or None when there was none."""
        lease = await claim(
            self.settings.database_url,
            self.settings.schema_name,
            worker or f"{self.name}:once",
        )
        if lease is None:
            return None
        try:
            return await JobRun(self.settings, self.sessions, self.catalog, lease).run()
        except LeaseLost as exc:
            log.warning("%s", exc)
            return None
        finally:
            await lease.release()

    async def _loop(self, index: int) -> None:
        worker = f"{self.name}:{index}"
        while True:
            try:
                ran = await self.run_one(worker)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("import worker %s failed; the job goes back to the queue", worker)
                await asyncio.sleep(FAILURE_PAUSE_S)
                continue
            if ran == "queued":  # put back (the catalog is away): let it come back first
                await asyncio.sleep(FAILURE_PAUSE_S)
            elif ran is None:
                self._wake.clear()
                await wait_event(self._wake, self.settings.worker_poll_interval_s)


async def serve_workers(settings: IngestionSettings) -> None:
    """Run this process's workers until SIGTERM or SIGINT."""
    configure_logging(
        settings.service_name,
        settings.log_level,
        settings.log_json,
        upstream_calls=settings.log_upstream_calls,
    )
    engine = create_engine(settings)
    catalog = catalog_client(settings)
    workers = ImportWorkers(settings, create_session_factory(engine), catalog)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    workers.start()
    log.info("%d import workers running", workers.count)
    try:
        await stop.wait()
    finally:
        await workers.stop()
        await catalog.aclose()
        await engine.dispose()


def main() -> None:
    asyncio.run(serve_workers(IngestionSettings()))


if __name__ == "__main__":
    main()
