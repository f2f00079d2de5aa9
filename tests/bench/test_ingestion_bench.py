"""Ingestion benchmarks: each figure next to its baseline, measured in the same run.

Run with ``make bench`` (never part of ``make test``). The whole stack runs as real processes
(``medley_stack``: users, catalog, ingestion, gateway), the catalog empty. A Spotify extended
streaming history of ``MEDLEY_BENCH_LISTENS`` (1,000,000) plays over
``MEDLEY_BENCH_DISTINCT_TRACKS`` (50,000) tracks is generated in the real format, as
``Streaming_History_Audio_*.json`` parts in a zip.

Figures (goal → baseline):

* upload to ``completed``: ≤ 20 s for 1,000,000 listens (≥ 50,000 listens/s), peak RSS of the
  ingestion process ≤ 400 MB → a raw COPY of the same play rows into the same table, and
  row-by-row inserts of 10,000 listens;
* re-import of the same file: 0 rows added, ≤ 1/3 of the first import's time;
* stats of that user: top artists ``all_time`` and ``this_month``, p95 ≤ 50 ms (over HTTP,
  the service's own port) → the same answer by GROUP BY over the plays;
* ``POST /1/submit-listens`` through the gateway (an API token, resolved through users),
  1,000 known-track listens a request, 4 concurrent clients (``wrk``): ≥ 10,000 listens/s,
  p99 per request.

Nothing here fails on a timing: benchmarks report, the goals are for people to read.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
import pytest

from medley_core.db import asyncpg_dsn

HERE = os.path.dirname(__file__)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import platform_support as ps  # noqa: E402

pytestmark = [pytest.mark.bench, pytest.mark.timeout(0)]

# The stack this module starts: ListenBrainz's rate limit (100 requests per 10 s per user)
# would turn the submit figure into a count of 429s.
os.environ.setdefault("MEDLEY_INGESTION_LISTENBRAINZ_RATE_LIMIT", "1000000")

LISTENS = int(os.environ.get("MEDLEY_BENCH_LISTENS", "1000000"))
TRACKS = int(os.environ.get("MEDLEY_BENCH_DISTINCT_TRACKS", str(min(50_000, LISTENS // 20))))
ROWS_PER_PART = 50_000
PASSWORD = "correct horse battery staple"
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

ROW = (
    '  {{\n    "ts": "{ts}",\n    "platform": "android",\n    "ms_played": {ms},\n'
    '    "conn_country": "SE",\n    "ip_addr": "192.0.2.1",\n'
    '    "master_metadata_track_name": "{title}",\n'
    '    "master_metadata_album_artist_name": "{artist}",\n'
    '    "master_metadata_album_album_name": "{album}",\n'
    '    "spotify_track_uri": "spotify:track:{uri}",\n    "episode_name": null,\n'
    '    "episode_show_name": null,\n    "spotify_episode_uri": null,\n'
    '    "audiobook_title": null,\n    "audiobook_uri": null,\n'
    '    "audiobook_chapter_uri": null,\n    "audiobook_chapter_title": null,\n'
    '    "reason_start": "trackdone",\n    "reason_end": "{reason}",\n    "shuffle": false,\n'
    '    "skipped": false,\n    "offline": false,\n    "offline_timestamp": null,\n'
    '    "incognito_mode": false\n  }}'
)


def spotify_id(n: int) -> str:
    digits = []
    for _ in range(22):
        n, r = divmod(n, 62)
        digits.append(BASE62[r])
    return "".join(reversed(digits))


CONSONANTS = "bcdfghlmnprstvz"
VOWELS = "aeiou"


def names(rng: random.Random, count: int, words: tuple[int, ...]) -> list[str]:
    """``count`` distinct made-up names of a few pronounceable words, as real titles vary."""
    vocabulary = list(
        dict.fromkeys(
            "".join(
                rng.choice(CONSONANTS) + rng.choice(VOWELS) for _ in range(rng.choice((2, 3, 4)))
            )
            for _ in range(20_000)
        )
    )
    found: dict[str, None] = {}
    while len(found) < count:
        picked = [
            vocabulary[int(len(vocabulary) * rng.random() ** 2)] for _ in range(rng.choice(words))
        ]
        found[" ".join(w.capitalize() for w in picked)] = None
    return list(found)


def rows(count: int, tracks: int, end: datetime) -> Iterator[str]:
    """``count`` plays, newest last, 4 minutes apart, ending at ``end``; 3% too short."""
    rng = random.Random(20261130)
    uris = [spotify_id(1_000_003 * n + 7) for n in range(tracks)]
    titles = names(rng, tracks, (1, 2, 2, 3, 4))
    artists = names(rng, max(tracks // 10, 1), (1, 2, 2, 3))
    albums = names(rng, max(tracks // 4, 1), (1, 2, 3))
    start = end - timedelta(minutes=4 * count)
    for i in range(count):
        n = (i * 7919) % tracks
        ended = start + timedelta(minutes=4 * i, seconds=200)
        short = i % 33 == 0
        yield ROW.format(
            ts=ended.strftime("%Y-%m-%dT%H:%M:%SZ"),
            ms=10_000 if short else 200_000,
            title=titles[n],
            artist=artists[n % len(artists)],
            album=albums[n % len(albums)],
            uri=uris[n],
            reason="fwdbtn" if short else "trackdone",
        )


def write_export(path: Path, count: int, tracks: int, end: datetime) -> int:
    """The zip as Spotify delivers it; the number of plays that count as listens."""
    generated = rows(count, tracks, end)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for part in range((count + ROWS_PER_PART - 1) // ROWS_PER_PART):
            size = min(ROWS_PER_PART, count - part * ROWS_PER_PART)
            body = ",\n".join(next(generated) for _ in range(size))
            zf.writestr(
                f"Spotify Extended Streaming History/Streaming_History_Audio_{part}.json",
                "[\n" + body + "\n]",
            )
    return count - len(range(0, count, 33))


class PeakRss:
    """Samples a process's resident set size every 50 ms, keeps the peak."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.process.memory_info().rss)
            except psutil.Error:
                return
            self._stop.wait(0.05)

    def __enter__(self) -> PeakRss:
        self.peak = self.process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


