"""Live listening statistics, read from the rollups every write keeps in step.

A listen stored now is in ``this_week`` at once: the rollups are written in the transaction
that stores it (:mod:`medley_ingestion.plays`), not computed overnight. ``all_time`` reads
the per-track totals; a range reads its plays through the index that covers them (user,
start time → track, time played); activity reads the per-hour rollup. Names come from the
catalog projection (a provisional row until the catalog's event), so a read is a few
set-based statements, never one per track.

Ranges are ListenBrainz's: ``this_week``, ``this_month``, ``this_year`` (so far), ``week``,
``month``, ``quarter``, ``half_yearly``, ``year`` (the last complete one) and ``all_time``.
Weeks start on Monday; every boundary is UTC.
"""

# ruff: noqa: S608 -- SQL here is assembled from fixed fragments, never from input.

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, get_args

import asyncpg
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_core.db import analyse_stale, driver_connection

Range = Literal[
    "this_week",
    "this_month",
    "this_year",
    "week",
    "month",
    "quarter",
    "half_yearly",
    "year",
    "all_time",
]
RANGES: tuple[str, ...] = get_args(Range)
Entity = Literal["tracks", "artists", "albums"]
ActivityBy = Literal["day", "hour", "weekday", "month", "year"]


@dataclass(frozen=True)
class Period:
    """``[start, end)`` in whole UTC days; both None for all time."""

    name: str
    start: date | None
    end: date | None

    @property
    def start_ts(self) -> int | None:
        return _ts(self.start)

    @property
    def end_ts(self) -> int | None:
        return _ts(self.end)


def _ts(day: date | None) -> int | None:
    if day is None:
        return None
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def _month_start(day: date, months_back: int = 0) -> date:
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def period(name: str, today: date | None = None) -> Period:
    """The days a named range covers on ``today`` (UTC)."""
    today = today or datetime.now(UTC).date()
    tomorrow = today + timedelta(days=1)
    monday = today - timedelta(days=today.weekday())
    if name == "all_time":
        return Period(name, None, None)
    if name == "this_week":
        return Period(name, monday, tomorrow)
    if name == "this_month":
        return Period(name, today.replace(day=1), tomorrow)
    if name == "this_year":
        return Period(name, date(today.year, 1, 1), tomorrow)
    if name == "week":
        return Period(name, monday - timedelta(days=7), monday)
    if name == "month":
        return Period(name, _month_start(today, 1), _month_start(today))
    if name == "quarter":
        this_quarter = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
        return Period(name, _month_start(this_quarter, 3), this_quarter)
    if name == "half_yearly":
        this_half = date(today.year, 1 if today.month <= 6 else 7, 1)
        return Period(name, _month_start(this_half, 6), this_half)
    if name == "year":
        return Period(name, date(today.year - 1, 1, 1), date(today.year, 1, 1))
    raise ValueError(f"unknown range {name!r}")


# Per-track listens of a period: the totals for all time, the days' rollup for a range.
def _per_track(p: Period) -> str:
    if p.start is None:
        return (
            "SELECT track_id, plays, ms_played FROM user_track_totals "
            "WHERE user_id = $1 AND plays > 0"
        )
    return (
        "SELECT track_id, count(*) AS plays, coalesce(sum(ms_played), 0) AS ms_played "
        "FROM plays WHERE user_id = $1 AND listened_at >= $2 AND listened_at < $3 "
        "GROUP BY track_id"
    )


def _args(user_id: uuid.UUID, p: Period) -> list[Any]:
    return [user_id] if p.start is None else [user_id, _at(p.start), _at(p.end)]


