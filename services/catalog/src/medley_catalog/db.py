"""Reaching the asyncpg connection under a SQLAlchemy session, for COPY and set-based SQL."""

from __future__ import annotations

from typing import Any

import asyncpg
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

# The lock every transaction that creates catalog names takes (resolution before it creates,
# the search-vocabulary trigger before it adds words): two resolvers never create the same
# new track, and concurrent inserts of the same new words cannot deadlock.
WRITE_LOCK_KEY = "medley.catalog.writes"


async def driver_connection(session: AsyncSession) -> asyncpg.Connection[Any]:
    """The asyncpg connection of ``session``'s transaction (begun if it was not yet).

    SQLAlchemy starts the database transaction lazily, on the first statement; running one
    first makes sure whatever the caller sends over the raw connection is part of it.
    """
    conn = await session.connection()
    await conn.execute(text("SELECT 1"))
    raw = await conn.get_raw_connection()
    driver: asyncpg.Connection[Any] = raw.driver_connection
    if not driver.is_in_transaction():
        raise RuntimeError("the catalog's bulk statements must run inside a transaction")
    return driver


async def take_write_lock(conn: asyncpg.Connection[Any]) -> None:
    """Serialise with every other transaction creating catalog entities until commit."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", WRITE_LOCK_KEY)
