"""The test suite's one source of infrastructure (loaded by ``-p medley_local.pytest_plugin``).

``infra`` gives a session a PostgreSQL database and a NATS server of its own, from, in turn:
``MEDLEY_DATABASE_URL`` / ``MEDLEY_NATS_URL`` when set (each on its own), containers when a
Docker engine answers, else the embedded servers ``make run`` uses. The same tests run on all
three. Each session gets a fresh database, its own role names and its own event prefix, so
sessions sharing a server never see each other; all of it is removed at the end.

``MEDLEY_TEST_INFRA=embedded`` skips the Docker probe; ``=docker`` insists on containers.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import secrets
import shutil
import tempfile
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_contracts.envelope import stream_name
from medley_core.db import asyncpg_dsn, create_engine, create_session_factory
from medley_core.provisioning import (
    ServiceDatabase,
    create_database,
    downgrade,
    drop_database,
    provision,
    upgrade,
)
from medley_core.settings import ServiceSettings
from medley_local.credentials import Credentials
from medley_local.embedded import FAST_UNSAFE_SETTINGS, EmbeddedNats, EmbeddedPostgres
from medley_local.services import ServiceSpec, service
from medley_local.stack import RunningStack, start_stack

# End-to-end tests register an administrator by this name, and every request comes from
# one address, so the per-address limits (not the per-account ones) are lifted.
E2E_ADMIN = "e2e-admin"
E2E_ENV = {
    "MEDLEY_USERS_BOOTSTRAP_ADMIN": E2E_ADMIN,
    "MEDLEY_GATEWAY_REGISTER_PER_ADDRESS": "100000",
    "MEDLEY_GATEWAY_LOGIN_PER_ADDRESS": "100000",
}

POSTGRES_IMAGE = "postgres:18-alpine"
NATS_IMAGE = "nats:2.12-alpine"


@dataclass
class Infra:
    """One test session's PostgreSQL database and NATS server.

    ``admin_url`` is a superuser's URL of a database created for this session (dropped at
    its end); ``event_prefix`` prefixes this session's subjects and streams.
    """

    admin_url: str
    nats_url: str
    event_prefix: str
    role_suffix: str
    credentials: Credentials
    data_dir: Path
    postgres_source: str
    nats_source: str
    _provisioned: dict[str, str] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def event_namespace(self, name: str) -> str:
        """An event prefix of this session's own for one group of tests.

        Services started by different test modules in one session would otherwise consume
        each other's events (a catalog app answering the users tests' erasures). Streams
        under it are still this session's, and deleted with it.
        """
        return f"{self.event_prefix}_{name}"

    def namespaced(self, name: str) -> Infra:
        """This infra with :meth:`event_namespace` as its event prefix (one package's tests)."""
        return dataclasses.replace(self, event_prefix=self.event_namespace(name))

    def role(self, spec: ServiceSpec | str) -> str:
        """The login role ``spec`` has in this session (roles are cluster-wide)."""
        return _spec(spec).role_name(self.role_suffix)

    async def provision(self, spec: ServiceSpec | str) -> str:
        """Provision a service (role, schema, every migration) once; its own role's URL."""
        spec = _spec(spec)
        async with self._lock:
            if spec.name not in self._provisioned:
                role = self.role(spec)
                self.credentials.ensure(roles=[role])
                database = spec.database(self.credentials.role_passwords[role], self.role_suffix)
                self._provisioned[spec.name] = await provision(self.admin_url, database)
            return self._provisioned[spec.name]


@dataclass(frozen=True)
class ServiceDb:
    """One service provisioned in a database of its own, for its tests: reached as the
    administrator (to look behind the service's back) or as the service itself."""

    admin_url: str  # an administrator, on this database
    service_url: str  # the service's role, as the service connects
    schema: str

    async def connect(self) -> asyncpg.Connection:
        """An administrator's connection; unqualified names are the service's tables."""
        return await asyncpg.connect(
            asyncpg_dsn(self.admin_url), server_settings={"search_path": self.schema}
        )

    async def fetch(self, query: str, *args: object) -> list[asyncpg.Record]:
        conn = await self.connect()
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    async def fetchval(self, query: str, *args: object) -> Any:
        conn = await self.connect()
        try:
            return await conn.fetchval(query, *args)
        finally:
            await conn.close()

    async def execute(self, query: str, *args: object) -> str:
        conn = await self.connect()
        try:
            return str(await conn.execute(query, *args))
        finally:
            await conn.close()

    async def tables(self) -> set[str]:
        """The tables in the service's schema (its Alembic version table aside)."""
        records = await self.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = $1 "
            "AND tablename <> 'alembic_version'",
            self.schema,
        )
        return {r["tablename"] for r in records}

    async def events(self, event_type: str | None = None) -> list[asyncpg.Record]:
        """The service's outbox rows, oldest first (optionally of one type)."""
        if event_type is None:
            return await self.fetch("SELECT * FROM outbox ORDER BY id")
        return await self.fetch("SELECT * FROM outbox WHERE type = $1 ORDER BY id", event_type)


