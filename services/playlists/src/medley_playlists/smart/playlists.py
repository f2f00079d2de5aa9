"""Smart playlists: a user's saved rules, evaluated on every read (always fresh: one SQL
query over the catalog projection and the owner's listening). Only the owner sees them
(their rules read the owner's plays and likes); ``.nsp`` files import and export them."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from medley_core.db import driver_connection
from medley_core.errors import NotFound, Unprocessable
from medley_core.ids import new_id, utcnow
from medley_core.pagination import Page, SqlQuery, fetch_page, sort_key
from medley_playlists import access
from medley_playlists.settings import MAX_ITEMS
from medley_playlists.smart import rules as rules_module
from medley_playlists.smart.query import compile_rules
from medley_playlists.smart.rules import Rules, invalid

COLUMNS = "id, owner_id, name, description, rules, created_at, updated_at"
# The keys of an .nsp document that are rules (the rest is the playlist's name and comment).
RULE_KEYS = ("all", "any", "sort", "order", "limit", "limitPercent", "offset")


def _stored(row: dict[str, Any]) -> dict[str, Any]:
    """The rules a row holds (the driver decodes JSONB, or hands over its text)."""
    rules = row["rules"]
    return dict(json.loads(rules) if isinstance(rules, str) else rules)


def present(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "owner_id": row["owner_id"],
        "name": row["name"],
        "description": row["description"],
        "rules": _stored(row),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


async def checked(session: AsyncSession, owner: uuid.UUID, document: Any) -> Rules:
    """The parsed rules; 422 naming the rule for anything wrong, including a playlist the
    owner cannot see."""
    parsed = rules_module.parse(document)
    conn = await driver_connection(session)
    for playlist_id, path in parsed.playlists:
        try:
            await access.readable(conn, playlist_id, owner)
        except NotFound:
            raise invalid(path, f"no playlist {playlist_id} you can see") from None
    return parsed


def _rules_only(document: dict[str, Any]) -> dict[str, Any]:
    lowered = {k.lower(): k for k in document}
    return {key: document[lowered[key.lower()]] for key in RULE_KEYS if key.lower() in lowered}


async def _owned(session: AsyncSession, smart_id: uuid.UUID, owner: uuid.UUID) -> dict[str, Any]:
    conn = await driver_connection(session)
    record = await conn.fetchrow(
        f"SELECT {COLUMNS} FROM smart_playlists WHERE id = $1 AND owner_id = $2",  # noqa: S608
        smart_id,
        owner,
    )
    if record is None:
        raise NotFound(f"no smart playlist {smart_id}", slug="smart-playlist-not-found")
    return dict(record)


async def create(
    session: AsyncSession,
    owner: uuid.UUID,
    name: str,
    description: str | None,
    document: dict[str, Any],
) -> dict[str, Any]:
    await checked(session, owner, document)
    conn = await driver_connection(session)
    record = await conn.fetchrow(
        f"""
        INSERT INTO smart_playlists (id, owner_id, name, description, rules)
        VALUES ($1, $2, $3, $4, $5::jsonb) RETURNING {COLUMNS}
        """,  # noqa: S608
        new_id(),
        owner,
        name,
        description,
        json.dumps(_rules_only(document)),
    )
    assert record is not None
    return present(dict(record))


async def read(session: AsyncSession, smart_id: uuid.UUID, owner: uuid.UUID) -> dict[str, Any]:
    return present(await _owned(session, smart_id, owner))


async def change(
    session: AsyncSession,
    smart_id: uuid.UUID,
    owner: uuid.UUID,
    *,
    name: str | None = None,
    description: str | None = None,
    document: dict[str, Any] | None = None,
    clear_description: bool = False,
) -> dict[str, Any]:
    row = await _owned(session, smart_id, owner)
    if document is not None:
        await checked(session, owner, document)
    conn = await driver_connection(session)
    record = await conn.fetchrow(
        f"""
        UPDATE smart_playlists SET name = $3, description = $4, rules = $5::jsonb,
            updated_at = now()
        WHERE id = $1 AND owner_id = $2 RETURNING {COLUMNS}
        """,  # noqa: S608
        smart_id,
        owner,
        name if name is not None else row["name"],
        None if clear_description else (description or row["description"]),
        json.dumps(_rules_only(document) if document is not None else _stored(row)),
    )
    assert record is not None
    return present(dict(record))


async def delete(session: AsyncSession, smart_id: uuid.UUID, owner: uuid.UUID) -> None:
    await _owned(session, smart_id, owner)
    conn = await driver_connection(session)
    await conn.execute("DELETE FROM smart_playlists WHERE id = $1", smart_id)


OLDEST_FIRST = sort_key("smart-playlists")


async def listed(
    session: AsyncSession, owner: uuid.UUID, *, limit: int, cursor: str | None
) -> Page[dict[str, Any]]:
    """The owner's smart playlists, oldest first, a keyset page at a time."""
    conn = await driver_connection(session)
    query = SqlQuery()
    query.where(f"owner_id = {query.param(owner)}")
    page = await fetch_page(
        conn,
        columns=COLUMNS,
        source="smart_playlists",
        query=query,
        sort=OLDEST_FIRST,
        cursor=cursor,
        limit=limit,
    )
    return page.map(present)


