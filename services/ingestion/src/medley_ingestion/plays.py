"""Storing and removing plays, set-based, with the listening rollups kept in step.

A batch of plays (an import chunk, a submission) is COPYed into a temporary table and
stored with one statement that:

* keeps one row per (track, start time) of the batch (rows an export repeats);
* drops what is already stored: the same (user, track, start time) — the unique key, so
  re-importing a file or an overlapping export adds nothing — or, from **another** source,
  a play of the same track starting within ``duplicate_window_s`` (90 s) or overlapping it:
  an import over live scrobbles does not double (the first stays; the other is counted as
  a duplicate). Genuine repeats from one source (a short track on repeat) stay distinct;
* inserts the rest and adds them to the rollups (per user and track, per user and hour) in
  the same statement (for an import chunk, :func:`store_and_record_plays`, also its
  ``ingestion.listens.recorded`` events). Only the user's stored plays around the batch's
  span are read to judge duplicates. Stats over a range read the plays themselves, through
  an index that covers them (user, start time → track, time played).

Writers of one user's plays take that user's advisory lock for their transaction, so a live
submission and an import chunk cannot both decide the other is absent.
"""

# ruff: noqa: S608 -- SQL here is assembled from fixed fragments, never from input.

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from uuid_utils import uuid7

from medley_contracts.ingestion import LISTENS_RECORDED, MAX_LISTENS_PER_EVENT
from medley_core.events.outbox import NOTIFY_SUFFIX
from medley_core.tracing import propagation_headers

PLAY_COLUMNS = (
    "id",
    "user_id",
    "track_id",
    "listened_at",
    "ms_played",
    "source",
    "import_job_id",
    "client",
    "connector_track_id",
)
# Plays longer than this are not looked for when judging overlaps (the index range scanned).
OVERLAP_HORIZON = "1 hour"
USER_LOCK = "medley.ingestion.plays"


def same_listen(stored: str, new: str, window: str) -> str:
    """SQL: the plays ``stored`` and ``new`` (of one user and track) are one listen — the
    same start, or from different sources within ``window`` seconds of each other or
    overlapping. Two plays from one source at different times are two listens."""
    played = "make_interval(secs => coalesce({0}.ms_played, 0) / 1000.0)"
    return f"""({stored}.listened_at = {new}.listened_at
        OR ({stored}.source <> {new}.source
            AND ({stored}.listened_at BETWEEN {new}.listened_at - make_interval(secs => {window})
                                          AND {new}.listened_at + make_interval(secs => {window})
                 OR ({stored}.listened_at < {new}.listened_at + {played.format(new)}
                     AND {new}.listened_at < {stored}.listened_at + {played.format(stored)}))))"""


# A play's rows of rollups: + or - its count and time under its track, day and hour.
_ROLLUP_CTES = """
, totals{n} AS (
    INSERT INTO user_track_totals AS t (user_id, track_id, plays, ms_played)
    SELECT user_id, {track}, {sign} count(*), {sign} sum(ms) FROM {rows} GROUP BY 1, 2
    ON CONFLICT (user_id, track_id) DO UPDATE
    SET plays = t.plays + excluded.plays, ms_played = t.ms_played + excluded.ms_played
)"""
_HOUR_CTE = """
, hours{n} AS (
    INSERT INTO user_hours AS h (user_id, hour, plays, ms_played)
    SELECT user_id, date_trunc('hour', listened_at, 'UTC'), {sign} count(*), {sign} sum(ms)
    FROM {rows} GROUP BY 1, 2
    ON CONFLICT (user_id, hour) DO UPDATE
    SET plays = h.plays + excluded.plays, ms_played = h.ms_played + excluded.ms_played
)"""


