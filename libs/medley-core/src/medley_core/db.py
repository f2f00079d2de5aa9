"""Database access for one service's schema: URLs, engine, sessions, metadata."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy import MetaData, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_core.settings import ServiceSettings

# Constraint names Alembic can diff and drop; the same in every schema.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def schema_metadata(schema: str) -> MetaData:
    """The metadata of one service: every table lands in ``schema`` and nowhere else.

    Set it as the ``metadata`` class attribute of the service's SQLModel base class (the
    ``metadata=`` class keyword does not work: tables silently land in SQLModel's global
    metadata, unqualified).
    """
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def one_of(column: str, values: tuple[str, ...]) -> str:
    """The SQL of a check that ``column`` is one of ``values`` (fixed names, never input)."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def sqlalchemy_url(url: str) -> str:
    """``postgresql://…`` as SQLAlchemy's asyncpg URL."""
    parsed = make_url(url)
    if parsed.drivername in {"postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"}:
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def asyncpg_dsn(url: str) -> str:
    """A SQLAlchemy or libpq URL as a plain DSN asyncpg accepts."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def with_credentials(url: str, user: str, password: str | None, database: str | None = None) -> str:
    """The same server as ``url``, logged in as another role (and optionally database)."""
    parsed = make_url(url).set(username=user, password=password)
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


# A pooled connection idle this long is pinged before it is handed out again.
IDLE_PING_S = 5.0
_CHECKED_IN_AT = "medley.checked_in_at"


def ping_idle_connections(engine: AsyncEngine, idle_s: float = IDLE_PING_S) -> None:
    """Check a pooled connection that sat idle for ``idle_s`` before handing it out, and
    replace it if the server dropped it (a restart, a network cut).

    Instead of SQLAlchemy's ``pool_pre_ping``, which pings on every checkout, and with
    asyncpg as ``BEGIN; ; ROLLBACK``: three round trips before each request's first
    statement. A connection in steady use was working milliseconds ago; one that fails
    anyway is invalidated by SQLAlchemy on that error, with the rest of the pool.
    """

    @event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(_dbapi: Any, record: ConnectionPoolEntry) -> None:
        record.info[_CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checked_out(dbapi: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        returned = record.info.get(_CHECKED_IN_AT)
        if returned is None or time.monotonic() - returned < idle_s:
            return
        try:
            dbapi.ping()
        except Exception as exc:
            # The pool retries the checkout with a new connection.
            raise DisconnectionError(f"a pooled connection was dropped: {exc}") from exc


def create_engine(settings: ServiceSettings) -> AsyncEngine:
    """The service's pooled engine; its search_path is the service's own schema."""
    engine = create_async_engine(
        sqlalchemy_url(settings.database_url),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        echo=settings.db_echo,
        connect_args={
            "server_settings": {
                "search_path": settings.schema_name,
                "application_name": f"medley-{settings.service_name}",
            }
        },
    )
    ping_idle_connections(engine)
    return engine


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions of the unit of work: the events a transaction collects
    (:func:`medley_core.events.unit_of_work.collect`) are written to the outbox just before
    it commits, and dropped if it rolls back."""
    # Here, not at the top: the events package builds its tables with this module.
    from medley_core.events.unit_of_work import UnitOfWorkSession

    return async_sessionmaker(
        engine,
        class_=AsyncSession,
        sync_session_class=UnitOfWorkSession,
        expire_on_commit=False,
    )


# Marks a session of :func:`create_read_session_factory` (in ``session.info``).
READ_ONLY_KEY = "medley.read_only"


class ReadOnlyWrite(RuntimeError):
    """Something was written through a read session: a bug of the code path, not the input."""


class ReadOnlySession(Session):
    """The sync session behind a read session: it refuses to flush any change."""


_READ_ONLY_REFUSAL = (
    "a read session cannot write: use the transactional db_session (or transaction())"
)


@event.listens_for(ReadOnlySession, "before_flush")
def _refuse_flush(_session: Session, _context: Any, _instances: Any) -> None:
    raise ReadOnlyWrite(_READ_ONLY_REFUSAL)


