"""Batch entity resolution: which catalog track is this (title, artists, album, duration, ids)?

Ingestion sends up to a thousand candidates at a time; every candidate gets a track id, the
method that found it and a confidence. The work is set-based: the candidates are COPYed into
a temporary table and each stage is one or two statements over all of them, never a query
per candidate.

Stages, in order; a candidate leaves at the first that answers:

1. ``external_id`` (confidence 100): a live track carrying the candidate's MusicBrainz
   recording id, Spotify id or ISRC (in that order of trust). The title does not matter:
   an ISRC names the recording, whatever a source calls it.
2. ``exact``: same normalised title (featuring credits and variant markers removed, version
   markers kept) and same primary artist (normalised: case, accents, "&", leading "The"), and
   the same album (title and, when both know it, year) when the candidate names one. A
   variant ("- 2011 Remaster") matches the original only when both durations are known and
   agree within ``variant_tolerance_ms``. 100, less 5 without an album, less 10 for a variant
   or for a primary artist only guessed by splitting "A & B".
3. ``fuzzy``: pairs are found by trigram similarity (titles among the tracks of an artist
   known by that name, or, when no artist has it, of artists spelt alike), then
   scored with edit-distance ratios of title, artists and album, and the duration, weighted
   like beets' distance (title 3, artist 3, album 1, duration 2 with a grace of 10 s and a
   maximum of 30 s); confidence = 100 * (1 - distance), accepted from
   ``fuzzy_min_confidence``. Versions must agree exactly ("live", "remix", "acoustic"… on
   both sides or neither) and variants need agreeing durations, as above.
4. ``created`` (100): what is still unknown is created in bulk: artists by normalised name,
   albums by (title, primary artist, year), tracks with their ordered credits and external
   ids. Candidates of the same batch that describe the same new track (same keys, or sharing
   an external id) create it once.

Two resolvers creating the same new track create it once: creation happens under the
catalog's write lock (an advisory transaction lock). A resolver tries that lock before its
first look; when it is free (the usual case: one import at a time), every statement after it
already sees all that earlier creators committed, and stages 1 and 2 run once. When another
transaction holds it, the resolver looks without it, then waits for the lock and runs stages
1 and 2 again for what is left, so it sees whatever the other committed meanwhile.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any, Literal

import asyncpg
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_catalog import events
from medley_catalog.db import take_write_lock, try_write_lock
from medley_catalog.normalize import (
    Credit,
    artist_names,
    normalize_artist,
    normalize_external_id,
    normalize_text,
    parse_artist_credits,
    parse_title,
    primary_alternative,
    sort_name_for,
    version_tags,
)
from medley_catalog.queries import as_uuid
from medley_contracts import catalog as contracts
from medley_core.db import driver_connection
from medley_core.events.outbox import PendingEvent, record_events
from medley_core.ids import new_id, utcnow

Method = Literal["external_id", "exact", "fuzzy", "created"]
ALBUM_TYPES = frozenset({"album", "single", "ep", "compilation"})


class CandidateError(ValueError):
    """A candidate that cannot be resolved as given (the whole batch is refused)."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(f"candidate {index}: {message}")
        self.index = index
        self.message = message


@dataclass(frozen=True)
class CreditInput:
    name: str
    join_phrase: str = ""


@dataclass(frozen=True)
class Candidate:
    """What a source knows about a track. ``artists`` (ordered credits) wins over the
    plain ``artist`` string when both are given."""

    title: str
    artist: str | None = None
    artists: Sequence[CreditInput] = ()
    album: str | None = None
    album_artist: str | None = None
    album_year: int | None = None
    album_type: str | None = None
    duration_ms: int | None = None
    isrc: str | None = None
    mbid: str | None = None
    spotify_id: str | None = None
    disc_number: int | None = None
    track_number: int | None = None
    explicit: bool | None = None


@dataclass(frozen=True)
class Resolution:
    index: int
    track_id: uuid.UUID
    album_id: uuid.UUID | None
    created: bool
    method: Method
    confidence: int


@dataclass(frozen=True)
class ResolutionConfig:
    fuzzy_min_confidence: int = 80
    duration_grace_ms: int = 10_000
    duration_max_ms: int = 30_000
    variant_tolerance_ms: int = 3_000
    # Blocking: pairs below this trigram similarity (titles; artists for known titles) are
    # not looked at; artists at least ``artist_similarity`` alike are (trigram index).
    min_similarity: float = 0.4
    artist_similarity: float = 0.45
    # Scoring: edit-distance ratios (difflib) each field must reach.
    min_title_ratio: float = 0.8
    min_artist_ratio: float = 0.8
    # Weights of the distance (beets: track title 3, artist ~3, album 1, length 2).
    weight_title: float = 3.0
    weight_artist: float = 3.0
    weight_album: float = 1.0
    weight_duration: float = 2.0


