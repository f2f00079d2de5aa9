"""Create what a service needs on a PostgreSQL server: its role, its schema, its tables.

Run with an administrator's URL by the launcher, the test fixtures and the container entry
points. Each service logs in as its own role, which owns its schema and nothing else, so a
service that reads another's tables is refused by PostgreSQL itself.
"""

from __future__ import annotations

import asyncio
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from medley_core.db import asyncpg_dsn, with_credentials

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _quote_ident(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return f'"{name}"'


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class ServiceDatabase:
    """One service's place on the server: schema, role, and the extensions it needs."""

    schema: str
    role: str
    password: str
    migrations_dir: Path
    extensions: tuple[str, ...] = field(default=())

    def url(self, admin_url: str) -> str:
        """The URL the service connects with: the admin's server, the service's role."""
        return with_credentials(admin_url, self.role, self.password)


async def create_database(admin_url: str, name: str) -> str:
    """Create database ``name`` if missing; returns the admin URL pointing at it."""
    conn = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f"CREATE DATABASE {_quote_ident(name)}")
    finally:
        await conn.close()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


async def drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {_quote_ident(name)} WITH (FORCE)")
    finally:
        await conn.close()


async def ensure_role_and_schema(admin_url: str, db: ServiceDatabase) -> None:
    """Idempotently create the service's login role and the schema it owns.

    ``admin_url`` must name the database the service will use. Extensions are created by
    the administrator (a service role may not) into the service's schema.
    """
    role, schema = _quote_ident(db.role), _quote_ident(db.schema)
    conn = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        for attempt in range(_ROLE_ATTEMPTS):
            try:
                await _ensure_role_and_schema(conn, db, role, schema)
                return
            except _ROLE_RACES as exc:
                if attempt == _ROLE_ATTEMPTS - 1 or not _is_role_race(exc):
                    raise
                await asyncio.sleep(0.05 * (attempt + 1))
    finally:
        await conn.close()


# Roles are cluster-wide, and an advisory lock only serializes sessions of one database:
# two databases (test sessions sharing a server) provisioning the same role race on the
# pg_authid row. The loser's transaction is simply run again, finding the role made.
_ROLE_ATTEMPTS = 5
_ROLE_RACES = (
    asyncpg.UniqueViolationError,  # CREATE ROLE lost to a concurrent CREATE ROLE
    asyncpg.DuplicateObjectError,
    asyncpg.InternalServerError,  # "tuple concurrently updated": concurrent ALTER ROLE
)


def _is_role_race(exc: Exception) -> bool:
    if isinstance(exc, asyncpg.InternalServerError):
        return "concurrently" in str(exc)
    return True


async def _ensure_role_and_schema(
    conn: asyncpg.Connection, db: ServiceDatabase, role: str, schema: str
) -> None:
    async with conn.transaction():
        # Serializes provisioning within this database (schemas, extensions).
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('medley-provisioning'))")
        exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", db.role)
        verb = "ALTER" if exists else "CREATE"
        await conn.execute(
            f"{verb} ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
            f"PASSWORD {_quote_literal(db.password)}"
        )
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema} AUTHORIZATION {role}")
        await conn.execute(f"ALTER SCHEMA {schema} OWNER TO {role}")
        # Nothing in public for anyone: a service's tables live in its own schema only.
        await conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        await conn.execute(f"ALTER ROLE {role} SET search_path = {schema}")
        for extension in db.extensions:
            await conn.execute(
                f"CREATE EXTENSION IF NOT EXISTS {_quote_ident(extension)} SCHEMA {schema}"
            )


def alembic_config(migrations_dir: Path, database_url: str) -> Config:
    """An Alembic config for one service's history, logged in as ``database_url``."""
    config = Config(str(migrations_dir.parent / "alembic.ini"))
    config.set_main_option("script_location", str(migrations_dir))
    config.attributes["database_url"] = database_url
    return config


# Alembic's ``context`` and ``op`` are process-wide proxies: two commands running at once in
# threads of one process (services provisioned concurrently) would overwrite each other's.
_ALEMBIC_LOCK = threading.Lock()


def upgrade(migrations_dir: Path, database_url: str, revision: str = "head") -> None:
    with _ALEMBIC_LOCK:
        command.upgrade(alembic_config(migrations_dir, database_url), revision)


def downgrade(migrations_dir: Path, database_url: str, revision: str = "base") -> None:
    with _ALEMBIC_LOCK:
        command.downgrade(alembic_config(migrations_dir, database_url), revision)


async def provision(admin_url: str, db: ServiceDatabase) -> str:
    """Role, schema and every migration of one service; returns the service's URL."""
    await ensure_role_and_schema(admin_url, db)
    service_url = db.url(admin_url)
    # Alembic's async env runs its own event loop; give it a thread of its own.
    await asyncio.to_thread(upgrade, db.migrations_dir, service_url)
    return service_url