async def account(gateway: str) -> tuple[str, str, str]:
    """A new user's (id, access token, name), registered and logged in through the gateway."""
    name = f"bench-{uuid.uuid4().hex[:10]}"
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as api:
        registered = await api.post(
            "/api/v1/auth/register",
            json={"username": name, "email": f"{name}@example.com", "password": PASSWORD},
        )
        registered.raise_for_status()
    return registered.json()["id"], await login(gateway, name), name


async def login(gateway: str, name: str) -> str:
    """A fresh access token (an import that waits on the catalog outlives one)."""
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as api:
        tokens = await api.post("/api/v1/auth/login", json={"login": name, "password": PASSWORD})
        tokens.raise_for_status()
    return str(tokens.json()["access_token"])


@dataclass
class ImportRun:
    """How long an import took, when its first chunk was committed (for a first import of
    new tracks: the time spent resolving them through the catalog), and the job."""

    elapsed_s: float
    first_chunk_s: float | None
    job: dict[str, Any]


async def import_and_wait(gateway: str, ingestion: str, name: str, path: Path) -> ImportRun:
    token = await login(gateway, name)
    async with httpx.AsyncClient(base_url=ingestion, timeout=600) as api:
        began = time.perf_counter()
        with path.open("rb") as handle:
            response = await api.post(
                "/api/v1/imports/",
                files={"file": (path.name, handle, "application/zip")},
                headers={"Authorization": f"Bearer {token}"},
            )
        response.raise_for_status()
        job_id = response.json()["id"]
        first_chunk: float | None = None
        while True:
            seen = await api.get(
                f"/api/v1/imports/{job_id}", headers={"Authorization": f"Bearer {token}"}
            )
            if seen.status_code == 401:
                token = await login(gateway, name)
                continue
            job = seen.json()
            if first_chunk is None and job["progress"]["records_read"] > 0:
                first_chunk = time.perf_counter() - began
            if job["status"] not in ("queued", "running"):
                return ImportRun(time.perf_counter() - began, first_chunk, job)
            await asyncio.sleep(0.1)


