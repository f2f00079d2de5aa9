"""Keyset pagination, one way for every service: sort keys, the cursor, the page query and
the ``Page`` answer. Framework-free.

A listing is read a page at a time with one index range scan whatever the depth: the
cursor holds the sort key of the last row served, and the next page starts strictly after
it (``WHERE (title_norm, id) > ($1, $2) ORDER BY title_norm, id LIMIT n + 1``; the extra row
says whether there is a next page). No OFFSET anywhere.

* :class:`SortKey`: one order of one listing; its fields end with a unique one (the id), so
  no two rows tie and no row is served twice or skipped.
* The cursor (:func:`encode_cursor` / :func:`decode_cursor`): opaque to clients, URL-safe,
  versioned, naming the listing and order it belongs to, with a checksum. Anything but a
  cursor we issued for this order is a 422 naming ``cursor``.
* The page query, for either data-access path: :class:`SqlQuery` and :func:`fetch_page`
  for set-based SQL over asyncpg; :func:`keyset_select` with :func:`orm_page` (SQLModel
  models) or :func:`rows_page` (Core rows) for SQLAlchemy statements.
* :class:`Page`: ``items`` and ``next_cursor`` (null on the last page), the answer shape of
  every list route.
* The ``Link`` field (RFC 8288): every answer with a ``next_cursor`` also carries
  ``Link: <path?…&cursor=…>; rel="next"`` (:func:`next_link`, put on by the services'
  response class, :mod:`medley_core.responses`); the gateway points it at its public path
  (:func:`relink`), the query being the one the client sent.
"""

# ruff: noqa: S608 -- fetch_page assembles SQL from the caller's fixed fragments; every value
# travels as a bind parameter.

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeAlias, TypeVar
from urllib.parse import parse_qsl, urlencode

import msgspec
from sqlalchemy import tuple_

from medley_core.errors import Unprocessable
from medley_core.params import storable

if TYPE_CHECKING:
    import asyncpg
    from sqlalchemy import ColumnElement, RowMapping, Select
    from sqlalchemy.orm import Mapped
    from sqlmodel.ext.asyncio.session import AsyncSession
    from sqlmodel.sql.expression import SelectOfScalar

T = TypeVar("T")
U = TypeVar("U")
Row = dict[str, Any]
# A column of a sort key in a SQLAlchemy statement: ``col(User.id)``, ``table.c.id``.
Column: TypeAlias = "ColumnElement[Any] | Mapped[Any]"
S = TypeVar("S", bound="Select[Any]")

CURSOR_VERSION = "1"
# A checksum, not a signature: it turns a cursor edited by hand or cut short into a 422
# rather than a page from somewhere else. The key is no secret and need not be: a cursor
# holds only a position in a listing its holder may read anyway.
_CHECK_KEY = b"medley-cursor"
_CHECK_BYTES = 6
_INT64 = 2**63


class Page(msgspec.Struct, Generic[T], kw_only=True):
    """One page of a listing."""

    items: list[T]
    next_cursor: Annotated[
        str | None,
        msgspec.Meta(
            description="pass as ?cursor= (same sort and filters) for the next page; "
            "null on the last page"
        ),
    ]

    def map(self, shape: Callable[[T], U]) -> Page[U]:
        """The same page with each item shaped by ``shape`` (a row into its answer type)."""
        return Page(items=[shape(item) for item in self.items], next_cursor=self.next_cursor)

    def next_after_id(self) -> Any:
        """The last item's id when there is a next page, else None: the older ``next_after``
        form of ``next_cursor`` that lists paged by id before still answer."""
        if self.next_cursor is None or not self.items:
            return None
        last = self.items[-1]
        return last["id"] if isinstance(last, Mapping) else getattr(last, "id")  # noqa: B009

    def convert(self, answer: type[U]) -> Page[U]:
        """The same page with each item (a mapping, or an object with attributes) converted
        into ``answer``, a msgspec Struct: unknown fields dropped, the rest checked."""
        return self.map(lambda item: msgspec.convert(item, answer, from_attributes=True))


# --- the Link field ---------------------------------------------------------------------------


def next_cursor_of(content: Any) -> str | None:
    """The ``next_cursor`` of an answer (a :class:`Page`, any object or mapping with one)."""
    cursor = (
        content.get("next_cursor")
        if isinstance(content, Mapping)
        else getattr(content, "next_cursor", None)
    )
    return cursor if isinstance(cursor, str) and cursor else None


def next_link(path: str, query: str, cursor: str) -> str:
    """``<path?query with cursor=…>; rel="next"``: the request's own query (sort, filters,
    limit) with ``cursor`` in place of any it had."""
    params = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "cursor"]
    params.append(("cursor", cursor))
    return f'<{path}?{urlencode(params)}>; rel="next"'


