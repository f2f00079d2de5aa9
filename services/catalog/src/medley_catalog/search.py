"""Search: typo-tolerant, ranked, over tracks, albums and artists at once.

How "pink floid wal" finds *The Wall* by Pink Floyd:

1. The query is normalised like every name (case, accents, punctuation): the words
   ``pink``, ``floid``, ``wal``.
2. Each word is looked up in the search vocabulary (``search_words``: every word of every
   title and name, kept by a trigger). A word it does not know, even as the start of a
   word, is widened to the known words spelt like it: one edit away (``floid`` →
   ``floyd``, ``fluid``), then alike by trigrams (trigram index). Words of three letters or
   more also match as prefixes (``wal`` → ``wall``).
3. The words become one full-text query, every word required (``pink:* & (floid:* | floyd
   | fluid) & wal:*``), matched against generated ``tsvector`` columns (GIN indexes): titles
   weigh most, then artists, then the album of a track. When nothing matches, every word is
   widened ("fuzzy"); when still nothing matches, any word will do ("any").
4. Matches are ranked by how much of the query the entity's text holds (``word_similarity``),
   how close the whole text is (``similarity``), the full-text rank, and for tracks a pinch
   of popularity. Ties go to artists, then albums, then tracks, then ids.

At most :data:`FACET_CAP` matches per type are ranked (one statement, bounded work however
broad the query); the first page counts them per type (``facets``, capped alike). Pages are
keyset-paginated on (score, type, id) with an opaque cursor.
"""

# ruff: noqa: S608 -- SQL here is assembled from fixed fragments (table and column names
# from constant mappings); every value travels as a bind parameter.

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import asyncpg
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_catalog.normalize import normalize_text
from medley_catalog.queries import Row, rows
from medley_core.db import driver_connection
from medley_core.errors import Unprocessable
from medley_core.pagination import SqlQuery, decode_cursor, encode_cursor, page_of, sort_key
from medley_core.params import as_uuid

SearchType = Literal["track", "album", "artist"]
SEARCH_TYPES: tuple[SearchType, ...] = ("track", "album", "artist")
TYPE_RANK: dict[SearchType, int] = {"artist": 2, "album": 1, "track": 0}
MAX_WORDS = 8
ALTERNATIVES_PER_WORD = 3
MAX_ALTERNATIVES = 6
FACET_CAP = 1000
MIN_PREFIX = 3
# How a query is read, tried in this order until something matches: every word, widened
# only where the vocabulary does not know it ("all"); every word, each widened ("fuzzy");
# any word ("any").
Mode = Literal["all", "fuzzy", "any"]
MODES: tuple[Mode, ...] = ("all", "fuzzy", "any")


@dataclass
class SearchPage:
    items: list[Row]
    facets: dict[str, int] | None
    next_cursor: str | None
    # How the query was read: each word with the vocabulary words it was widened to.
    interpretation: dict[str, list[str]]
    mode: Mode


def _group(word: str, alternatives: Sequence[str]) -> str:
    head = f"'{word}':*" if len(word) >= MIN_PREFIX else f"'{word}'"
    return "(" + " | ".join([head, *(f"'{a}'" for a in alternatives)]) + ")"


def tsquery(words: Sequence[str], expansion: Expansion, mode: Mode) -> str:
    alternatives = expansion.for_mode(mode)
    joiner = " | " if mode == "any" else " & "
    return joiner.join(_group(w, alternatives.get(w, [])) for w in words)


@dataclass(frozen=True)
class Expansion:
    """What the vocabulary says about each query word: whether it is a word (or the start
    of one) it knows, and the known words spelt like it."""

    known: dict[str, bool]
    alternatives: dict[str, list[str]]
    # Whether the known words were widened too.
    complete: bool = False

    def for_mode(self, mode: Mode) -> dict[str, list[str]]:
        """Alternatives for unknown words only ("all"), or for every word."""
        if mode == "all":
            return {w: alts for w, alts in self.alternatives.items() if not self.known.get(w)}
        return self.alternatives


LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789"
MAX_EDIT_WORD = 12