# What each entity groups by and shows, over the per-track listens ``pt`` joined to the
# projection ``t`` (a track not projected yet shows as unknown rather than vanishing).
_GROUPS: dict[str, tuple[str, str]] = {
    "tracks": (
        "pt.track_id",
        "pt.track_id, min(t.title) AS title, min(t.artist_names) AS artist_names, "
        "min(t.artist_name) AS artist_name, min(t.artist_id::text)::uuid AS artist_id, "
        "min(t.album_title) AS album_title, min(t.album_id::text)::uuid AS album_id, "
        "bool_or(t.deleted_at IS NOT NULL) AS deleted",
    ),
    # By name: a track's artist id is known only once the catalog's event has come, and a
    # listen must count under one artist before and after.
    "artists": (
        "lower(coalesce(t.artist_name, ''))",
        "min(t.artist_id::text)::uuid AS artist_id, min(t.artist_name) AS artist_name",
    ),
    "albums": (
        "coalesce(t.album_id::text, 'name:' || lower(coalesce(t.album_title, '')))",
        "min(t.album_id::text)::uuid AS album_id, min(t.album_title) AS album_title, "
        "min(t.artist_names) AS artist_names, min(t.artist_id::text)::uuid AS artist_id",
    ),
}


def top_query(
    user_id: uuid.UUID, entity: Entity, p: Period, *, limit: int, offset: int = 0
) -> tuple[str, list[Any]]:
    """The statement :func:`top` runs and its arguments (the benchmark EXPLAINs it)."""
    key, columns = _GROUPS[entity]
    where = "WHERE t.album_title IS NOT NULL" if entity == "albums" else ""
    args = _args(user_id, p)
    n = len(args)
    query = f"""
        WITH pt AS ({_per_track(p)}),
        grouped AS (
            SELECT {key} AS key, {columns},
                   sum(pt.plays)::bigint AS listen_count, sum(pt.ms_played)::bigint AS ms_played
            FROM pt LEFT JOIN tracks t ON t.track_id = pt.track_id
            {where}
            GROUP BY 1
        )
        SELECT *, count(*) OVER () AS total FROM grouped
        ORDER BY listen_count DESC, key
        LIMIT ${n + 1} OFFSET ${n + 2}
    """
    return query, [*args, limit, offset]


