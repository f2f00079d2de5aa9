"""Exporting a playlist the caller can read: Medley JSON, M3U8 with ``#EXTINF``, or XSPF.

Every item is written, in order, unavailable ones included (the file says what the
playlist holds); each names its track as ``medley:track:<id>``, so importing the file again
finds the very tracks.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from sqlmodel.ext.asyncio.session import AsyncSession

from medley_core.db import driver_connection
from medley_playlists import access
from medley_playlists.transfer import jsonfiles, m3u, xspf

ExportFormat = Literal["json", "m3u8", "xspf"]
MEDIA_TYPES: dict[ExportFormat, str] = {
    "json": "application/json",
    "m3u8": "audio/x-mpegurl; charset=utf-8",
    "xspf": "application/xspf+xml",
}


@dataclass(frozen=True)
class Exported:
    body: bytes
    media_type: str
    filename: str


def _filename(name: str, suffix: str) -> str:
    safe = "".join(c if c.isalnum() or c in " -_." else "_" for c in name).strip() or "playlist"
    return f"{safe[:100]}.{suffix}"


async def export(
    session: AsyncSession, playlist_id: uuid.UUID, viewer: uuid.UUID | None, fmt: ExportFormat
) -> Exported:
    conn = await driver_connection(session)
    seen = await access.readable(conn, playlist_id, viewer)
    records = await conn.fetch(
        """
        SELECT track_id, title, artist_names, album_title, duration_ms, available
        FROM items WHERE playlist_id = $1 ORDER BY sort_key
        """,
        playlist_id,
    )
    tracks: list[dict[str, Any]] = [dict(r) for r in records]
    name, description = seen.playlist["name"], seen.playlist["description"]
    if fmt == "m3u8":
        body = m3u.write(name, tracks).encode("utf-8")
    elif fmt == "xspf":
        body = xspf.write(name, description, tracks)
    else:
        body = json.dumps(jsonfiles.write(name, description, tracks), ensure_ascii=False).encode()
    return Exported(body, MEDIA_TYPES[fmt], _filename(name, fmt))
