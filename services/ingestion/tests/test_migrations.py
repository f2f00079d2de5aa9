"""Ingestion's schema: its tables live in schema ``ingestion`` only, its Alembic history goes
up and down cleanly, and the models agree with what the history builds."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from medley_core.db import asyncpg_dsn
from medley_core.events.tables import EVENT_TABLE_NAMES
from medley_core.migrations import schema_drift
from medley_ingestion import MIGRATIONS_DIR
from medley_ingestion.models import IngestionModel
from medley_local.pytest_plugin import (
    ServiceDb,
    assert_history_goes_down_and_up,
    assert_tables_in_their_schema_only,
    service_db,
)

from .conftest import service_database

INGESTION_TABLES = {
    "import_jobs",
    "import_rejections",
    "connector_tracks",
    "plays",
    "likes",
    "sync_checkpoints",
    "tracks",
    "user_track_totals",
    "user_hours",
    "listeners",
    "playing_now",
    *EVENT_TABLE_NAMES,
}


def test_the_tables_are_in_the_ingestion_schema_and_nowhere_else() -> None:
    assert_tables_in_their_schema_only(IngestionModel, "ingestion", INGESTION_TABLES)


@pytest.fixture
async def scratch(ingestion_infra: Any) -> AsyncIterator[ServiceDb]:
    """Ingestion provisioned in a database of its own, for this test."""
    async with service_db(ingestion_infra.admin_url, service_database(ingestion_infra)) as db:
        yield db


async def test_migrations_go_down_and_up_again(scratch: ServiceDb) -> None:
    await assert_history_goes_down_and_up(scratch, MIGRATIONS_DIR, INGESTION_TABLES)


async def test_the_models_match_the_migrated_schema(scratch: ServiceDb) -> None:
    assert await schema_drift(scratch.service_url, IngestionModel.metadata) == []


async def test_the_database_keeps_its_rules(scratch: ServiceDb) -> None:
    """Unknown states and sources, negative counters, a second play of the same moment."""
    conn = await asyncpg.connect(asyncpg_dsn(scratch.service_url))
    try:
        user = uuid.uuid4()
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(
                "INSERT INTO import_jobs (id, user_id, status, filename) "
                "VALUES ($1, $2, 'paused', 'x')",
                uuid.uuid4(),
                user,
            )
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(
                "INSERT INTO import_jobs (id, user_id, filename, rejected) "
                "VALUES ($1, $2, 'x', -1)",
                uuid.uuid4(),
                user,
            )
        connector = uuid.uuid4()
        await conn.execute(
            "INSERT INTO connector_tracks (id, source, source_key, title, artist) "
            "VALUES ($1, 'spotify', 'k', 't', 'a')",
            connector,
        )
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(
                "INSERT INTO connector_tracks (id, source, source_key, title, artist, confidence) "
                "VALUES ($1, 'spotify', 'k2', 't', 'a', 101)",
                uuid.uuid4(),
            )
        track = uuid.uuid4()
        insert_play = (
            "INSERT INTO plays (id, user_id, track_id, listened_at, source, connector_track_id) "
            "VALUES ($1, $2, $3, '2024-01-01T00:00:00Z', $4, $5)"
        )
        await conn.execute(insert_play, uuid.uuid4(), user, track, "spotify", connector)
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute(insert_play, uuid.uuid4(), user, track, "lastfm", connector)
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(
                insert_play.replace("2024", "2023"), uuid.uuid4(), user, track, "napster", connector
            )
    finally:
        await conn.close()