def child_pid(stack: Any, name: str) -> int:
    for child in stack.children:
        if child.name == name:
            return int(child.process.pid)
    raise LookupError(name)


async def test_ingestion_figures(medley_stack: Any, tmp_path: Path) -> None:
    gateway = medley_stack.gateway_url
    ingestion = medley_stack.service_urls["ingestion"]
    service_url = medley_stack.database_urls["ingestion"]
    now = datetime.now(UTC).replace(microsecond=0)
    export = tmp_path / "my_spotify_data.zip"
    began = time.perf_counter()
    expected = write_export(export, LISTENS, TRACKS, now - timedelta(hours=1))
    print(
        f"\n  generated {LISTENS:,} plays over {TRACKS:,} tracks "
        f"({export.stat().st_size / 1e6:.0f} MB zipped) in {time.perf_counter() - began:.1f}s"
    )
    user_id, token, name = await account(gateway)

    ps.heading(f"import of a {LISTENS:,}-play Spotify extended history, empty catalog")
    pids = {child.name: int(child.process.pid) for child in medley_stack.children}
    cpu_before = {name_: ps.cpu_seconds([pid]) for name_, pid in pids.items()}
    with PeakRss(child_pid(medley_stack, "ingestion")) as rss:
        first = await import_and_wait(gateway, ingestion, name, export)
    elapsed, job = first.elapsed_s, first.job
    cpu_used = {n: ps.cpu_seconds([pid]) - cpu_before[n] for n, pid in pids.items()}
    assert job["status"] == "completed", job
    assert job["progress"]["listens_imported"] == expected, job["progress"]
    print(f"  upload → completed in {elapsed:.1f} s ({expected / elapsed:,.0f} listens/s)")
    if first.first_chunk_s is not None:
        print(
            f"  first chunk committed after {first.first_chunk_s:.1f} s (upload, check, and "
            f"resolving its {TRACKS:,} new tracks through the catalog); the rest took "
            f"{elapsed - first.first_chunk_s:.1f} s"
        )
    print(f"  peak RSS of the ingestion process: {rss.peak / 1e6:.0f} MB (goal ≤ 400 MB)")
    # Where the time went: each service's own CPU over the import (PostgreSQL's is not
    # in these), and how far the catalog's events were still behind when it completed.
    print(
        "  CPU seconds during the import: "
        + ", ".join(f"{n} {cpu:.1f}" for n, cpu in sorted(cpu_used.items(), key=lambda x: -x[1]))
    )
    conn = await connect(service_url)
    try:
        provisional = await conn.fetchval("SELECT count(*) FROM tracks WHERE provisional")
        print(
            f"  catalog tracks still provisional in ingestion's projection at completion: "
            f"{provisional:,} of {TRACKS:,} (catalog.track.created not yet consumed)"
        )
        baseline_copy = await copy_baseline(conn, uuid.UUID(user_id))
        row_by_row = await row_by_row_baseline(conn, uuid.UUID(user_id))
    finally:
        await conn.close()
    ps.report(
        "upload → completed",
        ps.rate(expected / elapsed, "listens/s"),
        "raw COPY of the plays",
        ps.rate(expected / baseline_copy, "rows/s"),
        ps.ratio(elapsed, baseline_copy),
    )
    ps.report(
        f"  ({elapsed:.1f} s; goal ≤ 20 s)",
        ps.rate(expected / elapsed, "listens/s"),
        "row-by-row INSERT (10,000)",
        ps.rate(row_by_row, "rows/s"),
        f"{expected / elapsed / row_by_row:6.1f}x",
    )

    ps.heading("re-import of the same file")
    again = await import_and_wait(gateway, ingestion, name, export)
    again_s = again.elapsed_s
    assert again.job["progress"]["listens_imported"] == 0
    ps.report(
        "re-import → completed",
        f"{again_s:8.1f} s",
        "first import",
        f"{elapsed:8.1f} s",
        f"{again_s / elapsed:6.2f}x (goal ≤ 0.33x)",
    )
    print(f"  rows added: {again.job['progress']['listens_imported']}")

    token = await login(gateway, name)
    await stats_figures(ingestion, token, service_url, uuid.UUID(user_id))
    await submit_figures(gateway, token, tmp_path)


