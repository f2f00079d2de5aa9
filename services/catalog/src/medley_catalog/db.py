"""The catalog's write lock, taken on the asyncpg connection under a session."""

from __future__ import annotations

from typing import Any

import asyncpg

# The lock every transaction that creates catalog names takes (resolution before it creates,
# the search-vocabulary trigger before it adds words): two resolvers never create the same
# new track, and concurrent inserts of the same new words cannot deadlock.
WRITE_LOCK_KEY = "medley.catalog.writes"


async def take_write_lock(conn: asyncpg.Connection[Any]) -> None:
    """Serialise with every other transaction creating catalog entities until commit."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", WRITE_LOCK_KEY)


async def try_write_lock(conn: asyncpg.Connection[Any]) -> bool:
    """Take the write lock if nobody holds it; False, without waiting, if somebody does."""
    return bool(
        await conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtext($1))", WRITE_LOCK_KEY)
    )
