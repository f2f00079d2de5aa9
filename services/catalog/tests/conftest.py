"""Fixtures for the catalog's tests.

Pure tests (normalisation) need none of these. Domain tests get a database of this run's own,
provisioned like production (the catalog role, its schema, pg_trgm/unaccent created by the
administrator, the Alembic history), and sessions as the service opens them. HTTP tests run
the real app in-process (``AsyncTestClient(create_app(...))``) with a token verifier over a
key made here, so they can mint admin, user and service tokens.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from medley_catalog.app import create_app
from medley_catalog.settings import CatalogSettings
from medley_core.registry import CATALOG_RESOLVE, CATALOG_WRITE
from medley_core.testing.problems import assert_problem
from medley_core.testing.tokens import TokenMint, bearer
from medley_local.pytest_plugin import ServiceDb, service_fixtures

# Every table the tests may fill; emptied before each test that asks for a fresh catalog.
TABLES = (
    "track_credits, album_credits, track_genres, album_genres, artist_genres, external_ids, "
    "images, descriptions, redirects, tracks, albums, artists, genres, search_words, "
    "listen_batches, outbox, inbox"
)


# The catalog tests' database: the catalog provisioned in a database of its own.
CatalogDb = ServiceDb

service_infra, service_db, service_settings, sessions, fresh, scratch = service_fixtures(
    "catalog", CatalogSettings, tables=TABLES
)


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
    service_settings: CatalogSettings, tokens: Tokens
) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(create_app(service_settings, verifier=tokens.verifier())) as started:
        yield started


Headers = Callable[[str], dict[str, str]]
__all__ = ["CatalogDb", "Headers", "assert_problem"]


@pytest.fixture(scope="session")
def auth(tokens: Tokens) -> Headers:
    return tokens.headers
