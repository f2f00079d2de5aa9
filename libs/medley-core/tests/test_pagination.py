"""Keyset pagination: the cursor, sort keys, and the page query on both data-access paths.

The codec and the SQL it writes are tested pure; the page query pages through a real table
whose sort column repeats, in both directions, over asyncpg (``fetch_page``) and through a
SQLModel statement (``orm_page``), and must serve every row once, in order.
"""

from __future__ import annotations

import base64
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from sqlalchemy import Column, Integer, Text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_core.db import asyncpg_dsn, create_session_factory, schema_metadata, sqlalchemy_url
from medley_core.errors import Unprocessable
from medley_core.pagination import (
    Page,
    SortKey,
    SqlQuery,
    decode_cursor,
    encode_cursor,
    fetch_page,
    keyset_select,
    orm_page,
    page_of,
    sort_key,
)
from medley_core.params import parse_id, text_param

KEY_TYPES = (str, int, float, uuid.UUID, datetime)
KEY = ["naïve ☃", -(2**63), 0.1 + 0.2, uuid.uuid4(), datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)]


def refused(cursor: str, kind: str = "things:name", types: tuple[type, ...] = KEY_TYPES) -> bool:
    with pytest.raises(Unprocessable) as caught:
        decode_cursor(cursor, kind, types)
    return caught.value.extensions == {"field": "cursor"}


def test_a_cursor_gives_back_its_key_exactly() -> None:
    cursor = encode_cursor("things:name", KEY)
    assert decode_cursor(cursor, "things:name", KEY_TYPES) == KEY
    # URL-safe as it is: nothing to escape in a query string.
    assert set(cursor) <= set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_")


def test_every_edit_of_a_cursor_is_refused_naming_it() -> None:
    cursor = encode_cursor("things:name", KEY)
    for at in range(len(cursor)):
        for replacement in {"A", "z", "-"} - {cursor[at]}:
            edited = cursor[:at] + replacement + cursor[at + 1 :]
            assert refused(edited), (at, replacement)
    assert refused(cursor[:-3])
    assert refused(cursor + "AA")
    assert refused(cursor + "!")
    assert refused("")
    assert refused("garbage")
    assert refused("1" + "é" * 10)


def test_a_cursor_of_another_listing_sort_or_version_is_refused() -> None:
    cursor = encode_cursor("things:name", KEY)
    assert refused(cursor, kind="things:created")
    assert refused(cursor, types=(str, int, float, uuid.UUID))
    assert refused("2" + cursor[1:])
    # The unversioned cursors of before: base64 JSON of [kind, key].
    old = base64.urlsafe_b64encode(b'["things:name", ["a", 1]]').decode().rstrip("=")
    assert refused(old, types=(str, int))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("not-a-uuid", uuid.UUID),
        (True, int),
        (2**63, int),
        (1.5, int),
        ("1", int),
        ("a\x00b", str),
        (1, str),
        ("2026-01-02T03:04:05", datetime),  # no offset: not a moment
        (None, float),
    ],
)
def test_a_key_part_of_the_wrong_type_is_refused(value: Any, expected: type) -> None:
    assert refused(encode_cursor("k", [value]), kind="k", types=(expected,))


def test_a_page_has_a_next_cursor_only_when_a_row_is_left() -> None:
    order = sort_key("things:name", ("name", str))
    rows = [{"name": n, "id": uuid.UUID(int=i)} for i, n in enumerate("abc")]
    full = page_of(rows, 2, order.cursor_after)
    assert full.items == rows[:2]
    assert full.next_cursor is not None
    assert order.after(full.next_cursor) == ["b", uuid.UUID(int=1)]
    assert page_of(rows, 3, order.cursor_after) == Page(items=rows, next_cursor=None)
    assert page_of([], 3, order.cursor_after) == Page(items=[], next_cursor=None)


def test_the_keyset_condition_and_order_follow_the_direction() -> None:
    query = SqlQuery()
    query.where(f"t.kind = {query.param('x')}")
    up = sort_key("things:name", ("name", str))
    assert query.keyset(up, ["m", uuid.UUID(int=1)], "t") == "t.name, t.id"
    assert query.sql == "t.kind = $1 AND (t.name, t.id) > ($2, $3)"
    down = sort_key("things:rank", ("rank", int), descending=True)
    other = SqlQuery()
    assert other.keyset(down, None) == "rank DESC, id DESC"
    assert other.sql == "TRUE"
    assert other.keyset(down, [5, uuid.UUID(int=1)]) == "rank DESC, id DESC"
    assert other.sql == "(rank, id) < ($1, $2)"
    with pytest.raises(ValueError, match="one type per field"):
        SortKey("bad", ("a",), ())


def test_the_orm_statement_gets_the_keyset_order_and_one_extra_row() -> None:
    order = sort_key("things:rank", ("rank", int), descending=True)
    statement = keyset_select(
        select(Thing), order, [col(Thing.rank), col(Thing.id)], [3, uuid.UUID(int=7)], 10
    )
    compiled = statement.compile(dialect=postgresql.dialect())
    sql = str(compiled)
    assert "WHERE (medley_pagination_test.things.rank, medley_pagination_test.things.id) <" in sql
    assert "ORDER BY medley_pagination_test.things.rank DESC, " in sql
    assert list(compiled.params.values()) == [3, uuid.UUID(int=7), 11]  # one row more