async def connect(service_url: str) -> asyncpg.Connection:
    """A connection to ingestion's database, waiting while the shared server is full."""
    for _ in range(60):
        try:
            return await asyncpg.connect(
                asyncpg_dsn(service_url), server_settings={"search_path": "ingestion"}
            )
        except asyncpg.TooManyConnectionsError:
            await asyncio.sleep(1)
    raise RuntimeError("the database server stayed full for a minute")


async def copy_baseline(conn: asyncpg.Connection, user_id: uuid.UUID) -> float:
    """The same play rows COPYed into the same table for another user (then removed)."""
    rows = await conn.fetch(
        "SELECT track_id, listened_at, ms_played, source, connector_track_id FROM plays "
        "WHERE user_id = $1",
        user_id,
    )
    other = uuid.uuid4()
    from medley_core.ids import new_id

    records = [
        (
            new_id(),
            other,
            r["track_id"],
            r["listened_at"],
            r["ms_played"],
            r["source"],
            r["connector_track_id"],
        )
        for r in rows
    ]
    began = time.perf_counter()
    await conn.copy_records_to_table(
        "plays",
        records=records,
        columns=(
            "id",
            "user_id",
            "track_id",
            "listened_at",
            "ms_played",
            "source",
            "connector_track_id",
        ),
    )
    elapsed = time.perf_counter() - began
    await conn.execute("DELETE FROM plays WHERE user_id = $1", other)
    return elapsed


async def row_by_row_baseline(conn: asyncpg.Connection, user_id: uuid.UUID) -> float:
    """10,000 listens inserted one statement at a time; rows per second."""
    rows = await conn.fetch(
        "SELECT track_id, listened_at, ms_played, source, connector_track_id FROM plays "
        "WHERE user_id = $1 LIMIT 10000",
        user_id,
    )
    other = uuid.uuid4()
    from medley_core.ids import new_id

    began = time.perf_counter()
    for r in rows:
        await conn.execute(
            "INSERT INTO plays (id, user_id, track_id, listened_at, ms_played, source, "
            "connector_track_id) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            new_id(),
            other,
            r["track_id"],
            r["listened_at"],
            r["ms_played"],
            r["source"],
            r["connector_track_id"],
        )
    elapsed = time.perf_counter() - began
    await conn.execute("DELETE FROM plays WHERE user_id = $1", other)
    return len(rows) / elapsed


GROUP_BY_ARTISTS = """
SELECT lower(t.artist_name) AS artist, count(*) AS listens
FROM plays p LEFT JOIN tracks t ON t.track_id = p.track_id
WHERE p.user_id = $1 AND ($2::timestamptz IS NULL OR p.listened_at >= $2)
GROUP BY 1 ORDER BY 2 DESC LIMIT 25
"""


# MEDLEY_BENCH_EXPLAIN=1: print the plan of each stats statement as the service runs it.
EXPLAIN = os.environ.get("MEDLEY_BENCH_EXPLAIN") == "1"


async def explain(conn: asyncpg.Connection, user_id: uuid.UUID, range_name: str) -> None:
    from medley_ingestion import stats

    query, args = stats.top_query(user_id, "artists", stats.period(range_name), limit=25)
    plan = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS, SETTINGS) " + query, *args)
    print(f"  plan of top artists {range_name}:")
    for row in plan:
        print("    " + row[0])


