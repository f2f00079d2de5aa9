"""Provisioning on a real PostgreSQL server: each service's role owns its schema and nothing else.

Two throwaway Alembic histories (tests/fixtures/alpha, tests/fixtures/beta) stand in for two
services; ``infra`` (medley_local.pytest_plugin) gives the session its own database.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from medley_core.db import asyncpg_dsn
from medley_core.provisioning import (
    ServiceDatabase,
    create_database,
    downgrade,
    drop_database,
    ensure_role_and_schema,
    provision,
    upgrade,
)

FIXTURES = Path(__file__).parent / "fixtures"


def service_database(name: str, infra: Any, **changes: Any) -> ServiceDatabase:
    database = ServiceDatabase(
        schema=name,
        # Roles are cluster-wide: infra's suffix keeps sessions apart and is dropped after.
        role=f"owner_{name}{infra.role_suffix}",
        password=f"{name}-password",
        migrations_dir=FIXTURES / name / "migrations",
    )
    return dataclasses.replace(database, **changes)


@dataclasses.dataclass
class Provisioned:
    admin_url: str
    alpha: ServiceDatabase
    beta: ServiceDatabase
    alpha_url: str
    beta_url: str


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def provisioned(infra: Any) -> AsyncIterator[Provisioned]:
    # A database of its own: the extensions created here must not be in the way of the
    # services provisioned in the session's database.
    name = f"{infra.event_prefix}_provisioning"
    admin_url = await create_database(infra.admin_url, name)
    alpha = service_database("alpha", infra)
    beta = service_database("beta", infra, extensions=("pg_trgm", "unaccent"))
    try:
        yield Provisioned(
            admin_url,
            alpha,
            beta,
            await provision(admin_url, alpha),
            await provision(admin_url, beta),
        )
    finally:
        await drop_database(infra.admin_url, name)


@pytest_asyncio.fixture(loop_scope="session")
async def as_alpha(provisioned: Provisioned) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(asyncpg_dsn(provisioned.alpha_url))
    try:
        yield conn
    finally:
        await conn.close()


async def admin_fetchval(provisioned: Provisioned, query: str, *args: Any) -> Any:
    conn = await asyncpg.connect(asyncpg_dsn(provisioned.admin_url))
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


async def test_service_url_logs_in_as_the_service_role(
    provisioned: Provisioned, as_alpha: asyncpg.Connection
) -> None:
    assert await as_alpha.fetchval("SELECT current_user") == provisioned.alpha.role
    assert await as_alpha.fetchval("SELECT current_schema()") == "alpha"


async def test_role_reads_and_writes_its_own_table(as_alpha: asyncpg.Connection) -> None:
    await as_alpha.execute("INSERT INTO alpha.items (name) VALUES ('first')")
    # Unqualified names resolve to the role's own schema (its search_path).
    await as_alpha.execute("INSERT INTO items (name) VALUES ('second')")
    names = await as_alpha.fetch("SELECT name FROM alpha.items ORDER BY id")
    assert [row["name"] for row in names][-2:] == ["first", "second"]
    await as_alpha.execute("UPDATE items SET name = 'changed' WHERE name = 'first'")
    await as_alpha.execute("DELETE FROM items WHERE name = 'changed'")


async def test_role_is_refused_another_services_table(as_alpha: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await as_alpha.fetch("SELECT * FROM beta.items")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await as_alpha.execute("INSERT INTO beta.items (name) VALUES ('intruder')")


async def test_role_cannot_create_outside_its_schema(as_alpha: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await as_alpha.execute("CREATE TABLE public.stray (id int)")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await as_alpha.execute("CREATE SCHEMA stray")


async def test_extensions_are_usable_by_their_service(provisioned: Provisioned) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(provisioned.beta_url))
    try:
        assert await conn.fetchval("SELECT unaccent('Sigur Rós')") == "Sigur Ros"
        assert await conn.fetchval("SELECT similarity('Björk', 'Bjork')") > 0
    finally:
        await conn.close()


async def test_alembic_version_lives_in_the_services_schema(provisioned: Provisioned) -> None:
    assert await admin_fetchval(provisioned, "SELECT to_regclass('alpha.alembic_version')::text")
    assert await admin_fetchval(provisioned, "SELECT to_regclass('beta.alembic_version')::text")
    assert await admin_fetchval(provisioned, "SELECT to_regclass('public.alembic_version')") is None
    version = await admin_fetchval(provisioned, "SELECT version_num FROM alpha.alembic_version")
    assert version == "alpha_0001"


async def test_provisioning_twice_changes_nothing(
    provisioned: Provisioned, as_alpha: asyncpg.Connection
) -> None:
    await as_alpha.execute("INSERT INTO items (name) VALUES ('kept')")
    again = await provision(provisioned.admin_url, provisioned.alpha)
    assert again == provisioned.alpha_url
    assert await as_alpha.fetchval("SELECT count(*) FROM items WHERE name = 'kept'") == 1
    assert await admin_fetchval(provisioned, "SELECT count(*) FROM alpha.alembic_version") == 1
    # Still refused the other schema after a second pass.
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await as_alpha.fetch("SELECT * FROM beta.items")


async def test_downgrade_to_base_and_back(provisioned: Provisioned) -> None:
    migrations, url = provisioned.beta.migrations_dir, provisioned.beta_url
    await asyncio.to_thread(downgrade, migrations, url, "base")
    assert await admin_fetchval(provisioned, "SELECT to_regclass('beta.items')") is None
    assert await admin_fetchval(provisioned, "SELECT count(*) FROM beta.alembic_version") == 0
    await asyncio.to_thread(upgrade, migrations, url)
    assert (
        await admin_fetchval(provisioned, "SELECT to_regclass('beta.items')::text") == "beta.items"
    )


async def test_the_same_role_provisioned_concurrently_in_two_databases(infra: Any) -> None:
    """Roles are cluster-wide: test sessions sharing a server provision them at once."""
    names = [f"{infra.event_prefix}_concurrent_{n}" for n in range(2)]
    urls = [await create_database(infra.admin_url, name) for name in names]
    gamma = service_database("alpha", infra, role=f"owner_gamma{infra.role_suffix}")
    try:
        results = await asyncio.gather(*(provision(url, gamma) for url in urls))
        for result in results:
            conn = await asyncpg.connect(asyncpg_dsn(result))
            try:
                assert await conn.fetchval("SELECT count(*) FROM alpha.items") == 0
            finally:
                await conn.close()
    finally:
        for name in names:
            await drop_database(infra.admin_url, name)


async def test_replicas_migrating_at_once_take_turns(infra: Any) -> None:
    """Each replica migrates before it serves; started together, they must not collide."""
    name = f"{infra.event_prefix}_replicas"
    admin_url = await create_database(infra.admin_url, name)
    alpha = service_database("alpha", infra)
    try:
        await ensure_role_and_schema(admin_url, alpha)
        # Each replica imports everything, says so, and migrates when told: all at once.
        script = (
            "import sys; from pathlib import Path; from medley_core.provisioning import upgrade;"
            " print('ready', flush=True); sys.stdin.readline();"
            " upgrade(Path(sys.argv[1]), sys.argv[2])"
        )
        replicas = [
            await asyncio.create_subprocess_exec(
                sys.executable, "-c", script, str(alpha.migrations_dir), alpha.url(admin_url),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            for _ in range(4)
        ]  # fmt: skip
        for replica in replicas:
            assert replica.stdout is not None
            assert await replica.stdout.readline() == b"ready\n"
        for replica in replicas:
            assert replica.stdin is not None
            replica.stdin.write(b"go\n")
        for replica in replicas:
            _, stderr = await replica.communicate()
            assert replica.returncode == 0, stderr.decode()[-2000:]
        conn = await asyncpg.connect(asyncpg_dsn(admin_url))
        try:
            assert await conn.fetchval("SELECT count(*) FROM alpha.alembic_version") == 1
            assert await conn.fetchval("SELECT to_regclass('alpha.items')::text") == "alpha.items"
        finally:
            await conn.close()
    finally:
        await drop_database(infra.admin_url, name)
