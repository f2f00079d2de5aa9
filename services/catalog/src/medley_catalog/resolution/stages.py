"""The SQL stages of resolution, set-based over the staged candidates.

The candidates are COPYed into a temporary table (:func:`stage`); each stage is one or two
statements over all of them, never a query per candidate, and what a stage resolves leaves
the table (:func:`drop_resolved`) before the next looks.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg

from medley_catalog.queries import as_uuid
from medley_catalog.resolution.prepare import Prepared
from medley_catalog.resolution.scoring import FuzzyMatch, ResolutionConfig, best_matches

# A match of stages 1 and 2: (candidate index, track id, album id, confidence).
Match = tuple[int, uuid.UUID, uuid.UUID | None, int]

# --- the staged candidates -----------------------------------------------------------------

STAGE_COLUMNS = (
    "idx",
    "title_norm",
    "title_variant",
    "primary_norm",
    "primary_alt",
    "artist_search",
    "album_norm",
    "album_year",
    "duration_ms",
    "isrc",
    "mbid",
    "spotify",
)


async def stage(conn: asyncpg.Connection[Any], prepared: Sequence[Prepared]) -> None:
    """COPY the candidates into the connection's staging table. The table lives as long as
    the connection and empties itself at commit: no catalog churn per call, and the
    statements prepared over it stay valid."""
    first = await conn.fetchval("SELECT to_regclass('pg_temp.resolve_candidates') IS NULL")
    if not first:
        await conn.execute("TRUNCATE resolve_candidates")
    else:
        await conn.execute(
            """
        CREATE TEMP TABLE resolve_candidates (
            idx integer PRIMARY KEY,
            title_norm text NOT NULL,
            title_variant text NOT NULL,
            primary_norm text NOT NULL,
            primary_alt text,
            artist_search text NOT NULL,
            album_norm text,
            album_year integer,
            duration_ms integer,
            isrc text,
            mbid text,
            spotify text
        ) ON COMMIT DELETE ROWS
        """
        )
    await conn.copy_records_to_table(
        "resolve_candidates",
        records=[
            (
                p.index,
                p.title_norm,
                p.title_variant,
                p.primary_norm,
                p.primary_alt,
                p.artist_search,
                p.album_norm,
                p.candidate.album_year,
                p.candidate.duration_ms,
                p.isrc,
                p.mbid,
                p.spotify,
            )
            for p in prepared
        ],
        columns=STAGE_COLUMNS,
    )
    if first:
        # Statistics for the planner, once per connection (the stages drive index lookups
        # candidate by candidate; a rough row count is all they need).
        await conn.execute("ANALYZE resolve_candidates")


async def drop_resolved(conn: asyncpg.Connection[Any], indexes: Sequence[int]) -> None:
    if indexes:
        await conn.execute(
            "DELETE FROM resolve_candidates WHERE idx = ANY($1::int[])", list(indexes)
        )


# --- stage 1: external ids -----------------------------------------------------------------

_MATCH_EXTERNAL = """
WITH hits AS (
    SELECT c.idx, e.entity_id, 1 AS prio FROM resolve_candidates c
    JOIN external_ids e ON e.entity_type = 'track' AND e.namespace = 'mbid' AND e.value = c.mbid
    UNION ALL
    SELECT c.idx, e.entity_id, 2 FROM resolve_candidates c
    JOIN external_ids e
        ON e.entity_type = 'track' AND e.namespace = 'spotify' AND e.value = c.spotify
    UNION ALL
    SELECT c.idx, e.entity_id, 3 FROM resolve_candidates c
    JOIN external_ids e ON e.entity_type = 'track' AND e.namespace = 'isrc' AND e.value = c.isrc
)
SELECT DISTINCT ON (h.idx) h.idx, t.id AS track_id, t.album_id
FROM hits h
LEFT JOIN redirects r ON r.entity_type = 'track' AND r.from_id = h.entity_id
JOIN tracks t ON t.id = COALESCE(r.into_id, h.entity_id) AND t.deleted_at IS NULL
ORDER BY h.idx, h.prio
"""

# --- stage 2: exact ------------------------------------------------------------------------

_MATCH_EXACT = """
SELECT DISTINCT ON (c.idx) c.idx, m.id AS track_id, m.album_id,
    100
    - CASE WHEN c.album_norm IS NULL THEN 5 ELSE 0 END
    - CASE WHEN m.title_variant <> c.title_variant THEN 10 ELSE 0 END
    - CASE WHEN m.name_norm <> c.primary_norm THEN 10 ELSE 0 END AS confidence
FROM resolve_candidates c
-- Per candidate (LATERAL: index lookups, whatever the size of the catalog): the artists of
-- that name, then their tracks of that title (index on primary_artist_id, title_norm). An
-- artist's tracks are few; a common title ("Intro") has tens of thousands. Two LATERALs,
-- each fenced (OFFSET 0), fix that order: joined in one, the planner starts from the title
-- whenever it guesses a title rare, and a common one then costs thousands of heap visits.
CROSS JOIN LATERAL (
    SELECT a.id, a.name_norm FROM artists a
    WHERE a.name_norm IN (c.primary_norm, c.primary_alt) AND a.deleted_at IS NULL
    OFFSET 0
) a
CROSS JOIN LATERAL (
    SELECT t.id, t.album_id, t.title_variant, t.duration_ms, a.name_norm
    FROM tracks t
    WHERE t.primary_artist_id = a.id AND t.title_norm = c.title_norm AND t.deleted_at IS NULL
    OFFSET 0  -- keeps the planner from flattening this into a scan of every track
) m
LEFT JOIN albums al ON al.id = m.album_id
WHERE (
        c.album_norm IS NULL
        OR (al.title_norm = c.album_norm
            AND (c.album_year IS NULL OR al.release_year IS NULL OR al.release_year = c.album_year))
    )
    AND (
        m.title_variant = c.title_variant
        OR (c.duration_ms IS NOT NULL AND m.duration_ms IS NOT NULL
            AND abs(m.duration_ms - c.duration_ms) <= $1)
    )
