"""Search: typo-tolerant, ranked, over tracks, albums and artists at once.

How "pink floid wal" finds *The Wall* by Pink Floyd:

1. The query is normalised like every name (case, accents, punctuation): the words
   ``pink``, ``floid``, ``wal``.
2. Each word is widened through the search vocabulary (``search_words``: every word of
   every title and name, kept by a trigger), with a trigram index: ``floid`` → ``floyd``,
   ``fluid``…; and words of three letters or more also match as prefixes (``wal`` → ``wall``).
3. The words become one full-text query, every word required (``pink:* & (floid:* | floyd
   | fluid) & wal:*``), matched against generated ``tsvector`` columns (GIN indexes): titles
   weigh most, then artists, then the album of a track. When nothing matches every word,
   any word will do (the results are then ranked by how much of the query they match).
4. Matches are ranked by how much of the query the entity's text holds (``word_similarity``),
   how close the whole text is (``similarity``), the full-text rank, and for tracks a pinch
   of popularity. Ties go to artists, then albums, then tracks, then ids.

Pages are keyset-paginated on (score, type, id) with an opaque cursor. The first page also
counts matches per type (``facets``, counted up to :data:`FACET_CAP`).
"""

# ruff: noqa: S608 -- SQL here is assembled from fixed fragments (table and column names
# from constant mappings); every value travels as a bind parameter.

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import asyncpg

from medley_catalog.listing import decode_cursor, encode_cursor
from medley_catalog.normalize import normalize_text
from medley_catalog.queries import Row, as_uuid, rows
from medley_core.problems import Unprocessable

SearchType = Literal["track", "album", "artist"]
SEARCH_TYPES: tuple[SearchType, ...] = ("track", "album", "artist")
TYPE_RANK: dict[SearchType, int] = {"artist": 2, "album": 1, "track": 0}
MAX_WORDS = 8
ALTERNATIVES_PER_WORD = 3
FACET_CAP = 1000
MIN_PREFIX = 3
Mode = Literal["all", "any"]


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


def tsquery(words: Sequence[str], expansions: dict[str, list[str]], mode: Mode) -> str:
    joiner = " & " if mode == "all" else " | "
    return joiner.join(_group(w, expansions.get(w, [])) for w in words)


async def expand(conn: asyncpg.Connection[Any], words: Sequence[str]) -> dict[str, list[str]]:
    """Vocabulary words spelt like each query word (trigram similarity, best first)."""
    fuzzy = [w for w in dict.fromkeys(words) if len(w) >= MIN_PREFIX]
    if not fuzzy:
        return {}
    await conn.execute("SELECT set_config('pg_trgm.similarity_threshold', '0.3', true)")
    records = await conn.fetch(
        """
        SELECT q.w, s.word
        FROM unnest($1::text[]) AS q(w)
        CROSS JOIN LATERAL (
            SELECT word FROM search_words
            WHERE word % q.w AND word <> q.w AND NOT starts_with(word, q.w)
            ORDER BY similarity(word, q.w) DESC, word
            LIMIT $2
        ) s
        """,
        fuzzy,
        ALTERNATIVES_PER_WORD,
    )
    expansions: dict[str, list[str]] = {}
    for r in records:
        expansions.setdefault(r["w"], []).append(r["word"])
    return expansions


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


async def search(
    conn: asyncpg.Connection[Any],
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
    query_text = " ".join(words)
    wanted = [t for t in SEARCH_TYPES if t in set(types)]
    mode: Mode = "all"
    key: list[Any] | None = None
    if cursor:
        decoded = decode_cursor(cursor, "search", (str, float, int, uuid.UUID))
        if decoded[0] not in ("all", "any"):
            raise Unprocessable("the cursor is not valid for this search", field="cursor")
        mode, key = decoded[0], decoded[1:]
    expansions = await expand(conn, words)

    args: list[Any] = [None, query_text]
    genre_param = year_param = None
    if genre is not None:
        genre_id = await conn.fetchval("SELECT id FROM genres WHERE slug = $1", genre)
        if genre_id is None:
            return SearchPage(
                [], {t: 0 for t in wanted} if not cursor else None, None, expansions, mode
            )
        args.append(genre_id)
        genre_param = f"${len(args)}"
    if year is not None:
        args.append(year)
        year_param = f"${len(args)}"
    branches = _branches(wanted, genre_param, year_param)
    if not branches:
        return SearchPage(
            [], {t: 0 for t in wanted} if not cursor else None, None, expansions, mode
        )

    facets: dict[str, int] | None = None
    if not cursor:
        facets = await _facets(conn, branches, wanted, tsquery(words, expansions, "all"), args)
        if not any(facets.values()):
            mode = "any"
            facets = await _facets(conn, branches, wanted, tsquery(words, expansions, "any"), args)
    args[0] = tsquery(words, expansions, mode)

    union = " UNION ALL ".join(select for select, _ in branches.values())
    after = ""
    if key is not None:
        args.extend(key)
        n = len(args)
        after = f"WHERE (score, type_rank, id) < (${n - 2}::float8, ${n - 1}::int, ${n}::uuid)"
    args.append(limit + 1)
    records = await conn.fetch(
        f"""
        SELECT * FROM ({union}) hits {after}
        ORDER BY score DESC, type_rank DESC, id DESC
        LIMIT ${len(args)}
        """,
        *args,
    )
    items = rows(records)
    more = len(items) > limit
    items = items[:limit]
    next_cursor = None
    if more and items:
        last = items[-1]
        next_cursor = encode_cursor("search", [mode, last["score"], last["type_rank"], last["id"]])
    await _album_titles(conn, items)
    return SearchPage([_shape(item) for item in items], facets, next_cursor, expansions, mode)


async def _facets(
    conn: asyncpg.Connection[Any],
    branches: dict[SearchType, tuple[str, str]],
    wanted: Sequence[SearchType],
    query: str,
    args: list[Any],
) -> dict[str, int]:
    parts = [
        f"(SELECT count(*) FROM ({count_sql} LIMIT {FACET_CAP}) x) AS {kind}"
        for kind, (_, count_sql) in branches.items()
    ]
    # $2 (the query text) is selected so that every parameter of the branches is used.
    record = await conn.fetchrow(f"SELECT {', '.join(parts)}, $2::text AS q", query, *args[1:])
    assert record is not None
    return {kind: int(record[kind]) if kind in branches else 0 for kind in wanted}


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
