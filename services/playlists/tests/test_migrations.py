"""The playlists schema: its tables live in schema ``playlists`` only, its Alembic history
goes down and up cleanly, and the models agree with what the history builds."""

from __future__ import annotations

import asyncpg

from medley_core.db import asyncpg_dsn
from medley_core.events.tables import EVENT_TABLE_NAMES
from medley_core.migrations import schema_drift
from medley_local.pytest_plugin import (
    ServiceDb,
    assert_history_goes_down_and_up,
    assert_tables_in_their_schema_only,
)
from medley_playlists import MIGRATIONS_DIR
from medley_playlists.models import PlaylistsModel

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
    *EVENT_TABLE_NAMES,
}


def test_the_tables_are_in_the_playlists_schema_and_nowhere_else() -> None:
    assert_tables_in_their_schema_only(PlaylistsModel, "playlists", PLAYLISTS_TABLES)


async def test_migrations_go_down_and_up_again(scratch: ServiceDb) -> None:
    await assert_history_goes_down_and_up(scratch, MIGRATIONS_DIR, PLAYLISTS_TABLES)


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
