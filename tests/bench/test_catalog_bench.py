"""Catalog benchmarks: each figure next to its baseline, measured in the same run.

Run with ``make bench`` (never part of ``make test``). A catalog of 1,000,000 tracks,
100,000 albums and 50,000 artists is generated with COPY into a database of this run's own;
``MEDLEY_BENCH_TRACKS`` scales it (albums = tracks / 10, artists = tracks / 20).

Figures (target → baseline):

* batch resolution of 10,000 candidates, half new: ≥ 5,000 candidates/s
  → one candidate per call;
* search: p95 ≤ 20 ms → ``ILIKE '%…%'``;
* a keyset page of 100 albums at any depth: p95 ≤ 5 ms → ``OFFSET`` at depth 50,000;
* all 10,000 albums of one source: ≤ 100 ms → the same through OFFSET pages;
* creating unknown tracks into an EMPTY catalog, 1,000 per call as ingestion sends them
  (title, artist, album, Spotify id, duration), 10 calls: candidates/s, and the slowest
  call (it should not grow with the catalog) → one candidate per call.

The figures are printed (``-s``); nothing here fails on a timing: benchmarks report, the
targets are for people to read.
"""

from __future__ import annotations

import contextlib
import gc
import os
import random
import statistics
import string
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from medley_catalog import MIGRATIONS_DIR
from medley_catalog.listing import ALBUMS as ALBUM_LISTING
from medley_catalog.listing import list_albums
from medley_catalog.normalize import normalize_text, parse_title
from medley_catalog.resolution import Candidate, resolve
from medley_catalog.search import search
from medley_catalog.settings import EXTENSIONS, CatalogSettings
from medley_core.db import asyncpg_dsn, create_engine, create_session_factory
from medley_core.ids import new_id
from medley_core.provisioning import ServiceDatabase, create_database, drop_database, provision

# Generating a million tracks takes minutes: no per-test timeout here.
pytestmark = [pytest.mark.bench, pytest.mark.timeout(0)]