def relink(link: str, path: str) -> str:
    """``link`` (a ``Link`` field an upstream wrote against its own path) pointing at
    ``path`` instead, its query kept: how the gateway shows its public path."""
    parts = []
    for value in link.split(","):
        target, bracket, rest = value.strip().partition(">")
        if not bracket or not target.startswith("<") or "://" in target:
            parts.append(value.strip())  # not a path-only link of ours: left as it is
            continue
        _, question, query = target[1:].partition("?")
        parts.append(f"<{path}{question}{query}>{rest}")
    return ", ".join(parts)


# --- the cursor ------------------------------------------------------------------------------


def _checksum(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, digest_size=_CHECK_BYTES, key=_CHECK_KEY).digest()


def encode_cursor(kind: str, key: Sequence[Any]) -> str:
    """The cursor after the row whose sort key is ``key``, in the listing and order ``kind``
    (``"albums:title"``). UUIDs and datetimes travel as their ISO text."""
    payload = msgspec.json.encode([kind, list(key)])
    token = base64.urlsafe_b64encode(_checksum(payload) + payload).decode().rstrip("=")
    return CURSOR_VERSION + token


def decode_cursor(cursor: str, kind: str, types: Sequence[type]) -> list[Any]:
    """The key ``cursor`` holds, each part of the expected type; a 422 naming ``cursor`` when
    it is not one we issued for ``kind`` (another listing or sort, edited, truncated, from
    another version)."""
    try:
        if not cursor.startswith(CURSOR_VERSION):
            raise ValueError("unknown cursor version")
        body = cursor[len(CURSOR_VERSION) :].encode("ascii")
        raw = base64.b64decode(body + b"=" * (-len(body) % 4), altchars=b"-_", validate=True)
        if base64.urlsafe_b64encode(raw).rstrip(b"=") != body:
            raise ValueError("not as issued")  # an edit of the last character's spare bits
        check, payload = raw[:_CHECK_BYTES], raw[_CHECK_BYTES:]
        if not hmac.compare_digest(check, _checksum(payload)):
            raise ValueError("checksum")
        found_kind, key = msgspec.json.decode(payload)
        if found_kind != kind or not isinstance(key, list) or len(key) != len(types):
            raise ValueError(kind)
        return [_key_part(value, expected) for value, expected in zip(key, types, strict=True)]
    except (ValueError, TypeError, AttributeError, binascii.Error, msgspec.DecodeError):
        raise Unprocessable(
            "the cursor is not valid for this listing (pass next_cursor back as given, with "
            "the same sort)",
            field="cursor",
        ) from None


