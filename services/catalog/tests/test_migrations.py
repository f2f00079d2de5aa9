"""The catalog's schema: its tables live in schema ``catalog`` only, its Alembic history goes
up and down cleanly, and the models agree with what the history builds."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from medley_catalog import MIGRATIONS_DIR
from medley_catalog.models import CatalogModel
from medley_core.db import asyncpg_dsn
from medley_core.events.tables import EVENT_TABLE_NAMES
from medley_core.migrations import schema_drift
from medley_local.pytest_plugin import (
    ServiceDb,
    assert_history_goes_down_and_up,
    assert_tables_in_their_schema_only,
)

CATALOG_TABLES = {
    "artists",
    "albums",
    "tracks",
    "track_credits",
    "album_credits",
    "genres",
    "track_genres",
    "album_genres",
    "artist_genres",
    "external_ids",
    "images",
    "descriptions",
    "redirects",
    "search_words",
    "listen_batches",
    *EVENT_TABLE_NAMES,
}


def test_the_tables_are_in_the_catalog_schema_and_nowhere_else() -> None:
    assert_tables_in_their_schema_only(CatalogModel, "catalog", CATALOG_TABLES)


async def test_migrations_go_down_and_up_again(scratch: ServiceDb) -> None:
    await assert_history_goes_down_and_up(scratch, MIGRATIONS_DIR, CATALOG_TABLES)
    # The vocabulary trigger came back with the tables.
    conn = await asyncpg.connect(asyncpg_dsn(scratch.service_url))
    try:
        await conn.execute(
            "INSERT INTO artists (id, name, sort_name, name_norm, name_search) "
            "VALUES ($1, 'Sigur Rós', 'Sigur Rós', 'sigur ros', 'sigur ros')",
            uuid.uuid4(),
        )
        words = {r["word"] for r in await conn.fetch("SELECT word FROM search_words")}
        assert words == {"sigur", "ros"}
    finally:
        await conn.close()


# Alembic cannot compare expression indexes (the trigram ones); it says so, and skips them.
@pytest.mark.filterwarnings("ignore:Expression #1:UserWarning")
async def test_the_models_match_the_migrated_schema(scratch: ServiceDb) -> None:
    service_url = scratch.service_url
    assert await schema_drift(service_url, CatalogModel.metadata) == []


async def test_the_vocabulary_follows_inserts_and_updates(scratch: ServiceDb) -> None:
    """The trigger adds the words of inserted rows, and of updated rows whose search vector
    changed, each word once, whatever the rows repeat."""
    service_url = scratch.service_url
    conn = await asyncpg.connect(asyncpg_dsn(service_url))
    try:
        ids = [uuid.uuid4(), uuid.uuid4(), uuid.uuid4()]
        await conn.executemany(
            "INSERT INTO artists (id, name, sort_name, name_norm, name_search) "
            "VALUES ($1, $2, $2, $3, $3)",
            [
                (ids[0], "Sigur Rós", "sigur ros"),
                (ids[1], "Sigur", "sigur"),
                (ids[2], "Múm", "mum"),
            ],
        )
        await conn.execute(
            "INSERT INTO artists (id, name, sort_name, name_norm, name_search) "
            "SELECT gen_random_uuid(), n, n, n, n FROM unnest($1::text[]) AS n",
            ["amiina", "amiina", "mum amiina"],
        )
        words = [r["word"] for r in await conn.fetch("SELECT word FROM search_words ORDER BY 1")]
        assert words == ["amiina", "mum", "ros", "sigur"]
        await conn.execute(
            "UPDATE artists SET name_search = 'sigur ros agaetis byrjun' WHERE id = $1", ids[0]
        )
        await conn.execute("UPDATE artists SET name = 'Múm!' WHERE id = $1", ids[2])
        words = [r["word"] for r in await conn.fetch("SELECT word FROM search_words ORDER BY 1")]
        assert words == ["agaetis", "amiina", "byrjun", "mum", "ros", "sigur"]
    finally:
        await conn.close()
