"""``analyse_stale``: a bulk write's tables analysed when their statistics are stale, and
only then (real PostgreSQL, the session's own database)."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from medley_core.db import analyse_stale, asyncpg_dsn


async def last_analysed(conn: asyncpg.Connection[Any], table: str) -> Any:
    # The statistics views read a snapshot: a fresh one each time.
    await conn.execute("SELECT pg_stat_clear_snapshot()")
    return await conn.fetchval(
        "SELECT last_analyze FROM pg_stat_user_tables WHERE relid = to_regclass($1)", table
    )


async def test_only_the_stale_tables_are_analysed(infra: Any) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(infra.admin_url))
    schema = f"stale_{uuid.uuid4().hex[:8]}"
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
        await conn.execute(f"SET search_path = {schema}")
        await conn.execute("CREATE TABLE grown (n int)")
        await conn.execute("CREATE TABLE quiet (n int)")
        await conn.execute("INSERT INTO grown SELECT generate_series(1, 1000)")
        await conn.execute("INSERT INTO quiet SELECT generate_series(1, 1000)")
        # Counted before the first analyse, as a bulk write's earlier transactions are.
        await conn.execute("SELECT pg_stat_force_next_flush()")

        # Never analysed: both are.
        assert await analyse_stale(conn, ["grown", "quiet"]) == ["grown", "quiet"]
        assert (
            await conn.fetchval("SELECT reltuples FROM pg_class WHERE oid = 'grown'::regclass")
            == 1000
        )

        # A tenth more rows in one: under a quarter, neither is stale.
        await conn.execute("INSERT INTO grown SELECT generate_series(1, 100)")
        await conn.execute("SELECT pg_stat_force_next_flush()")
        assert await analyse_stale(conn, ["grown", "quiet"]) == []

        # Half as many again: that one is, the other is left alone.
        await conn.execute("INSERT INTO grown SELECT generate_series(1, 500)")
        await conn.execute("SELECT pg_stat_force_next_flush()")
        before = await last_analysed(conn, f"{schema}.quiet")
        assert await analyse_stale(conn, ["grown", "quiet"]) == ["grown"]
        assert (
            await conn.fetchval("SELECT reltuples FROM pg_class WHERE oid = 'grown'::regclass")
            == 1600
        )
        assert await last_analysed(conn, f"{schema}.quiet") == before

        # Rows the caller's transaction wrote count through ``pending`` (ANALYZE sees them).
        async with conn.transaction():
            await conn.execute("INSERT INTO quiet SELECT generate_series(1, 300)")
            assert await analyse_stale(conn, ["quiet"], pending={"quiet": 300}) == ["quiet"]
            assert (
                await conn.fetchval("SELECT reltuples FROM pg_class WHERE oid = 'quiet'::regclass")
                == 1300
            )
    finally:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        await conn.close()


async def test_a_busy_table_is_not_waited_for(infra: Any) -> None:
    holder = await asyncpg.connect(asyncpg_dsn(infra.admin_url))
    conn = await asyncpg.connect(asyncpg_dsn(infra.admin_url))
    table = f"busy_{uuid.uuid4().hex[:8]}"
    try:
        await holder.execute(f"CREATE TABLE {table} (n int)")
        await holder.execute(f"INSERT INTO {table} SELECT generate_series(1, 100)")
        async with holder.transaction():
            # What a vacuum holds: ANALYZE waits for it.
            await holder.execute(f"LOCK TABLE {table} IN SHARE UPDATE EXCLUSIVE MODE")
            assert await analyse_stale(conn, [table], lock_timeout_s=0.2) is None
        assert await analyse_stale(conn, [table], lock_timeout_s=0.2) == [table]
        # The caller's own lock timeout is as it was.
        assert await conn.fetchval("SELECT current_setting('lock_timeout')") == "0"
    finally:
        await holder.execute(f"DROP TABLE {table}")
        await holder.close()
        await conn.close()