def _key_part(value: Any, expected: type) -> Any:
    """One part of a decoded key as ``expected``; ValueError when it cannot be."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if expected is uuid.UUID and isinstance(value, str):
        return uuid.UUID(value)
    if expected is float and number:
        return float(value)
    if expected is int and number and isinstance(value, int) and -_INT64 <= value < _INT64:
        return value
    if expected is str and isinstance(value, str) and storable(value):
        return value
    if expected is datetime and isinstance(value, str):
        moment = datetime.fromisoformat(value)
        if moment.utcoffset() is None:
            raise ValueError(value)
        return moment
    raise ValueError(value)


# --- sort keys -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SortKey:
    """One order of one listing.

    ``name`` tells its cursors apart from any other listing's or order's (``"albums:title"``);
    ``fields`` are the row fields it orders by, in one direction, ending with a unique one
    (the tie-breaker: an id, a slug) so no two rows tie; ``types`` what each field is in a
    cursor (str, int, float, uuid.UUID, datetime). Build one with :func:`sort_key`.
    """

    name: str
    fields: tuple[str, ...]
    types: tuple[type, ...]
    descending: bool = False

    def __post_init__(self) -> None:
        if not self.fields or len(self.fields) != len(self.types):
            raise ValueError("a sort key needs one type per field, and at least one field")

    def after(self, cursor: str | None) -> list[Any] | None:
        """The key a cursor of this order holds; None for the first page."""
        return None if cursor is None else decode_cursor(cursor, self.name, self.types)

    def key_of(self, row: Any) -> list[Any]:
        """The sort key of ``row``: a mapping, or an object with these attributes."""
        if isinstance(row, Mapping):
            return [row[name] for name in self.fields]
        return [getattr(row, name) for name in self.fields]

    def cursor_after(self, row: Any) -> str:
        return encode_cursor(self.name, self.key_of(row))


def sort_key(
    name: str,
    *leading: tuple[str, type],
    tie_breaker: tuple[str, type] = ("id", uuid.UUID),
    descending: bool = False,
) -> SortKey:
    """``sort_key("albums:title", ("title_norm", str))``: by title, then by id."""
    parts = (*leading, tie_breaker)
    return SortKey(
        name, tuple(n for n, _ in parts), tuple(t for _, t in parts), descending=descending
    )


def page_of(rows: Sequence[T], limit: int, cursor_after: Callable[[T], str]) -> Page[T]:
    """A page from rows read with ``LIMIT limit + 1``: the first ``limit``, and the cursor
    after the last of them when the extra row says there is more."""
    items = list(rows[:limit])
    more = len(rows) > limit
    return Page(items=items, next_cursor=cursor_after(items[-1]) if more and items else None)


# --- the page query: set-based SQL over asyncpg ---------------------------------------------------


@dataclass
class SqlQuery:
    """A WHERE clause assembled from fixed fragments, every value a numbered bind parameter
    (``$1``, ``$2``…) as asyncpg takes them."""

    conditions: list[str] = field(default_factory=list)
    args: list[Any] = field(default_factory=list)

    def param(self, value: Any) -> str:
        """Bind ``value``; its placeholder."""
        self.args.append(value)
        return f"${len(self.args)}"

    def where(self, condition: str) -> None:
        self.conditions.append(condition)

    @property
    def sql(self) -> str:
        return " AND ".join(self.conditions) if self.conditions else "TRUE"

    def keyset(self, sort: SortKey, key: Sequence[Any] | None, alias: str | None = None) -> str:
        """Start strictly after ``key`` in ``sort``'s order (no condition for the first
        page); the ORDER BY list."""
        columns = [f"{alias}.{name}" if alias else name for name in sort.fields]
        if key is not None:
            operator = "<" if sort.descending else ">"
            params = ", ".join(self.param(part) for part in key)
            self.where(f"({', '.join(columns)}) {operator} ({params})")
        direction = " DESC" if sort.descending else ""
        return ", ".join(f"{column}{direction}" for column in columns)


_KEY_ALIAS = "_page_key"


async def fetch_page(
    conn: asyncpg.Connection[Any],
    *,
    columns: str,
    source: str,
    query: SqlQuery,
    sort: SortKey,
    cursor: str | None,
    limit: int,
    alias: str | None = None,
) -> Page[Row]:
    """``SELECT columns FROM source WHERE <query's filters>``, one page of it in ``sort``'s
    order after ``cursor``. The sort fields are read alongside ``columns`` (qualified by
    ``alias``) and do not appear in the items unless ``columns`` shows them."""
    order = query.keyset(sort, sort.after(cursor), alias)
    keys = ", ".join(
        f"{alias + '.' if alias else ''}{name} AS {_KEY_ALIAS}{i}"
        for i, name in enumerate(sort.fields)
    )
    limit_param = query.param(limit + 1)
    records = await conn.fetch(
        f"SELECT {columns}, {keys} FROM {source} WHERE {query.sql} "
        f"ORDER BY {order} LIMIT {limit_param}",
        *query.args,
    )
    rows = [dict(record) for record in records]
    key_names = [f"{_KEY_ALIAS}{i}" for i in range(len(sort.fields))]
    page = page_of(rows, limit, lambda last: encode_cursor(sort.name, [last[k] for k in key_names]))
    for item in page.items:
        for name in key_names:
            del item[name]
    return page


# --- the page query: SQLAlchemy statements (SQLModel or Core) ----------------------------------


def keyset_select(
    statement: S,
    sort: SortKey,
    columns: Sequence[Column],
    key: Sequence[Any] | None,
    limit: int,
) -> S:
    """``statement`` limited to the page after ``key``: the keyset WHERE, ORDER BY
    ``columns`` (the columns of ``sort``'s fields, in order) and LIMIT ``limit + 1``."""
    if len(columns) != len(sort.fields):
        raise ValueError(f"{sort.name} orders by {sort.fields}: one column for each")
    if key is not None:
        row, after = tuple_(*columns), tuple_(*key)
        statement = statement.where(row < after if sort.descending else row > after)
    order = [column.desc() if sort.descending else column.asc() for column in columns]
    return statement.order_by(*order).limit(limit + 1)


async def orm_page(
    session: AsyncSession,
    statement: SelectOfScalar[T],
    sort: SortKey,
    columns: Sequence[Column],
    *,
    cursor: str | None,
    limit: int,
) -> Page[T]:
    """One page of the models ``statement`` selects, in ``sort``'s order after ``cursor``."""
    paged = keyset_select(statement, sort, columns, sort.after(cursor), limit)
    rows = list((await session.exec(paged)).all())
    return page_of(rows, limit, sort.cursor_after)


async def rows_page(
    session: AsyncSession,
    statement: Select[Any],
    sort: SortKey,
    columns: Sequence[Column],
    *,
    cursor: str | None,
    limit: int,
) -> Page[RowMapping]:
    """One page of the rows a Core ``statement`` selects (as mappings), in ``sort``'s order
    after ``cursor``."""
    paged = keyset_select(statement, sort, columns, sort.after(cursor), limit)
    conn = await session.connection()
    rows = (await conn.execute(paged)).mappings().all()
    return page_of(rows, limit, sort.cursor_after)