def rollup_ctes(
    rows: str, *, sign: int, n: str = "", track: str = "track_id", hours: bool = True
) -> str:
    """CTEs adding (``sign`` 1) or taking away (-1) the plays of CTE ``rows`` (columns
    ``user_id``, ``track_id``, ``listened_at``, ``ms``) to or from the rollups."""
    text = _ROLLUP_CTES.format(n=n, rows=rows, track=track, sign="" if sign > 0 else "-")
    if hours:
        text += _HOUR_CTE.format(n=n, rows=rows, sign="" if sign > 0 else "-")
    return text


# Rollup rows a removal left at zero.
PRUNE_ROLLUPS = """
WITH t AS (DELETE FROM user_track_totals WHERE user_id = ANY($1::uuid[]) AND plays <= 0)
DELETE FROM user_hours WHERE user_id = ANY($1::uuid[]) AND plays <= 0
"""

CREATE_INCOMING = """
CREATE TEMP TABLE IF NOT EXISTS incoming_plays (
    id uuid, user_id uuid, track_id uuid, listened_at timestamptz, ms_played integer,
    source text, import_job_id uuid, client text, connector_track_id uuid
) ON COMMIT DELETE ROWS
"""

STORE_CTES = (
    """
WITH candidates AS (
    SELECT DISTINCT ON (track_id, listened_at) *
    FROM incoming_plays ORDER BY track_id, listened_at, id
), nearby AS MATERIALIZED (
    -- The user's stored plays around the batch's span, read once through the index on
    -- (user, start time): an export's chunk covers days, not the whole history.
    SELECT p.track_id, p.listened_at, p.ms_played, p.source FROM plays p
    WHERE p.user_id = $2
      AND p.listened_at > (SELECT min(listened_at) FROM incoming_plays) - interval '"""
    + OVERLAP_HORIZON
    + """'
      AND p.listened_at < (SELECT max(listened_at) FROM incoming_plays) + interval '"""
    + OVERLAP_HORIZON
    + """'
), fresh AS (
    SELECT c.* FROM candidates c
    WHERE NOT EXISTS (
        SELECT 1 FROM nearby p
        WHERE p.track_id = c.track_id
          AND p.listened_at > c.listened_at - interval '"""
    + OVERLAP_HORIZON
    + """'
          AND p.listened_at < c.listened_at + interval '"""
    + OVERLAP_HORIZON
    + """'
          AND """
    + same_listen("p", "c", "$1")
    + """
    )
), inserted AS (
    INSERT INTO plays (id, user_id, track_id, listened_at, ms_played, source, import_job_id,
                       client, connector_track_id)
    SELECT id, user_id, track_id, listened_at, ms_played, source, import_job_id, client,
           connector_track_id
    FROM fresh
    ON CONFLICT (user_id, track_id, listened_at) DO NOTHING
    RETURNING id, user_id, track_id, listened_at, coalesce(ms_played, 0)::bigint AS ms
)"""
    + rollup_ctes("inserted", sign=1)
)
STORE = (
    STORE_CTES
    + """
SELECT id, track_id, listened_at FROM inserted ORDER BY listened_at, id
"""
)

# The import path: the ``ingestion.listens.recorded`` events of what was stored are built by
# PostgreSQL in the same statement and written to the outbox in the same transaction (at most
# $4 listens each; $3 their ids, $5 the time, $6 the writer's propagated headers). A
# million listens never become Python objects: building them cost more than storing them.
STORE_AND_RECORD = (
    STORE_CTES
    + f"""
, numbered AS (
    SELECT track_id, listened_at, id,
           (row_number() OVER (ORDER BY listened_at, id) - 1) / $4 AS batch
    FROM inserted
), batches AS (
    SELECT batch, count(*) AS listens, max(listened_at) AS latest,
           jsonb_agg(jsonb_build_object('track_id', track_id, 'listened_at', listened_at)
                     ORDER BY listened_at, id) AS items
    FROM numbered GROUP BY batch
), recorded AS (
    INSERT INTO outbox (id, type, version, subject, data, headers, occurred_at)
    SELECT ($3::uuid[])[batch + 1], '{LISTENS_RECORDED.name}', {LISTENS_RECORDED.version},
           ($3::uuid[])[batch + 1]::text,
           jsonb_build_object('batch_id', ($3::uuid[])[batch + 1], 'user_id', $2::uuid,
                              'recorded_at', $5::timestamptz, 'listens', items),
           $6::jsonb, $5::timestamptz
    FROM batches
)
SELECT coalesce(sum(listens), 0)::bigint AS stored, max(latest) AS latest FROM batches
"""
)


