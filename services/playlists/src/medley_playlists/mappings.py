"""External mappings: where else a playlist lives (a connector's playlist it is synced
with: ``spotify`` and its playlist id, when it was last synced). The owner's to set, read and
remove; an import records its own (connector ``import``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from medley_core.db import driver_connection
from medley_core.errors import NotFound
from medley_playlists import access

COLUMNS = "connector, connector_playlist_id, last_synced_at, created_at"


async def put(
    session: AsyncSession,
    playlist_id: uuid.UUID,
    owner: uuid.UUID,
    connector: str,
    connector_playlist_id: str,
    last_synced_at: datetime | None,
) -> dict[str, Any]:
    conn = await driver_connection(session)
    await access.owned(conn, playlist_id, owner)
    record = await conn.fetchrow(
        f"""
        INSERT INTO external_mappings (playlist_id, connector, connector_playlist_id,
            last_synced_at)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT (playlist_id, connector) DO UPDATE SET
            connector_playlist_id = EXCLUDED.connector_playlist_id,
            last_synced_at = EXCLUDED.last_synced_at
        RETURNING {COLUMNS}
        """,  # noqa: S608 -- fixed columns
        playlist_id,
        connector,
        connector_playlist_id,
        last_synced_at,
    )
    assert record is not None
    return dict(record)


async def listed(
    session: AsyncSession, playlist_id: uuid.UUID, owner: uuid.UUID
) -> list[dict[str, Any]]:
    conn = await driver_connection(session)
    await access.owned(conn, playlist_id, owner)
    records = await conn.fetch(
        f"SELECT {COLUMNS} FROM external_mappings WHERE playlist_id = $1 ORDER BY connector",  # noqa: S608
        playlist_id,
    )
    return [dict(r) for r in records]


async def remove(
    session: AsyncSession, playlist_id: uuid.UUID, owner: uuid.UUID, connector: str
) -> None:
    conn = await driver_connection(session)
    await access.owned(conn, playlist_id, owner)
    gone = await conn.fetchval(
        "DELETE FROM external_mappings WHERE playlist_id = $1 AND connector = $2 "
        "RETURNING connector",
        playlist_id,
        connector,
    )
    if gone is None:
        raise NotFound(f"this playlist has no {connector!r} mapping")
