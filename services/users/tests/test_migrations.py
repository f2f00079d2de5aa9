"""The Alembic history: up to head matches the models, down to base leaves nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from medley_core.db import asyncpg_dsn
from medley_core.migrations import schema_drift
from medley_core.provisioning import (
    ServiceDatabase,
    create_database,
    downgrade,
    drop_database,
    ensure_role_and_schema,
    upgrade,
)
from medley_users import MIGRATIONS_DIR
from medley_users.models import UsersModel

from .conftest import ROLE


@pytest.fixture
async def scratch(users_infra: Any) -> AsyncIterator[tuple[str, str]]:
    name = f"medley_users_mig_{uuid.uuid4().hex[:8]}"
    admin_url = await create_database(users_infra.admin_url, name)
    service = ServiceDatabase(
        schema="users", role=ROLE, password=ROLE, migrations_dir=MIGRATIONS_DIR
    )
    await ensure_role_and_schema(admin_url, service)
    try:
        yield admin_url, service.url(admin_url)
    finally:
        await drop_database(users_infra.admin_url, name)


async def tables_in(admin_url: str, schema: str) -> set[str]:
    conn = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        rows = await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", schema
        )
        return {r["table_name"] for r in rows}
    finally:
        await conn.close()


async def test_up_down_up(scratch: tuple[str, str]) -> None:
    admin_url, service_url = scratch
    expected = {t.name for t in UsersModel.metadata.tables.values()}

    await asyncio.to_thread(upgrade, MIGRATIONS_DIR, service_url)
    assert await tables_in(admin_url, "users") == expected | {"alembic_version"}
    assert not (await tables_in(admin_url, "public")) & expected

    await asyncio.to_thread(downgrade, MIGRATIONS_DIR, service_url)
    assert await tables_in(admin_url, "users") == {"alembic_version"}

    await asyncio.to_thread(upgrade, MIGRATIONS_DIR, service_url)
    assert await tables_in(admin_url, "users") == expected | {"alembic_version"}


async def test_head_matches_the_models(scratch: tuple[str, str]) -> None:
    """Every column, constraint and index of the models is what the history creates."""
    _, service_url = scratch
    await asyncio.to_thread(upgrade, MIGRATIONS_DIR, service_url)
    assert await schema_drift(service_url, UsersModel.metadata) == []


async def test_existing_emails_are_normalised_and_look_alikes_kept_apart(
    scratch: tuple[str, str],
) -> None:
    """0003 folds stored addresses to their normal form; of two that fold to one, the
    oldest account keeps it and the other gets a placeholder it can replace."""
    admin_url, service_url = scratch
    await asyncio.to_thread(upgrade, MIGRATIONS_DIR, service_url, "0002")
    older, newer, alone = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    conn = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        insert = (
            "INSERT INTO users.users (id, username, email, created_at)"
            " VALUES ($1, $2, $3, now() - make_interval(days => $4))"
        )
        await conn.execute(insert, older, "older", "\uff4d\uff41\uff4c@example.com", 3)
        await conn.execute(insert, newer, "newer", "mal@example.com", 2)
        await conn.execute(insert, alone, "alone", "\uff42\uff4f\uff42@\uff45xample.com", 1)
    finally:
        await conn.close()

    await asyncio.to_thread(upgrade, MIGRATIONS_DIR, service_url)
    conn = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        emails = dict(await conn.fetch("SELECT id, email FROM users.users"))
    finally:
        await conn.close()
    assert emails == {
        older: "mal@example.com",
        newer: f"{newer}@email-conflict.invalid",
        alone: "bob@example.com",
    }


async def test_an_existing_admin_counts_as_the_bootstrap_grant(scratch: tuple[str, str]) -> None:
    """A deployment that had its admin before 0004 has used its bootstrap: upgrading records
    the oldest admin as the grant, so the setting never grants again."""
    admin_url, service_url = scratch
    await asyncio.to_thread(upgrade, MIGRATIONS_DIR, service_url, "0003")
    first, second = uuid.uuid4(), uuid.uuid4()
    conn = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        insert = (
            "INSERT INTO users.users (id, username, email, roles, created_at)"
            " VALUES ($1, $2, $3, $4, now() - make_interval(days => $5))"
        )
        await conn.execute(insert, second, "second", "second@example.com", ["user", "admin"], 1)
        await conn.execute(insert, first, "first", "first@example.com", ["user", "admin"], 2)
    finally:
        await conn.close()

    await asyncio.to_thread(upgrade, MIGRATIONS_DIR, service_url)
    conn = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        grants = await conn.fetch("SELECT user_id, username FROM users.bootstrap_grant")
    finally:
        await conn.close()
    assert [tuple(g) for g in grants] == [(first, "first")]