@dataclass
class _Prepared:
    index: int
    candidate: Candidate
    credits: list[Credit]
    title_norm: str
    title_variant: str
    title_search: str
    tags: frozenset[str]
    primary_norm: str
    primary_alt: str | None
    artist_search: str
    album_norm: str | None
    album_search: str | None
    album_credits: list[Credit]
    isrc: str | None
    mbid: str | None
    spotify: str | None
    printed: str = ""  # the credits as printed ("A feat. B")
    external_keys: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        keys = [("mbid", self.mbid), ("spotify", self.spotify), ("isrc", self.isrc)]
        self.external_keys = [(ns, v) for ns, v in keys if v]


def _merge_featured(credits: list[Credit], featured: Sequence[str]) -> list[Credit]:
    """Credits plus artists a title features ("Song (feat. B)") that they do not name."""
    known = {normalize_artist(c.name) for c in credits}
    extra = [f for f in featured if normalize_artist(f) not in known]
    if not extra:
        return credits
    result = list(credits)
    last = result[-1]
    result[-1] = Credit(last.name, last.join_phrase or " feat. ")
    for i, name in enumerate(extra):
        result.append(Credit(name, "" if i == len(extra) - 1 else " & "))
    return result


def prepare(index: int, candidate: Candidate) -> _Prepared:
    """Normalise one candidate; :class:`CandidateError` when it is unusable."""
    if not candidate.title or not candidate.title.strip():
        raise CandidateError(index, "a title is required")
    if candidate.artists:
        credits = [
            Credit(c.name.strip(), c.join_phrase) for c in candidate.artists if c.name.strip()
        ]
        if credits:
            credits[-1] = Credit(credits[-1].name, "")
    elif candidate.artist and candidate.artist.strip():
        credits = parse_artist_credits(candidate.artist)
    else:
        credits = []
    if not credits:
        raise CandidateError(index, "an artist (or artist credits) is required")
    if candidate.duration_ms is not None and candidate.duration_ms <= 0:
        raise CandidateError(index, "duration_ms must be positive")
    if candidate.album_type is not None and candidate.album_type not in ALBUM_TYPES:
        raise CandidateError(index, f"album_type must be one of {sorted(ALBUM_TYPES)}")
    ids: dict[str, str | None] = {}
    for namespace, value in (
        ("isrc", candidate.isrc),
        ("mbid", candidate.mbid),
        ("spotify", candidate.spotify_id),
    ):
        try:
            ids[namespace] = normalize_external_id(namespace, value) if value else None
        except ValueError as exc:
            raise CandidateError(index, str(exc)) from None
    title = parse_title(candidate.title)
    if not title.norm:
        raise CandidateError(index, "the title has no letters or digits")
    credits = _merge_featured(credits, title.featured)
    primary_norm = normalize_artist(credits[0].name)
    if not primary_norm:
        raise CandidateError(index, "the artist name has no letters or digits")
    album_norm = album_search = None
    album_credits: list[Credit] = []
    if candidate.album and candidate.album.strip():
        album_norm = parse_title(candidate.album).norm or None
        album_search = normalize_text(candidate.album)
        if candidate.album_artist and candidate.album_artist.strip():
            album_credits = parse_artist_credits(candidate.album_artist)
        else:
            album_credits = [Credit(credits[0].name)]
    alt = primary_alternative(credits[0].name) if not candidate.artists else None
    printed = artist_names(credits)
    return _Prepared(
        index=index,
        candidate=candidate,
        credits=credits,
        title_norm=title.norm,
        title_variant=title.variant,
        title_search=normalize_text(candidate.title),
        tags=version_tags(title.norm),
        primary_norm=primary_norm,
        primary_alt=alt if alt and alt != primary_norm else None,
        artist_search=normalize_text(printed),
        album_norm=album_norm,
        album_search=album_search,
        album_credits=album_credits,
        isrc=ids["isrc"],
        mbid=ids["mbid"],
        spotify=ids["spotify"],
        printed=printed,
    )


# --- the staged candidates -----------------------------------------------------------------

