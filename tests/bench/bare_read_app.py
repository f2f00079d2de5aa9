"""The baseline of the authenticated-read benchmark: a bare Litestar + asyncpg endpoint that
reads one ``users`` row by primary key and answers it as JSON, with none of Medley's parts
(no token, no middleware, no ORM). Served by uvicorn like the services:
``uvicorn --factory bare_read_app:create_app --app-dir tests/bench``.

``BENCH_BARE_DSN`` is the database (the users service's own role URL), ``BENCH_BARE_SCHEMA``
the schema holding ``users``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from litestar import Litestar, get
from litestar.exceptions import NotFoundException

POOL_SIZE = 10


def create_app() -> Litestar:
    dsn = os.environ["BENCH_BARE_DSN"]
    schema = os.environ["BENCH_BARE_SCHEMA"]
    pools: list[asyncpg.Pool[Any]] = []

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(
            dsn,
            min_size=POOL_SIZE,
            max_size=POOL_SIZE,
            server_settings={"search_path": schema},
        )
        pools.append(pool)
        try:
            yield
        finally:
            await pool.close()

    @get("/health", sync_to_thread=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @get("/users/{user_id:uuid}")
    async def read_user(user_id: uuid.UUID) -> dict[str, Any]:
        row = await pools[0].fetchrow(
            "SELECT id, username, email, display_name, roles, created_at, disabled_at "
            "FROM users WHERE id = $1",
            user_id,
        )
        if row is None or row["disabled_at"] is not None:
            raise NotFoundException()
        return {
            "id": row["id"],
            "username": row["username"],
            "email": row["email"],
            "display_name": row["display_name"],
            "roles": sorted(set(row["roles"])),
            "created_at": row["created_at"],
        }

    return Litestar(route_handlers=[health, read_user], lifespan=[lifespan], debug=False)
