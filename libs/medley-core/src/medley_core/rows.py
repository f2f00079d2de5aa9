"""One row of a mapped table by its primary key, for read paths: :class:`RowReads`.

``await rows.get(User, user_id)`` answers what a read session's ``session.get(User,
user_id)`` answers once the session is closed (the row as a detached ``User``, or None), at a
fraction of the cost. The model stays the one description of the row: the statement is built
once per model from its mapped table and columns (``SELECT <every column> FROM <table> WHERE
<key> = $1``) and its values go through the column types' own result processing, as the ORM
would; what is skipped is the per-statement machinery around it. Measured on this machine
(``GET /me`` under ``wrk``): a ``session.get`` through a read session costs ~0.8 ms of CPU
(session, connection wrapper, execution events, cache-key generation, result and
identity-map processing) around a statement the driver runs in ~0.05 ms; this costs a pool
checkout, the driver's prepared statement and a model instance.

The connection comes from the engine's own pool (the same connections, the same checkout
events, so an idle connection is still pinged before use) and goes back to it at once. The
statement runs on its own, like every statement of a read session (no ``BEGIN``/``COMMIT``),
and cannot write. A connection the driver found broken is invalidated, not pooled again.

Only plain single-table mappings are served (no inheritance, no composite key); anything
else is refused when first read, so it takes a read session instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import asyncpg
from asyncpg.prepared_stmt import PreparedStatement
from sqlalchemy import bindparam, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapper, class_mapper
from sqlalchemy.orm.attributes import instance_dict, instance_state
from sqlalchemy.pool import QueuePool
from sqlalchemy.types import TypeEngine
from sqlalchemy.util.concurrency import greenlet_spawn

M = TypeVar("M")
T = TypeVar("T")

# What says the connection itself failed (rather than the statement): it is not pooled again;
# nor is one the server ended (an administrator's termination, a crash or shutdown), whose
# closing the driver may not have noticed yet when the error arrives, nor one whose protocol
# state the driver found inconsistent (its notice of such an end arrived between statements).
_BROKEN = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    OSError,
)


class RowSource(Protocol):
    """What reads one row by primary key: a session (``AsyncSession.get``, the row attached
    to its unit of work) or :class:`RowReads` (the row detached, for a read path)."""

    async def get(self, model: type[M], key: Any, /) -> M | None: ...


@dataclass
class _RowPlan:
    """How one model's rows are read: the statement, each column's attribute key and type,
    and (once the statement was first prepared, which tells the driver's types) each
    column's result processor, None when the driver's value is already the attribute's."""

    sql: str
    mapper: Mapper[Any]
    attributes: tuple[tuple[str, TypeEngine[Any]], ...]
    # The key's bind processor (None when the driver takes the value as it is).
    bind: Callable[[Any], Any] | None
    # The attribute of the primary key.
    key_attribute: str
    processors: tuple[Callable[[Any], Any] | None, ...] | None = None

    def learn(self, statement: PreparedStatement, dialect: Dialect) -> None:
        """The columns' result processors, for the types the driver answers them in."""
        self.processors = tuple(
            type_.dialect_impl(dialect).result_processor(dialect, found.type.oid)
            for (_, type_), found in zip(self.attributes, statement.get_attributes(), strict=True)
        )

    def instance(self, record: Sequence[Any]) -> Any:
        """A detached instance of the model holding ``record``, as a closed session leaves
        the instance it loaded: its identity key set, every column loaded, nothing
        modified."""
        mapper = self.mapper
        processors = self.processors or ()
        obj = mapper.class_manager.new_instance()
        values = instance_dict(obj)
        for (key, _), process, value in zip(self.attributes, processors, record, strict=True):
            values[key] = value if process is None or value is None else process(value)
        state = instance_state(obj)
        state.key = mapper.identity_key_from_primary_key((values[self.key_attribute],))
        return obj


def _plan(model: type[Any], dialect: Dialect) -> _RowPlan:
    mapper = class_mapper(model)
    if mapper.inherits is not None or mapper.polymorphic_on is not None:
        raise TypeError(f"{model.__name__}: only plain single-table models are read as rows")
    if len(mapper.primary_key) != 1:
        raise TypeError(f"{model.__name__}: only a model with a one-column key is read as rows")
    props = list(mapper.column_attrs)
    columns = [prop.columns[0] for prop in props]
    if any(col.table is not mapper.local_table for col in columns):
        raise TypeError(f"{model.__name__}: only columns of its own table are read as rows")
    (key,) = mapper.primary_key
    compiled = (
        select(*columns).where(key == bindparam("key", type_=key.type)).compile(dialect=dialect)
    )
    return _RowPlan(
        sql=str(compiled),
        mapper=mapper,
        attributes=tuple((prop.key, col.type) for prop, col in zip(props, columns, strict=True)),
        bind=key.type.dialect_impl(dialect).bind_processor(dialect),
        key_attribute=mapper.get_property_by_column(key).key,
    )


class RowReads:
    """One-row reads by primary key over ``engine``'s pool (see the module docstring).

    ``await rows.get(Model, key)`` has ``AsyncSession.get``'s shape, so a capability function
    that reads one row can take either (``RowSource``)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._pool = engine.sync_engine.pool
        self._dialect = engine.dialect
        self._plans: dict[type[Any], _RowPlan] = {}
        # At most the pool's kept connections at once: a row read waits for one of them (a
        # round trip or two) rather than opening an overflow connection that the pool closes
        # again as soon as it is returned (a connection and a server process per request).
        size = self._pool.size() if isinstance(self._pool, QueuePool) else None
        self._slots = asyncio.Semaphore(size) if size else None

    def plan(self, model: type[Any]) -> _RowPlan:
        found = self._plans.get(model)
        if found is None:
            found = self._plans[model] = _plan(model, self._dialect)
        return found

    async def get(self, model: type[M], key: Any) -> M | None:
        plan = self.plan(model)
        value = key if plan.bind is None else plan.bind(key)

        async def read(driver: asyncpg.Connection[Any]) -> asyncpg.Record | None:
            if plan.processors is not None:
                return await driver.fetchrow(plan.sql, value)
            statement = await driver.prepare(plan.sql)
            plan.learn(statement, self._dialect)
            return await statement.fetchrow(value)

        record = await self.on_connection(read)
        if record is None:
            return None
        found: M = plan.instance(record)
        return found

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        """``sql`` (with ``$n`` parameters) on a pooled connection, its first row."""
        return await self.on_connection(lambda driver: driver.fetchrow(sql, *args))

    async def on_connection(self, work: Callable[[asyncpg.Connection[Any]], Awaitable[T]]) -> T:
        """``work`` on a pooled driver connection, one of at most the pool's size at once."""
        if self._slots is None:
            return await self._on_connection(work)
        async with self._slots:
            return await self._on_connection(work)

    async def _on_connection(self, work: Callable[[asyncpg.Connection[Any]], Awaitable[T]]) -> T:
        fairy = await greenlet_spawn(self._pool.connect)
        driver: asyncpg.Connection[Any] = fairy.driver_connection
        try:
            answer = await work(driver)
        except Exception as exc:
            if isinstance(exc, _BROKEN) or driver.is_closed():
                await greenlet_spawn(fairy.invalidate, exc)
            raise
        finally:
            await greenlet_spawn(fairy.close)
        return answer