ORDER BY c.idx,
    (m.name_norm = c.primary_norm) DESC,
    (m.title_variant = c.title_variant) DESC,
    (al.release_year IS NOT DISTINCT FROM c.album_year) DESC,
    abs(COALESCE(m.duration_ms, 0) - COALESCE(c.duration_ms, 0)),
    m.id
"""

# --- stage 3: fuzzy ------------------------------------------------------------------------

_FUZZY_PAIRS = """
-- The primary artist is known by name: compare titles among their tracks.
SELECT c.idx, t.id AS track_id
FROM resolve_candidates c
JOIN artists a ON a.name_norm IN (c.primary_norm, c.primary_alt) AND a.deleted_at IS NULL
JOIN tracks t ON t.primary_artist_id = a.id AND t.deleted_at IS NULL
-- Blocking before the trigram work: alike titles have close lengths, and one typo cannot
-- change both their first and their last letter (CASE: the cheap test runs first).
WHERE CASE WHEN abs(length(t.title_norm) - length(c.title_norm)) <= 3 + length(c.title_norm) / 3
        AND (left(t.title_norm, 1) = left(c.title_norm, 1)
             OR right(t.title_norm, 1) = right(c.title_norm, 1))
    THEN similarity(t.title_norm, c.title_norm) >= $1 ELSE false END
UNION
-- It is not: artists spelt alike (trigram index, one probe per distinct unknown name),
-- then titles alike among their tracks.
SELECT c.idx, t.id
FROM (
    SELECT DISTINCT u.primary_norm FROM resolve_candidates u
    WHERE NOT EXISTS (
        SELECT 1 FROM artists x WHERE x.name_norm = u.primary_norm AND x.deleted_at IS NULL
    )
) unknown
JOIN artists a ON (' ' || a.name_norm) % unknown.primary_norm AND a.deleted_at IS NULL
JOIN resolve_candidates c ON c.primary_norm = unknown.primary_norm
JOIN tracks t ON t.primary_artist_id = a.id AND t.deleted_at IS NULL
WHERE CASE WHEN abs(length(t.title_norm) - length(c.title_norm)) <= 3 + length(c.title_norm) / 3
        AND (left(t.title_norm, 1) = left(c.title_norm, 1)
             OR right(t.title_norm, 1) = right(c.title_norm, 1))
    THEN similarity(t.title_norm, c.title_norm) >= $1 ELSE false END
"""

_FUZZY_TRACKS = """
SELECT t.id, t.album_id, t.title_norm, t.title_variant, t.duration_ms, t.artist_names_search,
    pa.name_norm AS primary_norm, al.title_norm AS album_norm
FROM tracks t
LEFT JOIN artists pa ON pa.id = t.primary_artist_id
LEFT JOIN albums al ON al.id = t.album_id
WHERE t.id = ANY($1::uuid[])
"""


def _match(record: asyncpg.Record, confidence: int) -> Match:
    album_id = as_uuid(record["album_id"]) if record["album_id"] else None
    return (record["idx"], as_uuid(record["track_id"]), album_id, confidence)


async def match_external(conn: asyncpg.Connection[Any]) -> list[Match]:
    """Stage 1: a live track carrying one of the candidate's ids (merges followed)."""
    return [_match(r, 100) for r in await conn.fetch(_MATCH_EXTERNAL)]


async def match_exact(conn: asyncpg.Connection[Any], config: ResolutionConfig) -> list[Match]:
    """Stage 2: same normalised title and primary artist (and album, when named)."""
    records = await conn.fetch(_MATCH_EXACT, config.variant_tolerance_ms)
    return [_match(r, int(r["confidence"])) for r in records]


async def match_fuzzy(
    conn: asyncpg.Connection[Any], by_index: Mapping[int, Prepared], config: ResolutionConfig
) -> dict[int, FuzzyMatch]:
    """Stage 3: pairs proposed by trigram blocking, scored in Python (:mod:`.scoring`)."""
    previous = await conn.fetchval("SELECT current_setting('pg_trgm.similarity_threshold', true)")
    await conn.execute(
        "SELECT set_config('pg_trgm.similarity_threshold', $1, true)", str(config.artist_similarity)
    )
    try:
        pairs = await conn.fetch(_FUZZY_PAIRS, config.min_similarity)
    finally:
        await conn.execute(
            "SELECT set_config('pg_trgm.similarity_threshold', $1, true)", previous or "0.3"
        )
    if not pairs:
        return {}
    tracks = {
        r["id"]: r
        for r in await conn.fetch(_FUZZY_TRACKS, list({pair["track_id"] for pair in pairs}))
    }
    return best_matches(((p["idx"], p["track_id"]) for p in pairs), tracks, by_index, config)