_STAGE_COLUMNS = (
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


async def _stage(conn: asyncpg.Connection[Any], prepared: Sequence[_Prepared]) -> None:
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
        columns=_STAGE_COLUMNS,
    )
    if first:
        # Statistics for the planner, once per connection (the stages drive index lookups
        # candidate by candidate; a rough row count is all they need).
        await conn.execute("ANALYZE resolve_candidates")


async def _drop_resolved(conn: asyncpg.Connection[Any], indexes: Sequence[int]) -> None:
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


def ratio(a: str, b: str) -> float:
    """How alike two normalised strings are, 0 to 1 (difflib's ratio: typo-tolerant)."""
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def fuzzy_confidence(
    config: ResolutionConfig,
    *,
    title_sim: float,
    artist_sim: float,
    album_sim: float | None,
    duration_a: int | None,
    duration_b: int | None,
) -> int:
    """100 * (1 - weighted distance), the distance in the spirit of beets'."""
    total = config.weight_title * (1 - title_sim) + config.weight_artist * (1 - artist_sim)
    weights = config.weight_title + config.weight_artist
    if album_sim is not None:
        total += config.weight_album * (1 - album_sim)
        weights += config.weight_album
    if duration_a is not None and duration_b is not None:
        over = max(0, abs(duration_a - duration_b) - config.duration_grace_ms)
        total += config.weight_duration * min(1.0, over / config.duration_max_ms)
        weights += config.weight_duration
    return max(0, min(100, round(100 * (1 - total / weights))))


async def _match_fuzzy(
    conn: asyncpg.Connection[Any],
    by_index: dict[int, _Prepared],
    config: ResolutionConfig,
) -> dict[int, tuple[uuid.UUID, uuid.UUID | None, int]]:
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
    best: dict[int, tuple[int, uuid.UUID, uuid.UUID | None]] = {}
    for pair in pairs:
        p = by_index.get(pair["idx"])
        r = tracks.get(pair["track_id"])
        if p is None or r is None:
            continue
        if version_tags(r["title_norm"]) != p.tags:
            continue  # "live", "remix", "acoustic": another recording
        duration = p.candidate.duration_ms
        if r["title_variant"] != p.title_variant and (
            duration is None
            or r["duration_ms"] is None
            or abs(duration - r["duration_ms"]) > config.variant_tolerance_ms
        ):
            continue  # a remaster is the original only when the durations agree
        title_ratio = ratio(r["title_norm"], p.title_norm)
        artist_ratio = max(
            ratio(r["primary_norm"] or "", p.primary_norm),
            ratio(r["primary_norm"] or "", p.primary_alt or ""),
            ratio(r["artist_names_search"], p.artist_search),
        )
        if title_ratio < config.min_title_ratio or artist_ratio < config.min_artist_ratio:
            continue
        album_ratio = None
        if p.album_norm is not None and r["album_norm"] is not None:
            album_ratio = ratio(r["album_norm"], p.album_norm)
        confidence = fuzzy_confidence(
            config,
            title_sim=title_ratio,
            artist_sim=artist_ratio,
            album_sim=album_ratio,
            duration_a=duration,
            duration_b=r["duration_ms"],
        )
        if confidence < config.fuzzy_min_confidence:
            continue
        track_id = as_uuid(r["id"])
        current = best.get(p.index)
        # The most confident; between equals, the oldest track.
        if current is None or (-confidence, track_id) < (-current[0], current[1]):
            album_id = as_uuid(r["album_id"]) if r["album_id"] else None
            best[p.index] = (confidence, track_id, album_id)
    return {i: (t, a, c) for i, (c, t, a) in best.items()}


# --- stage 4: creation ---------------------------------------------------------------------


@dataclass
class _NewTrack:
    id: uuid.UUID
    members: list[_Prepared] = field(default_factory=list)

    @property
    def first(self) -> _Prepared:
        return self.members[0]


def _group(pending: Sequence[_Prepared]) -> list[_NewTrack]:
    """Candidates describing the same new track: same keys, or sharing an external id."""
    parent: dict[int, int] = {p.index: p.index for p in pending}

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    owner: dict[tuple[Any, ...], int] = {}
    loose: dict[tuple[str, str, str], int] = {}
    # Candidates naming an album first, so one without an album joins a track with one.
    for p in sorted(pending, key=lambda p: (p.album_norm is None, p.index)):
        base = (p.title_norm, p.title_variant, p.primary_norm)
        keys: list[tuple[Any, ...]] = [
            ("key", *base, p.album_norm or "", p.candidate.album_year or 0),
            *[("id", ns, v) for ns, v in p.external_keys],
        ]
        for key in keys:
            if key in owner:
                union(owner[key], p.index)
            else:
                owner[key] = p.index
        if p.album_norm is None and base in loose:
            union(loose[base], p.index)
        loose.setdefault(base, p.index)
    groups: dict[int, _NewTrack] = {}
    for p in sorted(pending, key=lambda p: p.index):
        root = find(p.index)
        group = groups.get(root)
        if group is None:
            group = groups[root] = _NewTrack(new_id())
        group.members.append(p)
    return list(groups.values())