@dataclass(frozen=True)
class StoredPlay:
    id: uuid.UUID
    track_id: uuid.UUID
    listened_at: datetime


async def lock_user(conn: asyncpg.Connection[Any], user_id: uuid.UUID) -> None:
    """Serialise with every other writer of this user's plays until the transaction ends."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))", USER_LOCK, str(user_id)
    )


async def _stage(
    conn: asyncpg.Connection[Any], user_id: uuid.UUID, rows: Sequence[tuple[Any, ...]]
) -> None:
    """The user's lock taken and ``rows`` COPYed into the (emptied) temporary table."""
    await lock_user(conn, user_id)
    await conn.execute(CREATE_INCOMING)
    await conn.execute("TRUNCATE incoming_plays")
    # An import chunk's sorts and hashes stay in memory (the default spills at 4 MB).
    await conn.execute("SET LOCAL work_mem = '64MB'")
    await conn.copy_records_to_table("incoming_plays", records=rows, columns=PLAY_COLUMNS)


async def store_plays(
    conn: asyncpg.Connection[Any],
    user_id: uuid.UUID,
    rows: Sequence[tuple[Any, ...]],
    *,
    duplicate_window_s: int,
) -> list[StoredPlay]:
    """Store one user's plays (tuples in :data:`PLAY_COLUMNS` order) inside the caller's
    transaction; the plays newly stored, oldest first."""
    if not rows:
        return []
    await _stage(conn, user_id, rows)
    records = await conn.fetch(STORE, float(duplicate_window_s), user_id)
    return [StoredPlay(r["id"], r["track_id"], r["listened_at"]) for r in records]


async def store_and_record_plays(
    conn: asyncpg.Connection[Any],
    user_id: uuid.UUID,
    rows: Sequence[tuple[Any, ...]],
    *,
    duplicate_window_s: int,
) -> tuple[int, datetime | None]:
    """:func:`store_plays` for an import chunk, its ``ingestion.listens.recorded`` events
    written to the outbox by the same statement; (how many plays were stored, the latest
    start among them)."""
    if not rows:
        return 0, None
    await _stage(conn, user_id, rows)
    event_ids = [uuid7() for _ in range(0, len(rows), MAX_LISTENS_PER_EVENT)]
    row = await conn.fetchrow(
        STORE_AND_RECORD,
        float(duplicate_window_s),
        user_id,
        event_ids,
        MAX_LISTENS_PER_EVENT,
        datetime.now(UTC),
        json.dumps(propagation_headers()),
    )
    assert row is not None
    if row["stored"]:
        # The relay wakes at commit, as for the events the unit of work writes.
        await conn.execute("SELECT pg_notify(current_schema() || $1, '')", NOTIFY_SUFFIX)
    return int(row["stored"]), row["latest"]


DELETE_PLAYS = (
    """
WITH removed AS (
    DELETE FROM plays WHERE user_id = $1 AND id = ANY($2::uuid[])
    RETURNING id, user_id, track_id, listened_at, coalesce(ms_played, 0)::bigint AS ms
)"""
    + rollup_ctes("removed", sign=-1)
    + """
SELECT id FROM removed
"""
)


async def delete_plays(
    conn: asyncpg.Connection[Any], user_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> int:
    """Remove some of one user's plays (and their rollups); how many were removed."""
    await lock_user(conn, user_id)
    removed = await conn.fetch(DELETE_PLAYS, user_id, list(ids))
    if removed:
        await conn.execute(PRUNE_ROLLUPS, [user_id])
    return len(removed)
