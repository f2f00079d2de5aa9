"""The body of every service's Alembic ``env.py``: async, confined to one schema.

A service's ``migrations/env.py`` is three lines::

    from medley_core.migrations import run_migrations
    from medley_users.models import UsersModel
    from medley_users.settings import UsersSettings

    run_migrations(UsersModel.metadata, UsersSettings)
"""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from medley_core.db import sqlalchemy_url
from medley_core.settings import ServiceSettings


def run_migrations(metadata: MetaData, settings_cls: type[ServiceSettings]) -> None:
    schema = metadata.schema
    if schema is None:
        raise RuntimeError("a service's metadata must name its schema")
    config = context.config
    url = config.attributes.get("database_url") or settings_cls().database_url

    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        # Autogenerate looks at this service's schema and nothing else.
        if type_ == "schema":
            return name == schema
        return True

    def include_object(
        obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
    ) -> bool:
        if type_ == "table":
            return bool(obj.schema == schema)
        return True

    options: dict[str, Any] = {
        "target_metadata": metadata,
        "include_schemas": True,
        "include_name": include_name,
        "include_object": include_object,
        "version_table_schema": schema,
        "compare_type": True,
    }

    if context.is_offline_mode():
        context.configure(url=sqlalchemy_url(url), literal_binds=True, **options)
        with context.begin_transaction():
            context.run_migrations()
        return

    def migrate(connection: Connection) -> None:
        exists = connection.execute(
            text("SELECT 1 FROM pg_namespace WHERE nspname = :schema"), {"schema": schema}
        ).scalar()
        if not exists:
            connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        # public first: Alembic takes current_schema() as the default schema and would
        # report the service's own tables as schema-less, so autogenerate and `alembic
        # check` would see nothing. The service's schema second, so unqualified lookups of
        # its extensions' types and operator classes (gin_trgm_ops) still resolve;
        # anything created must be schema-qualified (the role cannot create in public).
        connection.execute(text(f'SET search_path TO public, "{schema}"'))
        # Replicas of a service start together and each migrates before it serves: one at
        # a time, the others then find the schema at head. Held by this session, so a
        # crash releases it.
        connection.execute(
            text("SELECT pg_advisory_lock(hashtext(:key))"), {"key": f"medley-migrate-{schema}"}
        )
        connection.commit()
        try:
            context.configure(connection=connection, **options)
            with context.begin_transaction():
                context.run_migrations()
        finally:
            connection.rollback()
            connection.execute(
                text("SELECT pg_advisory_unlock(hashtext(:key))"),
                {"key": f"medley-migrate-{schema}"},
            )
            connection.commit()

    async def run_async() -> None:
        engine = create_async_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(migrate)
        await engine.dispose()

    asyncio.run(run_async())


async def schema_drift(database_url: str, metadata: MetaData) -> list[Any]:
    """What Alembic's autogenerate would change to make the database match ``metadata``:
    an empty list when the service's migrated schema is exactly its models.

    Connects with public first on the search_path, as :func:`run_migrations` runs: with the
    service's schema first, its tables would compare as schema-less and nothing would match.
    """
    schema = metadata.schema

    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        if type_ == "schema":
            return name == schema
        return name != "alembic_version"

    def diff(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(
            connection,
            opts={"include_schemas": True, "include_name": include_name, "compare_type": True},
        )
        return list(compare_metadata(context, metadata))

    engine = create_async_engine(
        sqlalchemy_url(database_url),
        poolclass=pool.NullPool,
        connect_args={"server_settings": {"search_path": f'public,"{schema}"'}},
    )
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(diff)
    finally:
        await engine.dispose()