def _pick(group: _NewTrack, attribute: str) -> Any:
    for p in group.members:
        value = getattr(p.candidate, attribute)
        if value is not None:
            return value
    return None


AlbumKey = tuple[str, uuid.UUID, int | None]


@dataclass
class _Created:
    tracks: dict[int, tuple[uuid.UUID, uuid.UUID | None]]
    events: list[PendingEvent]


async def _ensure_artists(
    conn: asyncpg.Connection[Any], names: dict[str, str], source: str | None, now: Any
) -> tuple[dict[str, uuid.UUID], list[PendingEvent]]:
    """Artist id per normalised name: the oldest live artist of that name, or a new one."""
    existing = await conn.fetch(
        """
        SELECT DISTINCT ON (name_norm) name_norm, id FROM artists
        WHERE name_norm = ANY($1::text[]) AND deleted_at IS NULL
        ORDER BY name_norm, id
        """,
        list(names),
    )
    ids = {r["name_norm"]: as_uuid(r["id"]) for r in existing}
    new_rows = []
    pending: list[PendingEvent] = []
    for norm, name in names.items():
        if norm in ids:
            continue
        artist_id = new_id()
        ids[norm] = artist_id
        sort_name = sort_name_for(name)
        new_rows.append((artist_id, name, sort_name, norm, normalize_text(name), source))
        pending.append(
            (
                contracts.ARTIST_CREATED,
                contracts.ArtistV1(
                    artist_id=artist_id, name=name, sort_name=sort_name, updated_at=now
                ),
                str(artist_id),
            )
        )
    if new_rows:
        await conn.copy_records_to_table(
            "artists",
            records=new_rows,
            columns=("id", "name", "sort_name", "name_norm", "name_search", "source"),
        )
    return ids, pending


def _credit_rows(
    owner: uuid.UUID, credits: Sequence[Credit], artist_ids: dict[str, uuid.UUID]
) -> list[tuple[Any, ...]]:
    return [
        (owner, position, artist_ids[normalize_artist(c.name)], c.name, c.join_phrase)
        for position, c in enumerate(credits)
    ]


def _credit_payloads(
    credits: Sequence[Credit], artist_ids: dict[str, uuid.UUID]
) -> list[contracts.ArtistCreditV1]:
    return [
        contracts.ArtistCreditV1(
            artist_id=artist_ids[normalize_artist(c.name)], name=c.name, join_phrase=c.join_phrase
        )
        for c in credits
    ]