@contextlib.asynccontextmanager
async def service_db(admin_url: str, database: ServiceDatabase) -> AsyncIterator[ServiceDb]:
    """A fresh database on ``admin_url``'s server with ``database`` provisioned in it (role,
    schema, extensions, every migration); dropped afterwards."""
    name = f"medley_{database.schema}_test_{secrets.token_hex(4)}"
    scratch_url = await create_database(admin_url, name)
    try:
        service_url = await provision(scratch_url, database)
        yield ServiceDb(scratch_url, service_url, database.schema)
    finally:
        await drop_database(admin_url, name)


def test_database(infra: Any, name: str) -> ServiceDatabase:
    """The registered service ``name`` as its own tests provision it: its schema, history
    and extensions, and a role of the tests' own (``medley_<name>_test`` and the session's
    suffix: roles are cluster-wide, and the suffix has it dropped when the session ends)."""
    suffix = f"_test{getattr(infra, 'role_suffix', '')}"
    spec = service(name)
    return spec.database(password=spec.role_name(suffix), role_suffix=suffix)


@contextlib.asynccontextmanager
async def service_sessions(
    settings: ServiceSettings,
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions as the service opens them (its engine, its unit of work), for domain tests;
    the engine is disposed of afterwards."""
    engine = create_engine(settings)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


Settings = TypeVar("Settings", bound=ServiceSettings)


def settings_for_tests(
    settings_type: type[Settings], infra: Any, db: ServiceDb, **overrides: Any
) -> Settings:
    """A service's settings for tests: on ``db`` (as the service's role) and ``infra``'s NATS
    and event prefix, plain-text logs, a small pool; ``overrides`` on top."""
    given: dict[str, Any] = {
        "database_url": db.service_url,
        "nats_url": infra.nats_url,
        "event_prefix": infra.event_prefix,
        "log_json": False,
        "db_pool_size": 4,
        **overrides,
    }
    return settings_type(**given)


class ServiceFixtures(NamedTuple):
    """What :func:`service_fixtures` makes: fixture functions, for a conftest to bind."""

    service_infra: Any
    service_db: Any
    service_settings: Any
    sessions: Any
    fresh: Any
    scratch: Any


def service_fixtures(
    name: str, settings_type: type[ServiceSettings], *, tables: str
) -> ServiceFixtures:
    """The fixtures a registered service's tests start from, made for its conftest::

        service_infra, service_db, service_settings, sessions, fresh, scratch = (
            service_fixtures("catalog", CatalogSettings, tables=TABLES)
        )

    * ``service_infra``: the shared ``infra``, with an event namespace of these tests' own;
    * ``service_db``: the service provisioned like production (:func:`test_database`) in a
      database of its own, for the session;
    * ``service_settings``: ``settings_type`` on them (:func:`settings_for_tests`);
    * ``sessions``: sessions as the service opens them (:func:`service_sessions`);
    * ``fresh``: ``service_db`` with ``tables`` (every table a test may fill) emptied;
    * ``scratch``: the service provisioned in a database of this one test's own.

    They are made here, once, rather than written out in every conftest; each conftest gets
    fixtures of its own (a session fixture of this module would be one for every package).
    """

    @pytest.fixture(scope="session", name="service_infra")
    def infra_fixture(infra: Infra) -> Infra:
        return infra.namespaced(name)

    @pytest.fixture(scope="session", name="service_db")
    async def db_fixture(service_infra: Infra) -> AsyncIterator[ServiceDb]:
        async with service_db(service_infra.admin_url, test_database(service_infra, name)) as db:
            yield db

    @pytest.fixture(scope="session", name="service_settings")
    def settings_fixture(service_infra: Infra, service_db: ServiceDb) -> ServiceSettings:
        return settings_for_tests(settings_type, service_infra, service_db)

    @pytest.fixture(scope="session", name="sessions")
    async def sessions_fixture(
        service_settings: ServiceSettings,
    ) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
        async with service_sessions(service_settings) as made:
            yield made

    @pytest.fixture(name="fresh")
    async def fresh_fixture(service_db: ServiceDb) -> ServiceDb:
        """An empty service for this test."""
        await service_db.execute(f"TRUNCATE {tables} CASCADE")
        return service_db

    @pytest.fixture(name="scratch")
    async def scratch_fixture(service_infra: Infra) -> AsyncIterator[ServiceDb]:
        """The service provisioned in a database of this test's own."""
        async with service_db(service_infra.admin_url, test_database(service_infra, name)) as db:
            yield db

    return ServiceFixtures(
        infra_fixture,
        db_fixture,
        settings_fixture,
        sessions_fixture,
        fresh_fixture,
        scratch_fixture,
    )


