"""Hand-written writes: the pure field rules, and a PATCH writing the entity's row once."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_catalog import editing
from medley_catalog.artists import CreditSpec
from medley_catalog.editing import Changes, TrackFields, release_columns
from medley_core.errors import Unprocessable

from .conftest import CatalogDb

Sessions = async_sessionmaker[AsyncSession]


def test_a_patch_of_the_release_date_or_year() -> None:
    day = date(1979, 11, 30)
    assert release_columns(Changes({"release_date": day}), None, None) == {
        "release_date": day,
        "release_year": 1979,
    }
    # Clearing the date alone keeps the year; clearing the year alone keeps the date's.
    assert release_columns(Changes({"release_date": None}), day, 1979) == {
        "release_date": None,
        "release_year": 1979,
    }
    assert release_columns(Changes({"release_year": None}), day, 1979)["release_year"] == 1979
    assert release_columns(Changes({"release_year": 1980}), None, 1979)["release_year"] == 1980
    with pytest.raises(Unprocessable):
        release_columns(Changes({"release_year": 1980}), day, 1979)


async def test_a_patch_updates_the_row_once(fresh: CatalogDb, sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        track_id = await editing.create_track(
            session, TrackFields(title="Song", credits=[CreditSpec(name="A")])
        )
    async with sessions() as session, session.begin():
        changes = Changes(
            {
                "title": "Song (Live)",
                "duration_ms": 200_000,
                "explicit": True,
                "credits": [CreditSpec(name="B", join_phrase=" & "), CreditSpec(name="C")],
                "genres": ["Rock"],
            }
        )
        await editing.update_track(session, track_id, changes)
        conn = await session.connection()
        stats = await conn.exec_driver_sql(
            "SELECT n_tup_upd FROM pg_stat_xact_user_tables "
            "WHERE schemaname = 'catalog' AND relname = 'tracks'"
        )
        # Every field, the credits' columns and updated_at: one row version written.
        assert stats.scalar_one() == 1
    (row,) = await fresh.fetch(
        "SELECT title, title_norm, duration_ms, explicit, artist_names FROM tracks WHERE id = $1",
        track_id,
    )
    assert dict(row) == {
        "title": "Song (Live)",
        "title_norm": "song live",
        "duration_ms": 200_000,
        "explicit": True,
        "artist_names": "B & C",
    }