async def _create(
    conn: asyncpg.Connection[Any], pending: Sequence[_Prepared], source: str | None
) -> _Created:
    now = utcnow()
    groups = _group(pending)
    names: dict[str, str] = {}
    for group in groups:
        for credit in [*group.first.credits, *group.first.album_credits]:
            names.setdefault(normalize_artist(credit.name), credit.name)
    artist_ids, pending_events = await _ensure_artists(conn, names, source, now)

    # Albums: (title, primary artist, year) → the existing album or a new one. A candidate
    # that does not know the year joins one that does (self-titled albums of different
    # years stay apart; the same album named with and without its year does not).
    group_album: dict[uuid.UUID, AlbumKey] = {}
    years: dict[tuple[str, uuid.UUID], int] = {}
    for group in groups:
        p = group.first
        if p.album_norm is not None:
            primary = artist_ids[normalize_artist(p.album_credits[0].name)]
            year = _pick(group, "album_year")
            group_album[group.id] = (p.album_norm, primary, year)
            if year is not None:
                years.setdefault((p.album_norm, primary), year)
    album_keys: dict[AlbumKey, _NewTrack] = {}
    for group in groups:
        key = group_album.get(group.id)
        if key is None:
            continue
        if key[2] is None and (key[0], key[1]) in years:
            key = group_album[group.id] = (key[0], key[1], years[(key[0], key[1])])
        album_keys.setdefault(key, group)
    keys = list(album_keys)
    album_ids: dict[AlbumKey, uuid.UUID] = {}
    if keys:
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
        for r in found:
            album_ids[keys[r["i"] - 1]] = as_uuid(r["id"])
    album_rows, album_credit_rows = [], []
    album_titles: dict[uuid.UUID, str] = {}
    for key, group in album_keys.items():
        if key in album_ids:
            continue
        p = group.first
        new_album = album_ids[key] = new_id()
        album = parse_title(p.candidate.album or "")
        album_type = _pick(group, "album_type") or "album"
        names_printed = artist_names(p.album_credits)
        album_rows.append(
            (
                new_album,
                p.candidate.album,
                album.norm,
                album.variant,
                p.album_search,
                album_type,
                key[2],
                names_printed,
                normalize_text(names_printed),
                key[1],
                source,
            )
        )
        album_credit_rows.extend(_credit_rows(new_album, p.album_credits, artist_ids))
        album_titles[new_album] = p.candidate.album or ""
        pending_events.append(
            (
                contracts.ALBUM_CREATED,
                contracts.AlbumV1(
                    album_id=new_album,
                    title=p.candidate.album or "",
                    album_type=album_type,
                    artist_names=names_printed,
                    credits=_credit_payloads(p.album_credits, artist_ids),
                    release_year=key[2],
                    updated_at=now,
                ),
                str(new_album),
            )
        )
    if album_rows:
        await conn.copy_records_to_table(
            "albums",
            records=album_rows,
            columns=(
                "id",
                "title",
                "title_norm",
                "title_variant",
                "title_search",
                "album_type",
                "release_year",
                "artist_names",
                "artist_names_search",
                "primary_artist_id",
                "source",
            ),
        )
        await conn.copy_records_to_table(
            "album_credits",
            records=album_credit_rows,
            columns=("album_id", "position", "artist_id", "credited_name", "join_phrase"),
        )

    # Titles of existing albums the new tracks land on (for their events and search).
    existing_albums = [a for a in album_ids.values() if a not in album_titles]
    if existing_albums:
        for r in await conn.fetch(
            "SELECT id, title FROM albums WHERE id = ANY($1::uuid[])", existing_albums
        ):
            album_titles[as_uuid(r["id"])] = r["title"]

    track_rows, credit_rows = [], []
    id_values: list[tuple[str, str, uuid.UUID]] = []
    result: dict[int, tuple[uuid.UUID, uuid.UUID | None]] = {}
    for group in groups:
        p = group.first
        key = group_album.get(group.id)
        album_id = album_ids[key] if key is not None else None
        printed = p.printed
        duration = _pick(group, "duration_ms")
        album_title = album_titles.get(album_id) if album_id else None
        track_rows.append(
            (
                group.id,
                p.candidate.title.strip(),
                p.title_norm,
                p.title_variant,
                p.title_search,
                album_id,
                normalize_text(album_title) if album_title else "",
                _pick(group, "disc_number"),
                _pick(group, "track_number"),
                duration,
                bool(_pick(group, "explicit")),
                printed,
                normalize_text(printed),
                artist_ids[p.primary_norm],
                source,
            )
        )
        credit_rows.extend(_credit_rows(group.id, p.credits, artist_ids))
        seen_ids: set[tuple[str, str]] = set()
        for member in group.members:
            for namespace, value in member.external_keys:
                if (namespace, value) not in seen_ids:
                    seen_ids.add((namespace, value))
                    id_values.append((namespace, value, group.id))
            result[member.index] = (group.id, album_id)
        pending_events.append(
            (
                contracts.TRACK_CREATED,
                contracts.TrackV1(
                    track_id=group.id,
                    title=p.candidate.title.strip(),
                    artist_names=printed,
                    credits=_credit_payloads(p.credits, artist_ids),
                    album_id=album_id,
                    album_title=album_title,
                    duration_ms=duration,
                    disc_number=_pick(group, "disc_number"),
                    track_number=_pick(group, "track_number"),
                    explicit=bool(_pick(group, "explicit")),
                    isrcs=sorted(v for ns, v in seen_ids if ns == "isrc"),
                    updated_at=now,
                ),
                str(group.id),
            )
        )
    await conn.copy_records_to_table(
        "tracks",
        records=track_rows,
        columns=(
            "id",
            "title",
            "title_norm",
            "title_variant",
            "title_search",
            "album_id",
            "album_title_search",
            "disc_number",
            "track_number",
            "duration_ms",
            "explicit",
            "artist_names",
            "artist_names_search",
            "primary_artist_id",
            "source",
        ),
    )
    await conn.copy_records_to_table(
        "track_credits",
        records=credit_rows,
        columns=("track_id", "position", "artist_id", "credited_name", "join_phrase"),
    )
    await _add_external_ids(conn, id_values)
    return _Created(result, pending_events)