def assert_tables_in_their_schema_only(
    base: type[SQLModel], schema: str, expected: set[str]
) -> None:
    """A service's models declare exactly ``expected``, all in ``schema``, and none of them
    landed in SQLModel's global metadata."""
    tables = base.metadata.tables
    assert {t.schema for t in tables.values()} == {schema}
    assert {t.name for t in tables.values()} == expected
    assert not any(t.name in expected for t in SQLModel.metadata.tables.values())


async def assert_history_goes_down_and_up(
    db: ServiceDb, migrations_dir: Path, expected: set[str]
) -> None:
    """``db`` holds ``expected``; the Alembic history down to base leaves no table, and up to
    head builds ``expected`` again."""
    assert await db.tables() == expected
    await asyncio.to_thread(downgrade, migrations_dir, db.service_url, "base")
    assert await db.tables() == set()
    await asyncio.to_thread(upgrade, migrations_dir, db.service_url, "head")
    assert await db.tables() == expected


def _spec(spec: ServiceSpec | str) -> ServiceSpec:
    return service(spec) if isinstance(spec, str) else spec


def _docker_answers() -> bool:
    """True when a Docker engine answers within a few seconds; never raises."""
    try:
        import docker  # type: ignore[import-untyped]

        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def _source(variable: str) -> str:
    if os.environ.get(variable):
        return "env"
    wanted = os.environ.get("MEDLEY_TEST_INFRA", "").lower()
    if wanted == "embedded":
        return "embedded"
    if wanted == "docker" or _docker_answers():
        return "docker"
    return "embedded"


@contextlib.asynccontextmanager
async def _postgres_server(source: str, work_dir: Path) -> AsyncIterator[str]:
    """A PostgreSQL server administrator's URL, for as long as the context lasts."""
    if source == "env":
        yield os.environ["MEDLEY_DATABASE_URL"]
    elif source == "docker":
        from testcontainers.community.postgres import PostgresContainer

        container = PostgresContainer(POSTGRES_IMAGE, driver=None)
        await asyncio.to_thread(container.start)
        try:
            yield str(container.get_connection_url())
        finally:
            await asyncio.to_thread(container.stop)
    else:
        postgres = EmbeddedPostgres(work_dir / "postgres", settings=FAST_UNSAFE_SETTINGS)
        async with postgres:
            yield postgres.url


@contextlib.asynccontextmanager
async def _nats_server(source: str, work_dir: Path) -> AsyncIterator[str]:
    """A NATS server (JetStream enabled) URL, for as long as the context lasts."""
    if source == "env":
        yield os.environ["MEDLEY_NATS_URL"]
    elif source == "docker":
        from testcontainers.community.nats import NatsContainer

        container = NatsContainer(NATS_IMAGE, jetstream=True)
        await asyncio.to_thread(container.start)
        try:
            yield str(container.nats_uri())
        finally:
            await asyncio.to_thread(container.stop)
    else:
        async with EmbeddedNats(work_dir / "nats") as nats:
            yield nats.url