@event.listens_for(ReadOnlySession, "do_orm_execute")
def _refuse_statement(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        raise ReadOnlyWrite(_READ_ONLY_REFUSAL)


def create_read_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for reads, on the same pool: each statement runs on its own (autocommit), so
    a read of one row costs that statement's round trip and no ``BEGIN``/``COMMIT`` around
    it. Under PostgreSQL's READ COMMITTED every statement sees its own snapshot anyway, so
    a read path sees nothing it would not have seen in a transaction. Writing through one is
    refused (:class:`ReadOnlyWrite`: a flush, or an INSERT/UPDATE/DELETE statement), and
    events cannot be collected on it."""
    return async_sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"),
        class_=AsyncSession,
        sync_session_class=ReadOnlySession,
        expire_on_commit=False,
        info={READ_ONLY_KEY: True},
    )


def is_read_session(session: AsyncSession) -> bool:
    return bool(session.info.get(READ_ONLY_KEY))


@asynccontextmanager
async def transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One unit of work: committed when the block ends, with the events it collected
    written to the outbox just before; rolled back, events and all, if it raises."""
    async with sessions() as session, session.begin():
        yield session


async def driver_connection(session: AsyncSession) -> asyncpg.Connection[Any]:
    """The asyncpg connection of ``session``'s transaction, for COPY and other bulk work.

    SQLAlchemy begins the database transaction lazily, on the first statement; beginning it
    here (when nothing has run yet) makes sure whatever the caller sends over the raw
    connection is part of it. Asking again in the same transaction costs no round trip.
    """
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    driver: asyncpg.Connection[Any] = raw.driver_connection
    if is_read_session(session):
        return driver  # each read statement stands alone (see create_read_session_factory)
    if not driver.is_in_transaction():
        adapted = raw.dbapi_connection
        start = getattr(adapted, "_start_transaction", None)
        if start is not None and getattr(adapted, "_transaction", True) is None:
            # SQLAlchemy's asyncpg adapter begins lazily, on its first statement: begin it
            # now, as that statement would (one BEGIN, where a `SELECT 1` cost a second
            # round trip and a compiled statement on every write path).
            await start()
        else:
            await conn.execute(text("SELECT 1"))
    if not driver.is_in_transaction():
        raise RuntimeError("bulk statements must run inside a transaction")
    return driver


# --- planner statistics ----------------------------------------------------------------------

_STALENESS = """
SELECT t.name, c.oid::regclass::text AS ref, c.reltuples,
       COALESCE(s.n_mod_since_analyze, 0) AS changed
FROM unnest($1::text[]) WITH ORDINALITY AS t(name, i)
JOIN pg_class c ON c.oid = to_regclass(t.name)
LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
ORDER BY t.i
"""


async def analyse_stale(
    conn: asyncpg.Connection[Any],
    tables: Sequence[str],
    *,
    stale_fraction: float = 0.25,
    pending: Mapping[str, int] | None = None,
    lock_timeout_s: float | None = None,
) -> list[str] | None:
    """ANALYZE those of ``tables`` whose planner statistics are stale, after a bulk write.

    A table is stale when it was never analysed (``reltuples`` -1: a new or empty table
    autovacuum has not reached yet), or when the rows changed since its last analyse are more
    than ``stale_fraction`` of the rows the planner believes it holds. ``pending`` adds the
    rows the caller's own transaction wrote (the statistics views count committed work only;
    ANALYZE, run in that transaction, does see them). A table planned from "0 rows" or from a
    tenth of what it holds sends the planner to nested loops and index probes per row; a
    table at rest is left to autovacuum.

    Runs in a savepoint of the caller's transaction (its own, when there is none). With
    ``lock_timeout_s``, a table a vacuum holds longer than that is not waited for: None is
    returned and nothing is analysed (statistics only speed reads up). Otherwise the names
    analysed, in the order given.
    """
    pending = pending or {}
    rows = await conn.fetch(_STALENESS, list(tables))
    stale = [
        r
        for r in rows
        if r["reltuples"] < 0
        or r["changed"] + pending.get(r["name"], 0) > r["reltuples"] * stale_fraction
    ]
    if not stale:
        return []
    try:
        async with conn.transaction():
            previous = None
            if lock_timeout_s is not None:
                previous = await conn.fetchval("SELECT current_setting('lock_timeout')")
                await conn.execute(
                    "SELECT set_config('lock_timeout', $1, true)", f"{int(lock_timeout_s * 1000)}ms"
                )
            # The names as regclass prints them: quoted and qualified as they need to be.
            await conn.execute("ANALYZE " + ", ".join(r["ref"] for r in stale))
            if previous is not None:
                await conn.execute("SELECT set_config('lock_timeout', $1, true)", previous)
    except asyncpg.LockNotAvailableError:
        return None
    return [r["name"] for r in stale]