def edits1(word: str) -> set[str]:
    """Every string one edit away (delete, swap, replace, insert) from ``word``."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = {a + b[1:] for a, b in splits if b}
    swaps = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    replaces = {a + c + b[1:] for a, b in splits if b for c in LETTERS}
    inserts = {a + c + b for a, b in splits for c in LETTERS}
    return (deletes | swaps | replaces | inserts) - {word}


async def _alternatives(
    conn: asyncpg.Connection[Any], words: Sequence[str]
) -> dict[str, list[str]]:
    """Known words spelt like each of ``words``: one edit away (short words, where trigrams
    say little), then alike by trigrams (trigram index), best first."""
    if not words:
        return {}
    variants = {
        w: edits1(w) for w in words if MIN_PREFIX <= len(w) <= MAX_EDIT_WORD and w.isascii()
    }
    existing: set[str] = set()
    if variants:
        existing = {
            r["word"]
            for r in await conn.fetch(
                "SELECT word FROM search_words WHERE word = ANY($1::text[])",
                sorted(set().union(*variants.values())),
            )
        }
    await conn.execute("SELECT set_config('pg_trgm.similarity_threshold', '0.3', true)")
    records = await conn.fetch(
        """
        SELECT q.w, ARRAY(
            SELECT s.word FROM search_words s
            WHERE (' ' || s.word) % q.w AND s.word <> q.w AND NOT starts_with(s.word, q.w)
            ORDER BY similarity(s.word, q.w) DESC, s.word
            LIMIT $2
        ) AS alternatives
        FROM unnest($1::text[]) AS q(w)
        WHERE length(q.w) >= $3
        """,
        list(words),
        ALTERNATIVES_PER_WORD,
        MIN_PREFIX,
    )
    trigram = {r["w"]: list(r["alternatives"]) for r in records}
    found: dict[str, list[str]] = {}
    for w in words:
        near = sorted(v for v in variants.get(w, ()) if v in existing and not v.startswith(w))
        merged = list(dict.fromkeys([*near, *trigram.get(w, [])]))[:MAX_ALTERNATIVES]
        if merged:
            found[w] = merged
    return found


async def expand(
    conn: asyncpg.Connection[Any], words: Sequence[str], *, every_word: bool = False
) -> Expansion:
    """Look each query word up in the vocabulary: is it a word (or the start of one)? And
    the known words spelt like it: for the unknown words, or for ``every_word``."""
    distinct = list(dict.fromkeys(words))
    records = await conn.fetch(
        """
        SELECT q.w, EXISTS (
            SELECT 1 FROM search_words s WHERE s.word >= q.w AND s.word < q.w || chr(1114111)
        ) AS known
        FROM unnest($1::text[]) AS q(w)
        """,
        distinct,
    )
    known = {r["w"]: bool(r["known"]) for r in records}
    wanted = distinct if every_word else [w for w in distinct if not known[w]]
    return Expansion(known, await _alternatives(conn, wanted))


def _branches(
    types: Sequence[SearchType], genre_param: str | None, year_param: str | None
) -> dict[SearchType, tuple[str, str]]:
    """Per type: the SELECT of its hits and the FROM/WHERE that finds them ($1 = tsquery
    text, $2 = normalised query)."""
    genre_filter = {
        kind: f"{alias}.id IN (SELECT g.{kind}_id FROM {kind}_genres g "
        f"WHERE g.genre_id = {genre_param})"
        for kind, alias in (("track", "t"), ("album", "al"), ("artist", "ar"))
    }
    branches: dict[SearchType, tuple[str, str]] = {}
    for kind in types:
        if kind == "track":
            text = "t.title_search || ' ' || t.artist_names_search || ' ' || t.album_title_search"
            where = "t.search_vector @@ to_tsquery('simple', $1) AND t.deleted_at IS NULL"
            if genre_param:
                where += f" AND {genre_filter['track']}"
            if year_param:
                where += (
                    " AND EXISTS (SELECT 1 FROM albums y WHERE y.id = t.album_id "
                    f"AND y.release_year = {year_param})"
                )
            select = f"""
                SELECT 'track'::text AS type, 0 AS type_rank, t.id, t.title AS name,
                    t.artist_names, t.album_id, t.duration_ms, NULL::smallint AS release_year,
                    NULL::text AS album_type,
                    (0.6 * word_similarity($2, {text})
                     + 0.3 * similarity($2, t.title_search || ' ' || t.artist_names_search)
                     + 0.1 * ts_rank_cd(t.search_vector, to_tsquery('simple', $1), 32)
                     + least(ln(1 + t.play_count) / 200.0, 0.05))::float8 AS score
                FROM tracks t WHERE {where}"""
            branches[kind] = (select, f"SELECT 1 FROM tracks t WHERE {where}")
        elif kind == "album":
            text = "al.title_search || ' ' || al.artist_names_search"
            where = "al.search_vector @@ to_tsquery('simple', $1) AND al.deleted_at IS NULL"
            if genre_param:
                where += f" AND {genre_filter['album']}"
            if year_param:
                where += f" AND al.release_year = {year_param}"
            select = f"""
                SELECT 'album'::text AS type, 1 AS type_rank, al.id, al.title AS name,
                    al.artist_names, NULL::uuid AS album_id, NULL::int AS duration_ms,
                    al.release_year, al.album_type,
                    (0.6 * word_similarity($2, {text})
                     + 0.3 * similarity($2, {text})
                     + 0.1 * ts_rank_cd(al.search_vector, to_tsquery('simple', $1), 32))::float8
                    AS score
                FROM albums al WHERE {where}"""
            branches[kind] = (select, f"SELECT 1 FROM albums al WHERE {where}")
        else:
            if year_param:
                continue  # artists have no year
            where = "ar.search_vector @@ to_tsquery('simple', $1) AND ar.deleted_at IS NULL"
            if genre_param:
                where += f" AND {genre_filter['artist']}"
            select = f"""
                SELECT 'artist'::text AS type, 2 AS type_rank, ar.id, ar.name,
                    NULL::text AS artist_names, NULL::uuid AS album_id, NULL::int AS duration_ms,
                    NULL::smallint AS release_year, NULL::text AS album_type,
                    (0.6 * word_similarity($2, ar.name_search)
                     + 0.3 * similarity($2, ar.name_search)
                     + 0.1 * ts_rank_cd(ar.search_vector, to_tsquery('simple', $1), 32))::float8
                    AS score
                FROM artists ar WHERE {where}"""
            branches[kind] = (select, f"SELECT 1 FROM artists ar WHERE {where}")
    return branches


def parse_types(listed: str | None) -> list[SearchType]:
    """The types a comma-separated ``type`` parameter names (all when it is absent); a 422
    naming ``type`` for anything else."""
    if not listed:
        return list(SEARCH_TYPES)
    asked = [t.strip() for t in listed.split(",") if t.strip()]
    if not asked or any(t not in SEARCH_TYPES for t in asked):
        raise Unprocessable(
            f"type must be a comma-separated subset of {','.join(SEARCH_TYPES)}", field="type"
        )
    return [t for t in SEARCH_TYPES if t in asked]


# Pages follow the ranking: score, then type (artists first), then id, all descending. The
# cursor also carries the mode that found the first page, so every page reads the query
# the same way.
SEARCH_ORDER = sort_key("search", ("score", float), ("type_rank", int), descending=True)
CURSOR_TYPES = (str, *SEARCH_ORDER.types)


def _after(cursor: str | None) -> tuple[Sequence[Mode], list[Any] | None]:
    """The modes to try and the key to start after: every mode from the top for a first
    page, the first page's mode after its cursor's key for the next ones."""
    if not cursor:
        return MODES, None
    decoded = decode_cursor(cursor, SEARCH_ORDER.name, CURSOR_TYPES)
    mode = next((m for m in MODES if m == decoded[0]), None)
    if mode is None:
        raise Unprocessable("the cursor is not valid for this search", field="cursor")
    return (mode,), decoded[1:]


async def search(
    session: AsyncSession,
    q: str,
    *,
    types: Sequence[SearchType] = SEARCH_TYPES,
    genre: str | None = None,
    year: int | None = None,
    limit: int = 20,
    cursor: str | None = None,
) -> SearchPage:
    words = normalize_text(q).split()[:MAX_WORDS]
    if not words:
        raise Unprocessable("the query needs at least one letter or digit", field="q")
    conn = await driver_connection(session)
    wanted = [t for t in SEARCH_TYPES if t in set(types)]
    modes, key = _after(cursor)
    expansion = await expand(conn, words, every_word=modes[0] != "all")
    facets: dict[str, int] | None = {t: 0 for t in wanted} if not cursor else None
    empty = SearchPage([], facets, None, expansion.alternatives, modes[0])
    # $1: the tsquery (set per mode), $2: the normalised query.
    query = SqlQuery(args=[None, " ".join(words)])
    genre_param = year_param = None
    if genre is not None:
        genre_id = await conn.fetchval("SELECT id FROM genres WHERE slug = $1", genre)
        if genre_id is None:
            return empty
        genre_param = query.param(genre_id)
    if year is not None:
        year_param = query.param(year)
    branches = _branches(wanted, genre_param, year_param)
    if not branches:
        return empty
    order = query.keyset(SEARCH_ORDER, key)
    statement = _statement(branches, query.sql, order, query.param(limit + 1))
    mode: Mode = modes[0]
    records: list[asyncpg.Record] = []
    for mode in modes:
        if mode != "all" and any(expansion.known.values()) and not expansion.complete:
            # Widen the known words too, now that reading them as typed found nothing.
            known_words = [w for w, k in expansion.known.items() if k]
            widened = await _alternatives(conn, known_words)
            expansion = Expansion(expansion.known, {**expansion.alternatives, **widened}, True)
        query.args[0] = tsquery(words, expansion, mode)
        records = list(await conn.fetch(statement, *query.args))
        if records:
            break
    if not records:
        return SearchPage([], facets, None, expansion.alternatives, mode)
    if facets is not None:
        facets = {k: int(records[0][f"{k}_count"]) if k in branches else 0 for k in wanted}
    page = page_of(
        rows(records),
        limit,
        lambda last: encode_cursor(SEARCH_ORDER.name, [mode, *SEARCH_ORDER.key_of(last)]),
    )
    await _album_titles(conn, page.items)
    items = [_shape(item) for item in page.items]
    return SearchPage(items, facets, page.next_cursor, expansion.alternatives, mode)


def _statement(
    branches: dict[SearchType, tuple[str, str]], where: str, order: str, limit_param: str
) -> str:
    """One statement for every type searched: each type's hits (capped for the facets)
    materialised once, counted, and paged together by score."""
    ctes = ", ".join(
        f"{kind}_hits AS MATERIALIZED ({select} LIMIT {FACET_CAP})"
        for kind, (select, _) in branches.items()
    )
    union = " UNION ALL ".join(f"SELECT * FROM {kind}_hits" for kind in branches)
    counts = ", ".join(f"(SELECT count(*) FROM {kind}_hits) AS {kind}_count" for kind in branches)
    return f"""
        WITH {ctes}
        SELECT hits.*, {counts} FROM ({union}) hits WHERE {where}
        ORDER BY {order}
        LIMIT {limit_param}
    """


async def _album_titles(conn: asyncpg.Connection[Any], items: list[Row]) -> None:
    album_ids = list({i["album_id"] for i in items if i["album_id"] is not None})
    titles: dict[uuid.UUID, Row] = {}
    if album_ids:
        for r in await conn.fetch(
            "SELECT id, title, release_year FROM albums WHERE id = ANY($1::uuid[])", album_ids
        ):
            titles[as_uuid(r["id"])] = {
                "id": as_uuid(r["id"]),
                "title": r["title"],
                "release_year": r["release_year"],
            }
    for item in items:
        item["album"] = titles.get(item["album_id"]) if item["type"] == "track" else None


def _shape(item: Row) -> Row:
    shaped: Row = {
        "type": item["type"],
        "id": item["id"],
        "name": item["name"],
        "score": round(float(item["score"]), 4),
    }
    if item["type"] == "track":
        shaped.update(
            artist_names=item["artist_names"], album=item["album"], duration_ms=item["duration_ms"]
        )
    elif item["type"] == "album":
        shaped.update(
            artist_names=item["artist_names"],
            release_year=item["release_year"],
            album_type=item["album_type"],
        )
    return shaped
