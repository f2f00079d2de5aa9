"""Fixtures for ingestion's tests.

Pure tests (the format readers) need none of these. Domain and HTTP tests get ingestion
provisioned like production in a database of this run's own, and a **real catalog**: the
catalog app served over HTTP by uvicorn on a free port, in a database of its own, on the same
NATS namespace (so its ``catalog.track.*`` events reach ingestion's consumers). Ingestion calls
its ``POST /internal/resolve`` with a service token the catalog's verifier accepts.

The ingestion app under test runs no import workers of its own (``import_workers=0``): tests
run jobs with :meth:`ImportWorkers.run_one`, or start worker processes, and see exactly when
each one runs.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_catalog import MIGRATIONS_DIR as CATALOG_MIGRATIONS
from medley_catalog.app import create_app as create_catalog_app
from medley_catalog.settings import EXTENSIONS as CATALOG_EXTENSIONS
from medley_catalog.settings import CatalogSettings
from medley_core.catalog_client import CatalogClient
from medley_core.db import create_engine, create_session_factory
from medley_core.provisioning import ServiceDatabase
from medley_core.registry import CATALOG_RESOLVE
from medley_core.service_tokens import StaticAuthorization
from medley_core.testing.problems import assert_problem
from medley_core.testing.servers import served_in_thread
from medley_core.testing.tokens import TokenMint, bearer
from medley_ingestion import MIGRATIONS_DIR
from medley_ingestion.app import create_app
from medley_ingestion.settings import IngestionSettings
from medley_ingestion.worker import ImportWorkers
from medley_local.pytest_plugin import Infra, ServiceDb, service_db, settings_for_tests

ROLE = "medley_ingestion_test"
CATALOG_ROLE = "medley_catalog_for_ingestion_test"

# Every table a test may fill; emptied by ``fresh``.
TABLES = (
    "plays, likes, import_rejections, import_jobs, connector_tracks, sync_checkpoints, "
    "tracks, user_track_totals, user_hours, playing_now, listeners, "
    "outbox, inbox"
)


@pytest.fixture(scope="session")
def ingestion_infra(infra: Infra) -> Infra:
    """The shared ``infra``; its events under a namespace of ingestion's tests."""
    return infra.namespaced("ingestion")


def service_database(infra: Any) -> ServiceDatabase:
    name = f"{ROLE}{getattr(infra, 'role_suffix', '')}"
    return ServiceDatabase(
        schema="ingestion", role=name, password=name, migrations_dir=MIGRATIONS_DIR
    )


@pytest.fixture(scope="session")
async def ingestion_db(ingestion_infra: Any) -> AsyncIterator[ServiceDb]:
    async with service_db(ingestion_infra.admin_url, service_database(ingestion_infra)) as db:
        yield db


@pytest.fixture(scope="session")
async def catalog_db(ingestion_infra: Any) -> AsyncIterator[ServiceDb]:
    name = f"{CATALOG_ROLE}{getattr(ingestion_infra, 'role_suffix', '')}"
    database = ServiceDatabase(
        schema="catalog",
        role=name,
        password=name,
        migrations_dir=CATALOG_MIGRATIONS,
        extensions=CATALOG_EXTENSIONS,
    )
    async with service_db(ingestion_infra.admin_url, database) as db:
        yield db


# --- tokens ----------------------------------------------------------------------------------


class Tokens(TokenMint):
    """The shared token mint, with the headers ingestion's tests ask for."""

    def token(self, subject: str, *, service: bool = False, scope: str = "") -> str:
        if service:
            return self.service_token(subject, scopes=scope.split())
        return self.user_token(subject)

    def user(self, user_id: uuid.UUID) -> dict[str, str]:
        return bearer(self.user_token(user_id))

    def admin(self) -> dict[str, str]:
        return bearer(self.admin_token())

    def service(self, client: str, scope: str) -> dict[str, str]:
        return bearer(self.service_token(client, scopes=scope.split()))


@pytest.fixture(scope="session")
def tokens() -> Tokens:
    return Tokens()


# --- the real catalog, over HTTP ---------------------------------------------------------


@pytest.fixture(scope="session")
def catalog_url(ingestion_infra: Any, catalog_db: ServiceDb, tokens: Tokens) -> Iterator[str]:
    """The catalog app, served over HTTP for the session."""
    settings = settings_for_tests(
        CatalogSettings, ingestion_infra, catalog_db, relay_poll_interval_s=0.2
    )
    with served_in_thread(
        create_catalog_app(settings, verifier=tokens.verifier()), name="catalog"
    ) as url:
        yield url


@pytest.fixture(scope="session")
def catalog_token(tokens: Tokens) -> str:
    return tokens.token("ingestion", service=True, scope=CATALOG_RESOLVE)


@pytest.fixture(scope="session")
async def catalog(catalog_url: str, catalog_token: str) -> AsyncIterator[CatalogClient]:
    client = CatalogClient(catalog_url, StaticAuthorization(catalog_token))
    try:
        yield client
    finally:
        await client.aclose()