async def top(
    conn: asyncpg.Connection[Any],
    user_id: uuid.UUID,
    entity: Entity,
    p: Period,
    *,
    limit: int,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """The user's most played tracks, artists or albums over ``p``, and how many there are."""
    query, args = top_query(user_id, entity, p, limit=limit, offset=offset)
    rows = await conn.fetch(query, *args)
    total = int(rows[0]["total"]) if rows else await _count(conn, entity, p, args[:-2])
    return [{k: v for k, v in r.items() if k not in ("key", "total")} for r in rows], total


async def _count(conn: asyncpg.Connection[Any], entity: Entity, p: Period, args: list[Any]) -> int:
    """How many there are (a page past the end has no row to carry the window count)."""
    key, _ = _GROUPS[entity]
    where = "WHERE t.album_title IS NOT NULL" if entity == "albums" else ""
    value = await conn.fetchval(
        f"WITH pt AS ({_per_track(p)}) SELECT count(DISTINCT {key}) "
        f"FROM pt LEFT JOIN tracks t ON t.track_id = pt.track_id {where}",
        *args,
    )
    return int(value or 0)


async def totals(conn: asyncpg.Connection[Any], user_id: uuid.UUID, p: Period) -> dict[str, int]:
    """Listens, distinct tracks, artists and albums, and time listened, over ``p``."""
    artist_key, _ = _GROUPS["artists"]
    row = await conn.fetchrow(
        f"""
        WITH pt AS ({_per_track(p)})
        SELECT coalesce(sum(pt.plays), 0)::bigint AS listens,
               count(*) AS tracks,
               count(DISTINCT {artist_key}) AS artists,
               count(DISTINCT t.album_id) AS albums,
               coalesce(sum(pt.ms_played), 0)::bigint AS ms_played
        FROM pt LEFT JOIN tracks t ON t.track_id = pt.track_id
        """,
        *_args(user_id, p),
    )
    assert row is not None
    return {key: int(value) for key, value in row.items()}


_ACTIVITY_BUCKETS: dict[str, str] = {
    "hour": "extract(hour FROM hour AT TIME ZONE 'UTC')::int",
    "weekday": "extract(isodow FROM hour AT TIME ZONE 'UTC')::int",
    "day": "(hour AT TIME ZONE 'UTC')::date",
    "month": "date_trunc('month', hour AT TIME ZONE 'UTC')::date",
    "year": "date_trunc('year', hour AT TIME ZONE 'UTC')::date",
}


async def activity(
    conn: asyncpg.Connection[Any], user_id: uuid.UUID, p: Period, by: ActivityBy
) -> list[dict[str, Any]]:
    """Listens per hour of day (0-23), ISO weekday (1 Monday … 7 Sunday), day, month or year."""
    bucket = _ACTIVITY_BUCKETS[by]
    args: list[Any] = [user_id]
    where = "user_id = $1"
    if p.start is not None:
        args += [_at(p.start), _at(p.end)]
        where += " AND hour >= $2 AND hour < $3"
    rows = await conn.fetch(
        f"SELECT {bucket} AS bucket, sum(plays)::bigint AS listen_count, "
        f"sum(ms_played)::bigint AS ms_played FROM user_hours WHERE {where} "
        "GROUP BY 1 HAVING sum(plays) > 0 ORDER BY 1",
        *args,
    )
    return [dict(r.items()) for r in rows]


async def weekday_hours(
    conn: asyncpg.Connection[Any], user_id: uuid.UUID, p: Period
) -> dict[tuple[int, int], int]:
    """``{(ISO weekday, hour): listens}`` (ListenBrainz's daily activity)."""
    args: list[Any] = [user_id]
    where = "user_id = $1"
    if p.start is not None:
        args += [_at(p.start), _at(p.end)]
        where += " AND hour >= $2 AND hour < $3"
    rows = await conn.fetch(
        "SELECT extract(isodow FROM hour AT TIME ZONE 'UTC')::int AS weekday, "
        "extract(hour FROM hour AT TIME ZONE 'UTC')::int AS h, sum(plays)::bigint AS n "
        f"FROM user_hours WHERE {where} GROUP BY 1, 2",
        *args,
    )
    return {(r["weekday"], r["h"]): int(r["n"]) for r in rows}


def _at(day: date | None) -> datetime | None:
    return None if day is None else datetime(day.year, day.month, day.day, tzinfo=UTC)


# The tables a large import fills. Until they are analysed, the planner takes a rollup just
# filled for the few rows it held before and joins it to the projection with one index probe
# per track, sorting to group (measured after a 100,000-listen import: 5,000 probes, 50 of
# the 70 ms of a top-artists read; at 1,000,000 listens, 50,000 of them). Autovacuum gets
# there in its own time, minutes later on a busy server; the import does not wait for it.
ANALYZED_AFTER_IMPORT = ("user_track_totals", "user_hours", "tracks", "plays")
# An import that changed less than this share of a table leaves it to autovacuum.
STALE_AFTER_IMPORT = 0.1


async def refresh_planner_statistics(conn: asyncpg.Connection[Any]) -> bool:
    """ANALYZE those of them an import changed by more than a tenth since last analysed (a
    second at most for a million plays); False when a vacuum held a table past the lock
    timeout (statistics only speed reads up)."""
    analysed = await analyse_stale(
        conn, ANALYZED_AFTER_IMPORT, stale_fraction=STALE_AFTER_IMPORT, lock_timeout_s=2
    )
    return analysed is not None


# --- reports (what Medley's API answers) -----------------------------------------------


async def top_report(
    session: AsyncSession,
    user_id: uuid.UUID,
    entity: Entity,
    range_name: str,
    *,
    limit: int,
    offset: int = 0,
) -> dict[str, Any]:
    conn = await driver_connection(session)
    p = period(range_name)
    items, total = await top(conn, user_id, entity, p, limit=limit, offset=offset)
    return {"range": range_name, "from": p.start, "to": p.end, "total": total, "items": items}


async def activity_report(
    session: AsyncSession, user_id: uuid.UUID, range_name: str, by: ActivityBy
) -> dict[str, Any]:
    conn = await driver_connection(session)
    p = period(range_name)
    items = await activity(conn, user_id, p, by)
    return {"range": range_name, "from": p.start, "to": p.end, "by": by, "items": items}


async def totals_report(
    session: AsyncSession, user_id: uuid.UUID, range_name: str
) -> dict[str, Any]:
    conn = await driver_connection(session)
    p = period(range_name)
    return {"range": range_name, "from": p.start, "to": p.end, **await totals(conn, user_id, p)}
