"""Erasing a deleted user: plays, likes, checkpoints, jobs, uploads, rollups, name.

Connector tracks stay: they describe tracks as a source names them, shared by every user of
that source, and hold nothing about who listened.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from sqlmodel.ext.asyncio.session import AsyncSession

from medley_core.db import driver_connection
from medley_ingestion.plays import lock_user

# Every table keyed by user, children before parents.
USER_TABLES = (
    "plays",
    "likes",
    "sync_checkpoints",
    "user_track_totals",
    "user_hours",
    "playing_now",
    "listeners",
)


async def erase_user(
    session: AsyncSession, user_id: uuid.UUID, uploads_dir: Path
) -> dict[str, int]:
    """Delete everything ingestion holds of ``user_id``; rows removed per table."""
    conn = await driver_connection(session)
    await lock_user(conn, user_id)
    removed: dict[str, int] = {}
    uploads = [
        row["upload_path"]
        for row in await conn.fetch(
            "DELETE FROM import_jobs WHERE user_id = $1 RETURNING upload_path", user_id
        )
    ]
    removed["import_jobs"] = len(uploads)
    for table in USER_TABLES:
        status = await conn.execute(f"DELETE FROM {table} WHERE user_id = $1", user_id)  # noqa: S608 (a fixed list)
        removed[table] = int(status.rsplit(" ", 1)[-1])
    for relative in uploads:
        if relative:
            await asyncio.to_thread((uploads_dir / relative).unlink, missing_ok=True)
    return removed