TRACKS = int(os.environ.get("MEDLEY_BENCH_TRACKS", "1000000"))
ALBUMS = max(TRACKS // 10, 10)
ARTISTS = max(TRACKS // 20, 5)
SOURCE_ALBUMS = min(10_000, ALBUMS // 2)
CHUNK = 100_000
SEED = 20261121

CONSONANTS = "bcdfghlmnprstw"
VOWELS = "aeiou"


def word(rng: random.Random) -> str:
    return "".join(
        rng.choice(CONSONANTS) + rng.choice(VOWELS) for _ in range(rng.choice((2, 2, 3, 3, 4)))
    )


@dataclass
class Generated:
    service_url: str
    vocabulary: list[str]
    artists: list[tuple[uuid.UUID, str]]
    albums: list[tuple[uuid.UUID, str, uuid.UUID, int]]
    # A sample of tracks: (title, artist name, album title, isrc)
    sample: list[tuple[str, str, str, str]]


def title(rng: random.Random, vocabulary: list[str], words: int) -> str:
    # Skewed: some words are common ("love", "night"), most are rare, like real titles.
    picked = [vocabulary[int(len(vocabulary) * rng.random() ** 2)] for _ in range(words)]
    return " ".join(w.capitalize() for w in picked)


async def generate(conn: asyncpg.Connection, rng: random.Random) -> Generated:
    vocabulary = list(dict.fromkeys(word(rng) for _ in range(40_000)))
    rng.shuffle(vocabulary)
    artists: list[tuple[uuid.UUID, str]] = []
    names: set[str] = set()
    while len(artists) < ARTISTS:
        name = title(rng, vocabulary[1000:], rng.choice((1, 2, 2, 3)))
        if name.lower() in names:
            continue
        names.add(name.lower())
        artists.append((new_id(), name))
    artists.append((new_id(), "Pink Floyd"))
    await conn.copy_records_to_table(
        "artists",
        records=[(i, n, n, n.lower(), n.lower(), "bench") for i, n in artists],
        columns=("id", "name", "sort_name", "name_norm", "name_search", "source"),
    )

    albums: list[tuple[uuid.UUID, str, uuid.UUID, int]] = []
    for index in range(ALBUMS):
        artist_id, _ = artists[index % ARTISTS]
        albums.append(
            (
                new_id(),
                title(rng, vocabulary, rng.choice((1, 2, 3))),
                artist_id,
                rng.randint(1950, 2025),
            )
        )
    albums.append((new_id(), "The Wall", artists[-1][0], 1979))
    artist_names = dict(artists)
    album_rows = []
    for index, (album_id, album_title, artist_id, year) in enumerate(albums):
        source = "discogs" if index < SOURCE_ALBUMS else rng.choice(("spotify", "musicbrainz"))
        album_rows.append(
            (
                album_id,
                album_title,
                album_title.lower(),
                album_title.lower(),
                "album",
                year,
                artist_names[artist_id],
                artist_names[artist_id].lower(),
                artist_id,
                source,
            )
        )
    await conn.copy_records_to_table(
        "albums",
        records=album_rows,
        columns=(
            "id",
            "title",
            "title_norm",
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
        records=[(a, 0, artist, artist_names[artist], "") for a, _, artist, _ in albums],
        columns=("album_id", "position", "artist_id", "credited_name", "join_phrase"),
    )

    sample: list[tuple[str, str, str, str]] = []
    tracks: list[tuple[Any, ...]] = []
    credits: list[tuple[Any, ...]] = []
    isrcs: list[tuple[Any, ...]] = []
    wall_titles = ["In the Flesh", "Another Brick in the Wall", "Comfortably Numb", "Hey You"]

    async def flush() -> None:
        await conn.copy_records_to_table(
            "tracks",
            records=tracks,
            columns=(
                "id",
                "title",
                "title_norm",
                "title_search",
                "album_id",
                "album_title_search",
                "disc_number",
                "track_number",
                "duration_ms",
                "artist_names",
                "artist_names_search",
                "primary_artist_id",
                "source",
                "play_count",
            ),
        )
        await conn.copy_records_to_table(
            "track_credits",
            records=credits,
            columns=("track_id", "position", "artist_id", "credited_name", "join_phrase"),
        )
        await conn.copy_records_to_table(
            "external_ids",
            records=isrcs,
            columns=("entity_type", "namespace", "value", "entity_id"),
        )
        tracks.clear()
        credits.clear()
        isrcs.clear()

    total = TRACKS - len(wall_titles)
    for index in range(total + len(wall_titles)):
        if index < total:
            album_id, album_title, artist_id, _ = albums[index % ALBUMS]
            track_title = title(rng, vocabulary, rng.choice((1, 2, 2, 3, 4)))
        else:
            album_id, album_title, artist_id, _ = albums[-1]
            track_title = wall_titles[index - total]
        name = artist_names[artist_id]
        track_id = new_id()
        isrc = f"XX{''.join(rng.choices(string.ascii_uppercase, k=3))}{index:07d}"
        tracks.append(
            (
                track_id,
                track_title,
                parse_title(track_title).norm,
                normalize_text(track_title),
                album_id,
                album_title.lower(),
                1,
                index // ALBUMS + 1,
                rng.randint(90_000, 420_000),
                name,
                name.lower(),
                artist_id,
                "bench",
                int(rng.paretovariate(1.2)) - 1,
            )
        )
        credits.append((track_id, 0, artist_id, name, ""))
        isrcs.append(("track", "isrc", isrc, track_id))
        if index % max(1, TRACKS // 20_000) == 0 and len(sample) < 20_000:
            sample.append((track_title, name, album_title, isrc))
        if len(tracks) >= CHUNK:
            await flush()
    await flush()
    # A catalog at rest has been vacuumed (GIN pending lists flushed, visibility map set).
    await conn.execute("VACUUM ANALYZE")
    return Generated("", vocabulary, artists, albums, sample)


@pytest.fixture(scope="session")
async def catalog(bench_server: tuple[str, str]) -> AsyncIterator[Generated]:
    server_url, suffix = bench_server
    name = f"medley_catalog_bench_{uuid.uuid4().hex[:8]}"
    admin_url = await create_database(server_url, name)
    role = f"medley_catalog_bench{suffix}"
    service_url = await provision(
        admin_url, ServiceDatabase("catalog", role, role, MIGRATIONS_DIR, EXTENSIONS)
    )
    conn = await asyncpg.connect(asyncpg_dsn(service_url))
    try:
        started = time.perf_counter()
        generated = await generate(conn, random.Random(SEED))
        print(
            f"\ncatalog generated with COPY: {TRACKS:,} tracks, {ALBUMS:,} albums, "
            f"{ARTISTS:,} artists in {time.perf_counter() - started:.1f} s"
        )
        generated.service_url = service_url
        # The generated rows held here are the benchmark's, not the service's: keep them out
        # of the collector's full passes, which would otherwise rescan them mid-measurement
        # (a ~170 ms pause billed to whichever call it lands in).
        gc.collect()
        gc.freeze()
        yield generated
    finally:
        await conn.close()
        await drop_database(server_url, name)


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18] if len(samples) >= 20 else max(samples)


def report(figure: str, value: str, baseline: str, ratio: float) -> None:
    print(f"{figure:<48} {value:>14}   baseline {baseline:>14}   x{ratio:,.1f}")


async def timed(action: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await action()
    return time.perf_counter() - started


NOVEL_CONSONANTS = "xqyjkvz"
NOVEL_VOWELS = "aeiouy"


def novel(rng: random.Random, words: int) -> str:
    return " ".join(
        "".join(
            rng.choice(NOVEL_CONSONANTS) + rng.choice(NOVEL_VOWELS)
            for _ in range(rng.randint(2, 4))
        ).capitalize()
        for _ in range(words)
    )


def candidates(generated: Generated, rng: random.Random, count: int, tag: str) -> list[Candidate]:
    """Half known (a quarter by ISRC under another title, a quarter by title and artist),
    half new (new titles, by known and unknown artists)."""
    result: list[Candidate] = []
    sample = rng.sample(generated.sample, count // 2)
    for index, (track_title, artist, album, isrc) in enumerate(sample):
        if index % 2:
            result.append(Candidate(title=f"{track_title} (Remastered)", artist=artist, isrc=isrc))
        else:
            result.append(Candidate(title=track_title, artist=artist, album=album))
    # New names are made of syllables the generated catalog never uses (y, x, q…), so the
    # new half is new indeed. Like a real import, new tracks come by album (about ten an
    # album), new albums by artist (a few each), and half of them by artists already known.
    new = count - len(result)
    albums = []
    for index in range(max(1, new // 10)):
        if index % 2:
            artist = rng.choice(generated.artists)[1]
        elif index % 4 == 0 or not albums:
            artist = novel(rng, rng.choice((1, 2, 2, 3)))
        else:
            artist = albums[-1][1]  # a second album of the same new artist
        albums.append((novel(rng, rng.choice((1, 2))), artist, rng.randint(1960, 2025)))
    for index in range(new):
        album, artist, year = albums[index % len(albums)]
        result.append(
            Candidate(
                title=novel(rng, rng.choice((1, 2, 3, 4))),
                artist=artist,
                album=album,
                album_year=year,
                duration_ms=rng.randint(100_000, 300_000),
            )
        )
    rng.shuffle(result)
    return result


async def test_catalog_figures(catalog: Generated) -> None:
    rng = random.Random(SEED + 1)
    settings = CatalogSettings(database_url=catalog.service_url, db_pool_size=2)
    engine = create_engine(settings)
    sessions = create_session_factory(engine)
    conn = await asyncpg.connect(
        asyncpg_dsn(catalog.service_url), server_settings={"search_path": "catalog"}
    )
    stack = contextlib.AsyncExitStack()
    print()
    try:
        # --- batch resolution ------------------------------------------------------------
        batch = candidates(catalog, rng, 10_000, "a")
        # A running service's pool is open and its statements are prepared when imports
        # arrive: one small call of other candidates first, outside every timing.
        async with sessions() as session, session.begin():
            await resolve(session, candidates(catalog, rng, 100, "warm-up"), source="bench")

        per_call: list[float] = []

        async def resolve_batches() -> None:
            for start in range(0, len(batch), 1_000):  # the HTTP limit: 1,000 a call
                started = time.perf_counter()
                async with sessions() as session, session.begin():
                    await resolve(session, batch[start : start + 1_000], source="bench")
                per_call.append((time.perf_counter() - started) * 1000)

        elapsed = await timed(resolve_batches)
        rate = len(batch) / elapsed
        one_by_one = candidates(catalog, rng, 200, "b")

        async def resolve_singly() -> None:
            for candidate in one_by_one:
                async with sessions() as session, session.begin():
                    await resolve(session, [candidate], source="bench")

        baseline_rate = len(one_by_one) / await timed(resolve_singly)
        report(
            "resolution, 10,000 candidates (half new)",
            f"{rate:,.0f}/s",
            f"{baseline_rate:,.0f}/s",
            rate / baseline_rate,
        )
        print(
            f"{'':49}per call of 1,000: median {statistics.median(per_call):.0f} ms, "
            f"slowest {max(per_call):.0f} ms"
        )
        whole = candidates(catalog, rng, 10_000, "c")

        async def resolve_whole() -> None:
            async with sessions() as session, session.begin():
                await resolve(session, whole, source="bench")

        whole_rate = len(whole) / await timed(resolve_whole)
        report(
            "resolution, one call of 10,000",
            f"{whole_rate:,.0f}/s",
            f"{baseline_rate:,.0f}/s",
            whole_rate / baseline_rate,
        )

        # --- search ----------------------------------------------------------------------
        queries = []
        for track_title, artist, _, _ in rng.sample(catalog.sample, 200):
            words = artist.split()[:1] + track_title.split()[:2]
            typo_at = rng.randrange(len(words))
            w = words[typo_at]
            if len(w) >= 6:  # one typo, in a long word
                i = rng.randrange(1, len(w) - 1)
                words[typo_at] = w[:i] + rng.choice(VOWELS) + w[i + 1 :]
            if typo_at != len(words) - 1:  # still typing the last word
                words[-1] = words[-1][: max(3, len(words[-1]) - 2)]
            queries.append(" ".join(words).lower())
        # The reads take a session, as a request's handler has: one, open (its connection
        # checked out, its transaction begun) for all of them, as the connection is for the
        # baselines.
        reads = await stack.enter_async_context(sessions())
        await stack.enter_async_context(reads.begin())
        for q in queries[:10]:  # warm up
            await search(reads, q)
        latencies = []
        for q in queries:
            latencies.append(await timed(lambda q=q: search(reads, q)))
        floyd = await search(reads, "pink floid wal")
        found = [(i["type"], i["name"]) for i in floyd.items]
        assert ("album", "The Wall") in found, found

        ilike = []
        for q in queries[:20]:
            fragment = q.split()[-1]
            ilike.append(
                await timed(
                    lambda fragment=fragment: conn.fetch(
                        "SELECT id, title FROM tracks WHERE title ILIKE $1 AND deleted_at IS NULL "
                        "LIMIT 20",
                        f"%{fragment}%zz%",  # a fragment seldom found: the scan goes on
                    )
                )
            )
        report(
            "search p95 (typo, prefix; 200 queries)",
            f"{p95(latencies) * 1000:.1f} ms",
            f"{p95(ilike) * 1000:.1f} ms",
            p95(ilike) / p95(latencies),
        )
        median = statistics.median(latencies) * 1000
        print(f"{'':<48} median {median:.1f} ms; 'pink floid wal' → {found[:3]}")

        # --- keyset pages ----------------------------------------------------------------
        depth = min(50_000, ALBUMS - 200)
        keyset = []
        for _ in range(100):
            at = rng.randrange(0, ALBUMS - 200)
            row = await conn.fetchrow(
                "SELECT title_norm, id FROM albums WHERE deleted_at IS NULL "
                "ORDER BY title_norm, id OFFSET $1 LIMIT 1",
                at,
            )
            assert row is not None
            cursor = ALBUM_LISTING.sorts["title"].cursor_after(dict(row))
            keyset.append(
                await timed(lambda cursor=cursor: list_albums(reads, limit=100, cursor=cursor))
            )
        offset = []
        for _ in range(20):
            offset.append(
                await timed(
                    lambda: conn.fetch(
                        "SELECT id, title FROM albums WHERE deleted_at IS NULL "
                        "ORDER BY title_norm, id OFFSET $1 LIMIT 100",
                        depth,
                    )
                )
            )
        report(
            "keyset page of 100 albums, any depth, p95",
            f"{p95(keyset) * 1000:.2f} ms",
            f"{p95(offset) * 1000:.2f} ms",
            p95(offset) / p95(keyset),
        )

        # --- all albums of one source -----------------------------------------------------
        async def all_of_source() -> int:
            page = await list_albums(reads, limit=SOURCE_ALBUMS, sort="created", source="discogs")
            return len(page.items)

        assert await all_of_source() == SOURCE_ALBUMS
        whole_list = [await timed(all_of_source) for _ in range(10)]

        async def offset_pages() -> None:
            # The naive way: pages of 100 by OFFSET, each counting its way down the list.
            for page in range(0, SOURCE_ALBUMS, 100):
                await conn.fetch(
                    "SELECT * FROM albums WHERE source = $1 AND deleted_at IS NULL "
                    "ORDER BY title_norm, id OFFSET $2 LIMIT 100",
                    "discogs",
                    page,
                )

        paged = [await timed(offset_pages) for _ in range(3)]
        report(
            f"all {SOURCE_ALBUMS:,} albums of one source",
            f"{statistics.median(whole_list) * 1000:.1f} ms",
            f"{statistics.median(paged) * 1000:.1f} ms",
            statistics.median(paged) / statistics.median(whole_list),
        )
    finally:
        await stack.aclose()
        await conn.close()
        await engine.dispose()


def import_candidates(rng: random.Random, tracks: int) -> list[Candidate]:
    """New tracks shaped as a Spotify import sends them: ten tracks an artist, four an album
    title, names drawn from one skewed vocabulary (so many are alike: fuzzy work)."""
    vocabulary = list(dict.fromkeys(word(rng) for _ in range(20_000)))

    def distinct(count: int, words: tuple[int, ...]) -> list[str]:
        found: dict[str, None] = {}
        while len(found) < count:
            found[title(rng, vocabulary, rng.choice(words))] = None
        return list(found)

    titles = distinct(tracks, (1, 2, 2, 3, 4))
    artists = distinct(max(tracks // 10, 1), (1, 2, 2, 3))
    albums = distinct(max(tracks // 4, 1), (1, 2, 3))
    return [
        Candidate(
            title=titles[n],
            artist=artists[n % len(artists)],
            album=albums[n % len(albums)],
            album_artist=artists[n % len(artists)],
            duration_ms=rng.randint(100_000, 300_000),
            spotify_id=f"{n:022d}",
        )
        for n in range(tracks)
    ]


async def test_catalog_create_figures(bench_server: tuple[str, str]) -> None:
    """Issue #8: an import into an empty catalog creates every track it sends."""
    server_url, suffix = bench_server
    name = f"medley_catalog_create_bench_{uuid.uuid4().hex[:8]}"
    admin_url = await create_database(server_url, name)
    role = f"medley_catalog_create_bench{suffix}"
    service_url = await provision(
        admin_url, ServiceDatabase("catalog", role, role, MIGRATIONS_DIR, EXTENSIONS)
    )
    engine = create_engine(CatalogSettings(database_url=service_url, db_pool_size=2))
    sessions = create_session_factory(engine)
    print()
    try:
        batch = import_candidates(random.Random(SEED + 2), 10_200)
        per_call: list[float] = []
        created = 0

        async def create_batches() -> None:
            nonlocal created
            for start in range(0, 10_000, 1_000):
                started = time.perf_counter()
                async with sessions() as session, session.begin():
                    results = await resolve(session, batch[start : start + 1_000], source="b")
                per_call.append((time.perf_counter() - started) * 1000)
                created += sum(r.created for r in results)

        rate = 10_000 / await timed(create_batches)
        singles = batch[10_000:]

        async def create_singly() -> None:
            for candidate in singles:
                async with sessions() as session, session.begin():
                    await resolve(session, [candidate], source="b")

        baseline_rate = len(singles) / await timed(create_singly)
        report(
            "creating unknown tracks, empty catalog, 1,000/call",
            f"{rate:,.0f}/s",
            f"{baseline_rate:,.0f}/s",
            rate / baseline_rate,
        )
        print(
            f"{'':49}per call of 1,000: first {per_call[0]:.0f} ms, "
            f"median {statistics.median(per_call):.0f} ms, last {per_call[-1]:.0f} ms "
            f"({created:,} of 10,000 created)"
        )
    finally:
        await engine.dispose()
        await drop_database(server_url, name)