def test_ids_and_text_parameters_are_422s_naming_them() -> None:
    assert parse_id(str(uuid.UUID(int=5))) == uuid.UUID(int=5)
    with pytest.raises(Unprocessable) as caught:
        parse_id("nope", "user_id")
    assert caught.value.extensions == {"field": "user_id"}
    assert text_param(None, "q") is None
    assert text_param("fine", "q", max_length=4) == "fine"
    for bad in ("a\x00", "\ud800", "12345"):
        with pytest.raises(Unprocessable) as caught:
            text_param(bad, "q", max_length=4)
        assert caught.value.extensions == {"field": "q"}


# --- on PostgreSQL -----------------------------------------------------------------------------

SCHEMA = "medley_pagination_test"


class Thing(SQLModel, table=True):
    __tablename__ = "things"
    metadata = schema_metadata(SCHEMA)

    id: uuid.UUID = Field(primary_key=True)
    name: str = Field(sa_column=Column(Text, nullable=False))
    rank: int = Field(sa_column=Column(Integer, nullable=False))


@pytest.fixture(scope="module")
async def things(infra: Any) -> AsyncIterator[list[dict[str, Any]]]:
    """200 rows whose names and ranks repeat (ties broken by the id)."""
    rng = random.Random(7)
    rows = [
        {"id": uuid.UUID(int=rng.getrandbits(128)), "name": rng.choice("abcde"), "rank": i % 7}
        for i in range(200)
    ]
    conn = await asyncpg.connect(asyncpg_dsn(infra.admin_url))
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA}")
        await conn.execute(
            f"CREATE TABLE {SCHEMA}.things (id uuid PRIMARY KEY, name text NOT NULL, "
            "rank int NOT NULL)"
        )
        await conn.copy_records_to_table(
            "things",
            schema_name=SCHEMA,
            records=[(r["id"], r["name"], r["rank"]) for r in rows],
        )
        yield rows
        await conn.execute(f"DROP SCHEMA {SCHEMA} CASCADE")
    finally:
        await conn.close()


def expected_order(rows: list[dict[str, Any]], field: str, descending: bool) -> list[uuid.UUID]:
    ordered = sorted(rows, key=lambda r: (r[field], r["id"]), reverse=descending)
    return [r["id"] for r in ordered]


@pytest.mark.parametrize(("field", "descending"), [("name", False), ("rank", True)])
async def test_fetch_page_serves_every_row_once_in_order(
    infra: Any, things: list[dict[str, Any]], field: str, descending: bool
) -> None:
    part = (field, str if field == "name" else int)
    order = sort_key(f"things:{field}", part, descending=descending)
    conn = await asyncpg.connect(asyncpg_dsn(infra.admin_url))
    seen: list[uuid.UUID] = []
    cursor: str | None = None
    try:
        while True:
            query = SqlQuery()
            query.where("t.rank >= 0")
            page = await fetch_page(
                conn,
                columns="t.id",
                source=f"{SCHEMA}.things t",
                query=query,
                sort=order,
                cursor=cursor,
                limit=23,
                alias="t",
            )
            assert all(set(item) == {"id"} for item in page.items)  # sort fields not shown
            seen += [item["id"] for item in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
    finally:
        await conn.close()
    assert seen == expected_order(things, field, descending)


async def test_orm_page_serves_every_row_once_in_order(
    infra: Any, things: list[dict[str, Any]]
) -> None:
    engine = create_async_engine(sqlalchemy_url(infra.admin_url))
    order = sort_key("things:rank", ("rank", int), descending=True)
    seen: list[uuid.UUID] = []
    cursor: str | None = None
    try:
        async with create_session_factory(engine)() as session:
            assert isinstance(session, AsyncSession)
            while True:
                page = await orm_page(
                    session,
                    select(Thing).where(col(Thing.rank) >= 0),
                    order,
                    [col(Thing.rank), col(Thing.id)],
                    cursor=cursor,
                    limit=31,
                )
                assert all(isinstance(item, Thing) for item in page.items)
                seen += [item.id for item in page.items]
                cursor = page.next_cursor
                if cursor is None:
                    break
    finally:
        await engine.dispose()
    assert seen == expected_order(things, "rank", True)


# --- the Link field ---------------------------------------------------------------------------


def test_next_link_keeps_the_query_and_replaces_the_cursor() -> None:
    from medley_core.pagination import next_link

    link = next_link("/artists", "limit=2&sort=name&cursor=old", "1abc-_")
    assert link == '</artists?limit=2&sort=name&cursor=1abc-_>; rel="next"'


def test_relink_points_at_the_public_path_and_keeps_the_query() -> None:
    from medley_core.pagination import relink

    upstream = '</artists?limit=2&cursor=1abc>; rel="next"'
    assert relink(upstream, "/api/v1/catalog/artists") == (
        '</api/v1/catalog/artists?limit=2&cursor=1abc>; rel="next"'
    )
    elsewhere = '<https://example.com/x>; rel="help"'
    assert relink(elsewhere, "/api/v1/catalog/artists") == elsewhere


def test_next_cursor_of_pages_structs_and_mappings() -> None:
    from medley_core.pagination import next_cursor_of

    assert next_cursor_of(Page(items=[], next_cursor="c1")) == "c1"
    assert next_cursor_of({"items": [], "next_cursor": None}) is None
    assert next_cursor_of({"id": "x"}) is None
