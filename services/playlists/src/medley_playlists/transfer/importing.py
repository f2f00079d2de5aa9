"""Importing a playlist file: read it, match its entries, create the playlist(s) with what
matched, in the file's order, and answer a report per entry (what matched and how, or why
not). Nothing is half-written: a file that cannot be read is a 422 and creates nothing.

An import is idempotent: importing the same playlist again (the same file, or the same
playlist within a Spotify export) answers the playlist the first import made, as long as it
is still there, instead of making another (``external_mappings``: connector ``import``,
the content's digest).
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any, Literal

import asyncpg
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_core.db import driver_connection
from medley_core.errors import Unprocessable
from medley_playlists import items, ordering, playlists
from medley_playlists.access import PLAYLIST_COLUMNS
from medley_playlists.settings import MAX_ITEMS
from medley_playlists.transfer import jsonfiles, m3u, xspf
from medley_playlists.transfer.entries import ParsedPlaylist
from medley_playlists.transfer.matching import Match, Resolver, match

Format = Literal["m3u", "m3u8", "xspf", "json"]
CONNECTOR = "import"
SUFFIXES: dict[str, Format] = {".m3u": "m3u", ".m3u8": "m3u8", ".xspf": "xspf", ".json": "json"}


def detect(content: bytes, filename: str | None, declared: Format | None) -> Format:
    """The format: as declared, else by the file's suffix, else by its first character."""
    if declared is not None:
        return declared
    lowered = (filename or "").lower()
    for suffix, found in SUFFIXES.items():
        if lowered.endswith(suffix):
            return found
    head = content.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return "xspf" if head == b"<" else "json" if head in (b"{", b"[") else "m3u"


def read(
    content: bytes, filename: str | None, declared: Format | None, base: str | None
) -> list[ParsedPlaylist]:
    """The playlists a file holds (a Spotify export holds several)."""
    stem = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0].strip()
    name = stem or "Imported playlist"
    found: list[ParsedPlaylist]
    kind = detect(content, filename, declared)
    if kind in ("m3u", "m3u8"):
        found = [m3u.parse(content, name=name, base=base)]
    elif kind == "xspf":
        found = [xspf.parse(content, name=name, base=base)]
    else:
        document = jsonfiles.load(content)
        if jsonfiles.is_spotify(document):
            found = jsonfiles.parse_spotify(document)
        else:
            found = [jsonfiles.parse_medley(document, name=name)]
    digest = hashlib.sha256(content).hexdigest()
    return [
        ParsedPlaylist(p.name[:200], p.description, p.entries, p.source_key or digest)
        for p in found
    ]


async def _imported_before(
    conn: asyncpg.Connection[Any], owner: uuid.UUID, key: str
) -> dict[str, Any] | None:
    # Two imports of one file at once: the second waits, then finds the first's playlist.
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtext($1))", f"playlists.import:{owner}:{key}"
    )
    record = await conn.fetchrow(
        f"""
        SELECT {PLAYLIST_COLUMNS} FROM playlists p
        JOIN external_mappings m ON m.playlist_id = p.id
        WHERE p.owner_id = $1 AND p.deleted_at IS NULL
            AND m.connector = $2 AND m.connector_playlist_id = $3
        """,  # noqa: S608 -- fixed columns; values are bind parameters
        owner,
        CONNECTOR,
        key,
    )
    return dict(record) if record is not None else None


def _summary(matches: list[Match]) -> dict[str, int]:
    reports = [m.report()["status"] for m in matches]
    return {s: reports.count(s) for s in ("matched", "unmatched", "skipped")}


async def import_file(
    session: AsyncSession,
    owner: uuid.UUID,
    content: bytes,
    filename: str | None,
    *,
    declared: Format | None = None,
    base: str | None = None,
    resolver: Resolver | None = None,
) -> list[dict[str, Any]]:
    """Import every playlist the file holds; for each: the playlist, the per-entry report,
    the counts, and whether it was there already."""
    parsed = read(content, filename, declared, base)
    for found in parsed:
        if len(found.entries) > MAX_ITEMS:
            raise Unprocessable(
                f"a playlist holds at most {MAX_ITEMS} items; {found.name!r} lists "
                f"{len(found.entries)}",
                slug="too-many-items",
                field="file",
                limit=MAX_ITEMS,
            )
    conn = await driver_connection(session)
    results = []
    for found in parsed:
        earlier = await _imported_before(conn, owner, found.source_key)
        if earlier is not None:
            shown = playlists.present(earlier, "owner")
            results.append({"playlist": shown, "existing": True, "report": None})
            continue
        matches = await match(conn, found.entries, resolver, owner=owner)
        chosen = [m for m in matches if m.track_id is not None]

        async def fill(
            conn: asyncpg.Connection[Any],
            playlist_id: uuid.UUID,
            chosen: list[Match] = chosen,
            key: str = found.source_key,
        ) -> tuple[int, int]:
            tracks = [m.track_id for m in chosen if m.track_id is not None]
            totals = await items.insert(
                conn, playlist_id, tracks, ordering.spread(len(tracks)), owner
            )
            await conn.execute(
                """
                INSERT INTO external_mappings (playlist_id, connector, connector_playlist_id)
                VALUES ($1, $2, $3)
                """,
                playlist_id,
                CONNECTOR,
                key,
            )
            return totals

        fields = playlists.Fields(name=found.name, description=found.description)
        created = await playlists.create(session, owner, fields, fill)
        results.append(
            {
                "playlist": created,
                "existing": False,
                "report": [m.report() for m in matches],
                **_summary(matches),
            }
        )
    return results