async def tracks(
    session: AsyncSession,
    smart_id: uuid.UUID,
    owner: uuid.UUID,
    *,
    offset: int = 0,
    limit: int = 100,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The tracks the rules select now, ``offset`` to ``offset + limit`` of them."""
    parsed = rules_module.parse(_stored(await _owned(session, smart_id, owner)))
    return await evaluate(session, parsed, owner, offset=offset, limit=limit, now=now)


async def evaluate(
    session: AsyncSession,
    parsed: Rules,
    owner: uuid.UUID,
    *,
    offset: int = 0,
    limit: int = 100,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The tracks ``parsed`` selects for ``owner`` at ``now``: one query."""
    window = parsed.limit if parsed.limit is not None else MAX_ITEMS
    take = max(0, min(limit, window - offset))
    if take == 0:
        return {"items": [], "next_offset": None}
    sql, args = compile_rules(parsed, owner, now or utcnow(), skip=offset, take=take + 1)
    conn = await driver_connection(session)
    records = await conn.fetch(sql, *args)
    more = len(records) > take
    items = [{k: v for k, v in dict(r).items() if k not in ("n", "total")} for r in records[:take]]
    return {"items": items, "next_offset": offset + take if more else None}


async def export(session: AsyncSession, smart_id: uuid.UUID, owner: uuid.UUID) -> dict[str, Any]:
    """The ``.nsp`` document of a smart playlist: its name, comment and rules."""
    shown = present(await _owned(session, smart_id, owner))
    document: dict[str, Any] = {"name": shown["name"]}
    if shown["description"]:
        document["comment"] = shown["description"]
    return {**document, **shown["rules"]}


def parse_file(content: bytes, filename: str | None) -> tuple[str, str | None, dict[str, Any]]:
    """An uploaded ``.nsp`` file: (name, comment, document); 422 when it is not one."""
    try:
        document = json.loads(content.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise Unprocessable("the .nsp file is not UTF-8", field="file") from None
    except json.JSONDecodeError as exc:
        raise Unprocessable(
            f"the .nsp file is not JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}",
            field="file",
            line=exc.lineno,
        ) from None
    if not isinstance(document, dict):
        raise Unprocessable("an .nsp file holds one JSON object", field="file")
    name = document.get("name")
    if not isinstance(name, str) or not name.strip():
        stem = (filename or "").rsplit("/", 1)[-1].removesuffix(".nsp").strip()
        name = stem or "Imported smart playlist"
    comment = document.get("comment")
    return name.strip()[:200], comment if isinstance(comment, str) else None, document