async def stats_figures(ingestion: str, token: str, service_url: str, user_id: uuid.UUID) -> None:
    ps.heading(f"stats of a user with {LISTENS:,} listens")
    headers = {"Authorization": f"Bearer {token}"}
    conn = await connect(service_url)
    month_start = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    try:
        async with httpx.AsyncClient(base_url=ingestion, timeout=30) as api:
            for range_name, since in (("all_time", None), ("this_month", month_start)):

                async def answer(_i: int, range_name: str = range_name) -> None:
                    response = await api.get(
                        "/api/v1/me/stats/top-artists",
                        params={"range": range_name, "limit": 25},
                        headers=headers,
                    )
                    response.raise_for_status()

                async def group_by(_i: int, since: datetime | None = since) -> None:
                    await conn.fetch(GROUP_BY_ARTISTS, user_id, since)

                await ps.sequential(answer, 5, budget_s=30)  # warm
                if EXPLAIN:
                    await explain(conn, user_id, range_name)
                figure = await ps.sequential(answer, 200, budget_s=60)
                baseline = await ps.sequential(group_by, 20, budget_s=120)
                ps.report(
                    f"top artists {range_name}, p95 (goal ≤ 50 ms)",
                    ps.ms(figure.p95_ms),
                    "GROUP BY over the plays",
                    ps.ms(baseline.p95_ms),
                    ps.ratio(figure.p95_ms, baseline.p95_ms),
                )
    finally:
        await conn.close()


SUBMIT_LUA = """
local counter = 0
local track = 0
request = function()
  counter = counter + 1
  local base = 1500000000 + counter * 100000 + math.random(0, 99999)
  local parts = {}
  for i = 1, 1000 do
    track = (track % 500) + 1
    parts[i] = string.format(
      '{"listened_at": %d, "track_metadata": {"artist_name": "Bench Artist %d", ' ..
      '"track_name": "Bench Song %d", "release_name": "Bench Album"}}',
      base + i * 300, track % 50, track)
  end
  local body = '{"listen_type": "import", "payload": [' .. table.concat(parts, ",") .. ']}'
  return wrk.format("POST", "/1/submit-listens", {["Authorization"] = "Token TOKEN"}, body)
end
"""


async def submit_figures(gateway: str, access: str, tmp_path: Path) -> None:
    ps.heading("POST /1/submit-listens through the gateway, 1,000 known-track listens, 4 clients")
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (apt-get install wrk): submit-listens not measured")
    async with httpx.AsyncClient(base_url=gateway, timeout=120) as api:
        created = await api.post(
            "/api/v1/me/api-tokens",
            json={"name": "bench"},
            headers={"Authorization": f"Bearer {access}"},
        )
        created.raise_for_status()
        token = created.json()["token"]
        headers = {"Authorization": f"Token {token}"}
        # Make the 500 tracks known first: the figure is about storing, not resolving.
        payload = [
            {
                "listened_at": 1_400_000_000 + i * 300,
                "track_metadata": {
                    "artist_name": f"Bench Artist {(i % 500 + 1) % 50}",
                    "track_name": f"Bench Song {i % 500 + 1}",
                    "release_name": "Bench Album",
                },
            }
            for i in range(500)
        ]
        warm = await api.post(
            "/1/submit-listens", json={"listen_type": "import", "payload": payload}, headers=headers
        )
        warm.raise_for_status()
    script = Path(tempfile.mkstemp(suffix=".lua", dir=tmp_path)[1])
    await asyncio.to_thread(script.write_text, SUBMIT_LUA.replace("TOKEN", token))
    result = await asyncio.to_thread(
        subprocess.run,
        ["wrk", "-t2", "-c4", "-d15s", "--latency", "-s", str(script), gateway],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = result.stdout.splitlines()
    # "1234 requests in 15.01s, …": only the answered ones count as listens stored.
    total, seconds = next(
        (
            (int(line.split()[0]), float(line.split()[3].rstrip("s,")))
            for line in lines
            if " requests in " in line
        ),
        (0, 1.0),
    )
    failed = next((int(line.split()[-1]) for line in lines if "Non-2xx" in line), 0)
    requests_s = (total - failed) / seconds
    p99 = next((line.split()[1] for line in lines if line.strip().startswith("99%")), "?")
    non_2xx = f"{failed} not 2xx" if failed else "all 2xx"
    ps.report(
        "submit-listens through wrk",
        ps.rate(requests_s * 1000, "listens/s"),
        "goal",
        ps.rate(10_000, "listens/s"),
        f"p99 {p99}; {non_2xx.strip()}",
    )
