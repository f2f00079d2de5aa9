"""The playlists schema: its tables live in schema ``playlists`` only, its Alembic history
goes down and up cleanly, and the models agree with what the history builds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlmodel import SQLModel

from medley_core.db import asyncpg_dsn
from medley_core.migrations import schema_drift
from medley_core.provisioning import downgrade, upgrade
from medley_local.pytest_plugin import ServiceDb, service_db
from medley_playlists import MIGRATIONS_DIR
from medley_playlists.models import PlaylistsModel

from .conftest import service_database

PLAYLISTS_TABLES = {
    "playlists",
    "items",
    "collaborators",
    "external_mappings",
    "smart_playlists",
    "collection_entries",
    "tracks",
    "albums",
    "artists",
    "members",
    "plays",
    "listen_batches",
    "likes",
    "catalog_backfills",
    "outbox",
    "inbox",
    "dead_letters",
}


def test_the_tables_are_in_the_playlists_schema_and_nowhere_else() -> None:
    tables = PlaylistsModel.metadata.tables
    assert {t.schema for t in tables.values()} == {"playlists"}
    assert {t.name for t in tables.values()} == PLAYLISTS_TABLES
    assert not any(t.name in PLAYLISTS_TABLES for t in SQLModel.metadata.tables.values())


@pytest.fixture
async def scratch(playlists_infra: Any) -> AsyncIterator[ServiceDb]:
    """A database of its own, provisioned."""
    async with service_db(playlists_infra.admin_url, service_database(playlists_infra)) as db:
        yield db


async def test_migrations_go_down_and_up_again(scratch: ServiceDb) -> None:
    service_url = scratch.service_url
    assert await scratch.tables() == PLAYLISTS_TABLES
    await asyncio.to_thread(downgrade, MIGRATIONS_DIR, service_url, "base")
    assert await scratch.tables() == set()
    await asyncio.to_thread(upgrade, MIGRATIONS_DIR, service_url, "head")
    assert await scratch.tables() == PLAYLISTS_TABLES


async def test_the_models_match_the_migrated_schema(scratch: ServiceDb) -> None:
    service_url = scratch.service_url
    assert await schema_drift(service_url, PlaylistsModel.metadata) == []


async def test_order_keys_compare_byte_by_byte_whatever_the_locale(
    scratch: ServiceDb,
) -> None:
    """Upper-case sorts before lower-case in "C" (the keys rely on it); a linguistic
    collation would interleave them."""
    service_url = scratch.service_url
    conn = await asyncpg.connect(asyncpg_dsn(service_url))
    try:
        collation = await conn.fetchval(
            "SELECT collation_name FROM information_schema.columns "
            "WHERE table_schema = 'playlists' AND table_name = 'items' "
            "AND column_name = 'sort_key'"
        )
        assert collation == "C"
        assert await conn.fetchval("SELECT 'Zz'::text COLLATE \"C\" < 'a0'")
    finally:
        await conn.close()
