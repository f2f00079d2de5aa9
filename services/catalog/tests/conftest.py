"""Fixtures for the catalog's tests.

Pure tests (normalisation) need none of these. Domain tests get a database of this run's own,
provisioned like production (the catalog role, its schema, pg_trgm/unaccent created by the
administrator, the Alembic history), and sessions as the service opens them. HTTP tests run
the real app in-process (``AsyncTestClient(create_app(...))``) with a token verifier over a
key made here, so they can mint admin, user and service tokens.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_catalog.app import create_app
from medley_catalog.settings import CatalogSettings
from medley_core.provisioning import ServiceDatabase
from medley_core.registry import CATALOG_RESOLVE, CATALOG_WRITE
from medley_core.testing.tokens import TokenMint, bearer
from medley_local.pytest_plugin import ServiceDb, service_db, service_sessions, test_database

# Every table the tests may fill; emptied before each test that asks for a fresh catalog.
TABLES = (
    "track_credits, album_credits, track_genres, album_genres, artist_genres, external_ids, "
    "images, descriptions, redirects, tracks, albums, artists, genres, search_words, "
    "listen_batches, outbox, inbox"
)


@pytest.fixture(scope="session")
def catalog_infra(request: pytest.FixtureRequest) -> Any:
    """The shared ``infra``, with an event namespace of the catalog tests' own."""
    infra = request.getfixturevalue("infra")
    return dataclasses.replace(infra, event_prefix=infra.event_namespace("catalog"))


# The catalog tests' database: the catalog provisioned in a database of its own.
CatalogDb = ServiceDb


def service_database(infra: Any) -> ServiceDatabase:
    return test_database(infra, "catalog")


@pytest.fixture(scope="session")
async def catalog_db(catalog_infra: Any) -> AsyncIterator[CatalogDb]:
    async with service_db(catalog_infra.admin_url, service_database(catalog_infra)) as db:
        yield db


@pytest.fixture(scope="session")
def catalog_settings(catalog_infra: Any, catalog_db: CatalogDb) -> CatalogSettings:
    return CatalogSettings(
        database_url=catalog_db.service_url,
        nats_url=catalog_infra.nats_url,
        event_prefix=catalog_infra.event_prefix,
        log_json=False,
        db_pool_size=4,
    )


@pytest.fixture(scope="session")
async def sessions(
    catalog_settings: CatalogSettings,
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with service_sessions(catalog_settings) as made:
        yield made


@pytest.fixture
async def fresh(catalog_db: CatalogDb) -> CatalogDb:
    """An empty catalog for this test."""
    await catalog_db.execute(f"TRUNCATE {TABLES} CASCADE")
    return catalog_db


# --- tokens ----------------------------------------------------------------------------------


class Tokens(TokenMint):
    """Tokens the app's verifier accepts, by who holds them."""

    def headers(self, who: str) -> dict[str, str]:
        if who == "admin":
            return bearer(self.admin_token())
        if who == "user":
            return bearer(self.user_token())
        if who == "service":
            # A service that resolves and writes (ingestion will), holding both scopes.
            return bearer(self.service_token("ingestion", scopes=[CATALOG_RESOLVE, CATALOG_WRITE]))
        if who == "unscoped service":
            return bearer(self.service_token("gateway", roles=["service"]))
        raise ValueError(who)


@pytest.fixture(scope="session")
def tokens() -> Tokens:
    return Tokens("catalog-test-key")


@pytest.fixture(scope="session")
async def client(
    catalog_settings: CatalogSettings, tokens: Tokens
) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(create_app(catalog_settings, verifier=tokens.verifier())) as started:
        yield started


Headers = Callable[[str], dict[str, str]]


@pytest.fixture(scope="session")
def auth(tokens: Tokens) -> Headers:
    return tokens.headers


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = dict(response.json())
    assert body["status"] == status
    return body