async def _drop_roles(server_url: str, suffix: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(server_url))
    try:
        roles = await conn.fetch(
            "SELECT rolname FROM pg_roles WHERE right(rolname, length($1)) = $1", suffix
        )
        for row in roles:
            try:
                await conn.execute(f'DROP ROLE IF EXISTS "{row["rolname"]}"')
            except asyncpg.DependentObjectsStillExistError as exc:
                # A test left a database of its own behind; say so, drop the others.
                warnings.warn(f"role {row['rolname']} kept: {exc}", stacklevel=1)
    finally:
        await conn.close()


async def delete_streams(nats_url: str, event_prefix: str) -> list[str]:
    """Delete every JetStream stream of ``event_prefix``; returns their names."""
    import nats

    marker = stream_name("", event_prefix)  # "T1A2B3C4D_"
    client = await nats.connect(nats_url, connect_timeout=5, max_reconnect_attempts=0)
    deleted = []
    try:
        manager = client.jsm()
        for info in await manager.streams_info():
            name = info.config.name
            if name and name.startswith(marker):
                await manager.delete_stream(name)
                deleted.append(name)
    finally:
        await client.close()
    return deleted


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def infra() -> AsyncIterator[Infra]:
    """This session's PostgreSQL database and NATS server (see the module docstring)."""
    token = secrets.token_hex(4)
    work_dir = Path(tempfile.mkdtemp(prefix=f"medley-test-{token}-"))
    postgres_source = _source("MEDLEY_DATABASE_URL")
    nats_source = _source("MEDLEY_NATS_URL")
    try:
        async with (
            _postgres_server(postgres_source, work_dir) as server_url,
            _nats_server(nats_source, work_dir) as nats_url,
        ):
            database = f"medley_test_{token}"
            session = Infra(
                admin_url=await create_database(server_url, database),
                nats_url=nats_url,
                event_prefix=f"t{token}",
                role_suffix=f"_t{token}",
                credentials=Credentials(),
                data_dir=work_dir / "data",
                postgres_source=postgres_source,
                nats_source=nats_source,
            )
            try:
                yield session
            finally:
                try:
                    await delete_streams(nats_url, session.event_prefix)
                finally:
                    await drop_database(server_url, database)
                    await _drop_roles(server_url, session.role_suffix)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def provisioned_service_url(infra: Infra) -> Callable[[ServiceSpec | str], Awaitable[str]]:
    """``await provisioned_service_url("users")``: the service's role URL, provisioned once."""
    return infra.provision


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def medley_stack(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningStack]:
    """Every registered service and the gateway as real processes against ``infra``.

    Only end-to-end tests ask for it. The children's output goes to ``stack.log`` in the
    session's temporary directory (and into the error if one fails to start).
    """
    work_dir = tmp_path_factory.mktemp("medley-stack")
    with (work_dir / "stack.log").open("w", buffering=1) as log:
        stack = await start_stack(
            infra.admin_url,
            infra.nats_url,
            credentials=infra.credentials,
            data_dir=work_dir / "data",
            event_prefix=infra.event_prefix,
            gateway_port=None,
            role_suffix=infra.role_suffix,
            base_env={**os.environ, **E2E_ENV},
            log=log,
        )
        try:
            yield stack
        finally:
            await stack.astop()


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say where the infrastructure will come from."""
    del config
    forced = os.environ.get("MEDLEY_TEST_INFRA")
    parts = [
        "postgres: " + ("MEDLEY_DATABASE_URL" if os.environ.get("MEDLEY_DATABASE_URL") else "auto"),
        "nats: " + ("MEDLEY_NATS_URL" if os.environ.get("MEDLEY_NATS_URL") else "auto"),
    ]
    if forced:
        parts.append(f"MEDLEY_TEST_INFRA={forced}")
    return ["medley infra: " + ", ".join(parts)]
