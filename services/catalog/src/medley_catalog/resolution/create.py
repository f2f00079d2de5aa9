"""Stage 4: creating what is still unknown, in bulk (COPY), under the write lock.

What to create is decided in :mod:`.plan`; this module looks up what already exists
(artists by name, albums by key, the titles of existing albums new tracks land on) and
writes the rest: artists, albums with their credits, tracks with their credits and
external ids, one COPY per table.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from medley_catalog import artists, external_ids
from medley_catalog.queries import as_uuid
from medley_catalog.resolution.plan import (
    ALBUM_COLUMNS,
    TRACK_COLUMNS,
    AlbumKey,
    AlbumPlan,
    ArtistIds,
    NewRows,
    artist_events,
    artist_names_needed,
    group,
    new_album,
    new_track,
    plan_albums,
)
from medley_catalog.resolution.prepare import Prepared
from medley_core.db import analyse_stale
from medley_core.events.unit_of_work import PendingEvent
from medley_core.ids import new_id, utcnow

# The tables the matching stages plan over. A catalog that grows fast (an import into an
# empty one) outruns autovacuum: planned from "0 rows" statistics, the stages scan every
# live track per candidate (``deleted_at IS NULL`` is guessed 0.5% selective without
# statistics), and each batch costs more than the last. Refreshed when they grew by more
# than a quarter since last analysed: a dozen times over a 50,000-track import (by
# 1,000s), never on a catalog at rest.
_PLANNED_TABLES = ("artists", "albums", "tracks", "external_ids", "album_credits", "track_credits")
_GROWTH_TO_REANALYSE = 0.25
# Below this many new tracks a batch leaves it to autovacuum (a few rows cannot mislead).
_FEW_TRACKS = 100

# What a COPY of new rows writes, per entity: its table and columns, its credits table.
_TABLES = {
    "album": ("albums", ALBUM_COLUMNS, artists.CREDIT_TABLES["album"]),
    "track": ("tracks", TRACK_COLUMNS, artists.CREDIT_TABLES["track"]),
}


@dataclass
class Created:
    """Candidate index → (new track, its album); the events of everything created."""

    tracks: dict[int, tuple[uuid.UUID, uuid.UUID | None]]
    events: list[PendingEvent]


async def _copy(conn: asyncpg.Connection[Any], entity_type: str, rows: NewRows) -> None:
    """COPY new albums or tracks, then their credits."""
    table, columns, (credit_table, owner) = _TABLES[entity_type]
    await conn.copy_records_to_table(table, records=rows.rows, columns=columns)
    await conn.copy_records_to_table(
        credit_table, records=rows.credit_rows, columns=(owner, *artists.CREDIT_COLUMNS)
    )


async def _existing_albums(
    conn: asyncpg.Connection[Any], keys: Sequence[AlbumKey]
) -> dict[AlbumKey, uuid.UUID]:
    """The live album of each key (a year-less album matches any year), when there is one."""
    if not keys:
        return {}
    found = await conn.fetch(
        """
        SELECT DISTINCT ON (k.i) k.i, al.id
        FROM unnest($1::text[], $2::uuid[], $3::int[])
            WITH ORDINALITY AS k(title_norm, artist_id, year, i)
        JOIN albums al ON al.title_norm = k.title_norm AND al.primary_artist_id = k.artist_id
            AND al.deleted_at IS NULL
            AND (k.year IS NULL OR al.release_year IS NULL OR al.release_year = k.year)
        ORDER BY k.i, (al.release_year IS NOT DISTINCT FROM k.year) DESC,
            (al.release_year IS NULL) DESC, al.id
        """,
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
    )
    return {keys[r["i"] - 1]: as_uuid(r["id"]) for r in found}


async def _albums(
    conn: asyncpg.Connection[Any],
    plan: AlbumPlan,
    artist_ids: ArtistIds,
    source: str | None,
    events: list[PendingEvent],
    now: datetime,
) -> tuple[dict[AlbumKey, uuid.UUID], dict[uuid.UUID, str]]:
    """Each planned album's id (existing or created here) and each album's title."""
    album_ids = await _existing_albums(conn, list(plan.described_by))
    titles: dict[uuid.UUID, str] = {}
    rows = NewRows()
    for key, described_by in plan.described_by.items():
        if key in album_ids:
            continue
        album_id = album_ids[key] = new_id()
        new_album(rows, album_id, key, described_by, artist_ids, source=source, now=now)
        titles[album_id] = described_by.first.candidate.album or ""
    if rows.rows:
        await _copy(conn, "album", rows)
        events.extend(rows.events)
    # Titles of existing albums the new tracks land on (for their events and search).
    existing = [a for a in album_ids.values() if a not in titles]
    if existing:
        for r in await conn.fetch(
            "SELECT id, title FROM albums WHERE id = ANY($1::uuid[])", existing
        ):
            titles[as_uuid(r["id"])] = r["title"]
    return album_ids, titles


async def _refresh_statistics(conn: asyncpg.Connection[Any], created_tracks: int) -> None:
    """ANALYZE the planned tables whose rows changed since last analysed (earlier batches,
    committed, and this one's tracks: ANALYZE sees them) are more than
    ``_GROWTH_TO_REANALYSE`` of what the planner believes. Invalidates cached plans."""
    if created_tracks < _FEW_TRACKS:
        return
    await analyse_stale(
        conn,
        _PLANNED_TABLES,
        stale_fraction=_GROWTH_TO_REANALYSE,
        pending={"tracks": created_tracks, "track_credits": created_tracks},
    )


async def create(
    conn: asyncpg.Connection[Any], pending: Sequence[Prepared], source: str | None
) -> Created:
    """Create the tracks ``pending`` describe (with their artists and albums)."""
    now = utcnow()
    groups = group(pending)
    artist_ids, new_artists = await artists.ensure_artists(
        conn, artist_names_needed(groups), source
    )
    events = artist_events(new_artists, now)
    plan = plan_albums(groups, artist_ids)
    album_ids, titles = await _albums(conn, plan, artist_ids, source, events, now)
    rows = NewRows()
    ids: list[external_ids.IdValue] = []
    result: dict[int, tuple[uuid.UUID, uuid.UUID | None]] = {}
    for g in groups:
        key = plan.of_group.get(g.id)
        album_id = album_ids[key] if key is not None else None
        album_title = titles.get(album_id) if album_id else None
        ids += new_track(rows, g, album_id, album_title, artist_ids, source=source, now=now)
        result.update((member.index, (g.id, album_id)) for member in g.members)
    await _copy(conn, "track", rows)
    await external_ids.insert_missing(conn, "track", ids)
    await _refresh_statistics(conn, len(rows.rows))
    events.extend(rows.events)
    return Created(result, events)