async def _add_external_ids(
    conn: asyncpg.Connection[Any], values: Sequence[tuple[str, str, uuid.UUID]]
) -> set[uuid.UUID]:
    """Attach external ids to tracks (those already taken stay where they are); returns the
    tracks that gained one."""
    if not values:
        return set()
    records = await conn.fetch(
        """
        INSERT INTO external_ids (entity_type, namespace, value, entity_id)
        SELECT 'track', v.namespace, v.value, v.entity_id
        FROM unnest($1::text[], $2::text[], $3::uuid[]) AS v(namespace, value, entity_id)
        ORDER BY v.namespace, v.value
        ON CONFLICT DO NOTHING
        RETURNING entity_id
        """,
        [v[0] for v in values],
        [v[1] for v in values],
        [v[2] for v in values],
    )
    return {as_uuid(r["entity_id"]) for r in records}


# --- the whole -----------------------------------------------------------------------------


async def resolve(
    session: AsyncSession,
    candidates: Sequence[Candidate],
    *,
    source: str | None = None,
    config: ResolutionConfig | None = None,
) -> list[Resolution]:
    """Resolve ``candidates`` to catalog tracks, creating what is missing, in the session's
    transaction (commit it to keep what was created). Results are in candidate order."""
    config = config or ResolutionConfig()
    prepared = [prepare(i, c) for i, c in enumerate(candidates)]
    if not prepared:
        return []
    by_index = {p.index: p for p in prepared}
    conn = await driver_connection(session)
    # Before the first look: holding the lock, nothing can be created behind our back.
    locked = await try_write_lock(conn)
    await _stage(conn, prepared)
    results: dict[int, Resolution] = {}

    async def external_and_exact() -> None:
        matched = []
        for r in await conn.fetch(_MATCH_EXTERNAL):
            album_id = as_uuid(r["album_id"]) if r["album_id"] else None
            results[r["idx"]] = Resolution(
                r["idx"], as_uuid(r["track_id"]), album_id, False, "external_id", 100
            )
            matched.append(r["idx"])
        await _drop_resolved(conn, matched)
        matched = []
        for r in await conn.fetch(_MATCH_EXACT, config.variant_tolerance_ms):
            album_id = as_uuid(r["album_id"]) if r["album_id"] else None
            results[r["idx"]] = Resolution(
                r["idx"], as_uuid(r["track_id"]), album_id, False, "exact", int(r["confidence"])
            )
            matched.append(r["idx"])
        await _drop_resolved(conn, matched)

    await external_and_exact()
    fuzzy = await _match_fuzzy(
        conn, {i: p for i, p in by_index.items() if i not in results}, config
    )
    for index, (track_id, album_id, confidence) in fuzzy.items():
        results[index] = Resolution(index, track_id, album_id, False, "fuzzy", confidence)
    await _drop_resolved(conn, list(fuzzy))

    pending_events: list[PendingEvent] = []
    if len(results) < len(prepared):
        if not locked:
            # Create under the write lock, after looking again: the resolver that held it
            # may have created some of these tracks since the first look.
            await take_write_lock(conn)
            await external_and_exact()
        # Originals first, then variants: "X - 2011 Remaster" may then resolve to the "X"
        # this very batch created (when the durations agree).
        for variants in (False, True):
            remaining = [
                p for p in prepared if p.index not in results and bool(p.title_variant) == variants
            ]
            if not remaining:
                continue
            created = await _create(conn, remaining, source)
            for index, (track_id, album_id) in created.tracks.items():
                results[index] = Resolution(index, track_id, album_id, True, "created", 100)
            pending_events.extend(created.events)
            await _drop_resolved(conn, list(created.tracks))
            if not variants and any(p.title_variant for p in prepared if p.index not in results):
                await external_and_exact()

    # Confident matches teach the catalog the ids their candidates carried.
    learned = [
        (ns, v, results[p.index].track_id)
        for p in prepared
        if results[p.index].method in ("external_id", "exact") and not results[p.index].created
        for ns, v in p.external_keys
    ]
    enriched = await _add_external_ids(conn, learned)
    await record_events(session, pending_events)
    if enriched:
        await events.publish_changed(session, "track", sorted(enriched))
    return [results[p.index] for p in prepared]