# --- ingestion ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ingestion-data")


@pytest.fixture(scope="session")
def settings(
    ingestion_infra: Any, ingestion_db: ServiceDb, catalog_url: str, data_dir: Path
) -> IngestionSettings:
    return IngestionSettings(
        database_url=ingestion_db.service_url,
        nats_url=ingestion_infra.nats_url,
        event_prefix=ingestion_infra.event_prefix,
        data_dir=data_dir,
        catalog_url=catalog_url,
        log_json=False,
        db_pool_size=4,
        import_workers=0,
        import_chunk_records=1_000,
        relay_poll_interval_s=0.2,
    )


@pytest.fixture(scope="session")
async def sessions(settings: IngestionSettings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions as the service opens them (its engine, disposed at the end)."""
    engine = create_engine(settings)
    yield create_session_factory(engine)
    await engine.dispose()


@pytest.fixture(scope="session")
def workers(
    settings: IngestionSettings,
    sessions: async_sessionmaker[AsyncSession],
    catalog: CatalogClient,
) -> ImportWorkers:
    """Run jobs one at a time from the test (``await workers.run_one()``)."""
    return ImportWorkers(settings, sessions, catalog, count=0)


@pytest.fixture(scope="session")
async def client(
    settings: IngestionSettings, tokens: Tokens, catalog_url: str, catalog_token: str
) -> AsyncIterator[AsyncTestClient[Any]]:
    app_catalog = CatalogClient(catalog_url, StaticAuthorization(catalog_token))
    app = create_app(settings, verifier=tokens.verifier(), catalog=app_catalog)
    async with AsyncTestClient(app) as started:
        yield started


@pytest.fixture
async def fresh(ingestion_db: ServiceDb) -> ServiceDb:
    """Ingestion's tables emptied for this test (the catalog keeps its tracks)."""
    await ingestion_db.execute(f"TRUNCATE {TABLES} CASCADE")
    return ingestion_db


Headers = Callable[[uuid.UUID], dict[str, str]]
__all__ = [
    "Headers",
    "Tokens",
    "assert_problem",
    "assert_rollups_exact",
    "eventually",
    "publish_event",
]

# Each rollup next to the same figures computed from the plays themselves: the rows either
# side has and the other lacks (none when the rollups are exact).
ROLLUP_DRIFT = {
    "user_track_totals": """
        WITH rollup AS (SELECT user_id, track_id, plays, ms_played FROM user_track_totals),
        truth AS (SELECT user_id, track_id, count(*) AS plays,
                         sum(coalesce(ms_played, 0)) AS ms_played
                  FROM plays GROUP BY 1, 2)
        (TABLE rollup EXCEPT ALL TABLE truth) UNION ALL (TABLE truth EXCEPT ALL TABLE rollup)
    """,
    "user_hours": """
        WITH rollup AS (SELECT user_id, hour, plays, ms_played FROM user_hours),
        truth AS (SELECT user_id, date_trunc('hour', listened_at, 'UTC') AS hour,
                         count(*) AS plays, sum(coalesce(ms_played, 0)) AS ms_played
                  FROM plays GROUP BY 1, 2)
        (TABLE rollup EXCEPT ALL TABLE truth) UNION ALL (TABLE truth EXCEPT ALL TABLE rollup)
    """,
}


async def assert_rollups_exact(db: ServiceDb) -> None:
    """Every rollup holds exactly what the stored plays add up to (no row left at zero)."""
    for table, drift in ROLLUP_DRIFT.items():
        assert [tuple(r) for r in await db.fetch(drift)] == [], table


@pytest.fixture(scope="session")
def as_user(tokens: Tokens) -> Headers:
    return tokens.user


async def publish_event(infra: Any, event_type: Any, payload: Any, subject: str) -> None:
    """Publish an event as its owner's relay would (the owner is not running here)."""
    import nats

    from medley_contracts.envelope import EventEnvelope, nats_subject
    from medley_core.events.streams import ensure_stream
    from medley_core.ids import new_id, utcnow

    envelope = EventEnvelope(
        id=new_id(),
        type=event_type.name,
        version=event_type.version,
        source=event_type.context,
        occurred_at=utcnow(),
        subject=subject,
        data=payload.model_dump(mode="json"),
    )
    client = await nats.connect(infra.nats_url)
    try:
        js = client.jetstream()
        await ensure_stream(js, event_type.context, infra.event_prefix)
        await js.publish(
            nats_subject(event_type.name, infra.event_prefix),
            envelope.model_dump_json().encode(),
            headers={"Nats-Msg-Id": str(envelope.id)},
        )
    finally:
        await client.close()


async def eventually(probe: Any, timeout_s: float = 30.0) -> Any:
    """Poll ``probe()`` until it returns something truthy."""
    import asyncio

    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        value = await probe()
        if value:
            return value
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.1)
