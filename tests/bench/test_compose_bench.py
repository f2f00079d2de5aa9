"""Composed reads under load: the gateway's ``GET /api/v1/playlists/{id}?expand=tracks`` (a
100-track playlist: the playlist and its items from playlists, the tracks' details from
the catalog, the caller's plays from ingestion) against the playlists service's own plain
read of the same playlist (``GET /playlists/{id}/items``, direct), measured in the same run
with ``wrk`` (a native load generator: a Python client saturates first), 100 connections.

Figures (target → baseline):

* composed read: p99 ≤ 50 ms and requests/s ≥ 0.6 of the playlists service's plain read;
* the same with the ingestion process stopped: every answer a 200 naming ingestion in
  ``meta.degraded``, zero 5xx, p99 ≤ the upstream timeout + 10 ms.

Every service is a real process (``medley_stack``). On this shared two-core machine the
figures are noisy (the load average is printed); nothing here fails on a timing. What must
hold whatever the timing (the answers are complete, then degraded, never 5xx) is asserted.
Beside requests/s, the CPU each process spent per request is printed (a ratio of CPU costs
holds up better than requests/s on a loaded machine), and what the p99 target means: by
Little's law (connections = requests/s x latency) 100 connections at p99 <= 50 ms need at
least 2,000 composed answers a second, i.e. at most ``cores / 2,000`` s of CPU (1 ms on
two cores, every process and PostgreSQL included) per composed answer.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

HERE = os.path.dirname(__file__)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import platform_support as ps  # noqa: E402

pytestmark = [pytest.mark.bench, pytest.mark.timeout(0)]

TRACKS = 100
CONNECTIONS = 100
DURATION_S = int(os.environ.get("MEDLEY_BENCH_WRK_SECONDS", "10"))
PASSWORD = "correct horse battery staple"
WRK = shutil.which("wrk")
# Counts the answers by class in each thread; done() sums them (wrk runs one Lua state per
# thread, so the counts are collected through the thread objects).
WRK_SCRIPT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) ok = 0; client = 0; server = 0 end
function response(status, headers, body)
  if status >= 500 then server = server + 1
  elseif status >= 400 then client = client + 1
  else ok = ok + 1 end
end
function done(summary, latency, requests)
  local o, c, s = 0, 0, 0
  for _, t in ipairs(threads) do
    o = o + t:get("ok"); c = c + t:get("client"); s = s + t:get("server")
  end
  io.write(string.format("STATUS ok=%d 4xx=%d 5xx=%d\\n", o, c, s))
  for _, p in ipairs({50, 90, 99}) do
    io.write(string.format("PCT %d %f\\n", p, latency:percentile(p) / 1000.0))
  end
end
"""


@dataclass
class WrkRun:
    rate: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    ok: int
    client_errors: int
    server_errors: int


def wrk(url: str, headers: dict[str, str], *, seconds: int = DURATION_S) -> WrkRun:
    assert WRK is not None
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    try:
        argv = [WRK, "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "5s",
                "-s", script.name]  # fmt: skip
        for name, value in headers.items():
            argv += ["-H", f"{name}: {value}"]
        out = subprocess.run(
            [*argv, url], capture_output=True, text=True, check=True, timeout=seconds + 60
        ).stdout
    finally:
        os.unlink(script.name)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    status = re.search(r"STATUS ok=(\d+) 4xx=(\d+) 5xx=(\d+)", out)
    assert status is not None, out
    pct = {int(p): float(v) for p, v in re.findall(r"PCT (\d+) ([\d.]+)", out)}
    return WrkRun(rate, pct[50], pct[90], pct[99], *(int(g) for g in status.groups()))


def show(what: str, run: WrkRun) -> str:
    return (
        f"{what:<36} {run.rate:>8,.0f} req/s  p50 {run.p50_ms:6.1f}  p90 {run.p90_ms:6.1f}  "
        f"p99 {run.p99_ms:6.1f} ms  (2xx {run.ok}, 4xx {run.client_errors}, "
        f"5xx {run.server_errors})"
    )


async def listener_with_playlist(gateway: str) -> tuple[dict[str, str], str, list[str]]:
    """A user who scrobbled ``TRACKS`` songs (resolved into the catalog by ingestion) and
    has them all in one playlist."""
    suffix = uuid.uuid4().hex[:8]
    name = f"bench-{suffix}"
    async with httpx.AsyncClient(base_url=gateway, timeout=60) as api:
        account = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
        assert (await api.post("/api/v1/auth/register", json=account)).status_code == 201
        login = await api.post("/api/v1/auth/login", json={"login": name, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        created = await api.post("/api/v1/me/api-tokens", json={"name": "b"}, headers=headers)
        token = {"Authorization": f"Token {created.json()['token']}"}
        started = int(time.time()) - 86_400
        payload = [
            {
                "listened_at": started + 300 * i,
                "track_metadata": {
                    "artist_name": f"Bench Band {suffix} {i % 10}",
                    "track_name": f"Bench Song {i}",
                    "release_name": f"Bench Album {suffix} {i % 10}",
                },
            }
            for i in range(TRACKS)
        ]
        sent = await api.post(
            "/1/submit-listens", json={"listen_type": "import", "payload": payload}, headers=token
        )
        assert sent.status_code == 200, sent.text
        tracks: list[str] = []
        for _ in range(600):
            page = await api.get("/api/v1/me/listens", params={"limit": 500}, headers=headers)
            items = page.json()["items"]
            if len(items) == TRACKS and all(x["track"]["album_id"] for x in items):
                tracks = [str(x["track"]["id"]) for x in reversed(items)]
                break
            await asyncio.sleep(0.2)
        assert len(tracks) == TRACKS, "the scrobbles did not resolve"
        made = await api.post("/api/v1/playlists", json={"name": "bench"}, headers=headers)
        playlist = made.json()["id"]
        for _ in range(600):
            added = await api.post(
                f"/api/v1/playlists/{playlist}/items", json={"track_ids": tracks}, headers=headers
            )
            if added.status_code == 201:
                break
            await asyncio.sleep(0.2)
        assert added.status_code == 201, added.text
    return headers, playlist, tracks


def child(stack: Any, name: str) -> Any:
    return next(c for c in stack.children if c.name == name)


def loaded(
    url: str, headers: dict[str, str], pids: dict[str, int]
) -> tuple[WrkRun, dict[str, float]]:
    """A wrk run and the CPU (ms per answer) each of ``pids`` spent during it."""
    before = {name: ps.cpu_seconds([pid]) for name, pid in pids.items()}
    run = wrk(url, headers)
    answers = max(1, run.ok + run.client_errors + run.server_errors)
    return run, {
        name: (ps.cpu_seconds([pid]) - before[name]) * 1000 / answers for name, pid in pids.items()
    }


def show_cpu(cpu: dict[str, float]) -> str:
    parts = ", ".join(f"{name} {ms:.2f}" for name, ms in cpu.items() if ms >= 0.05)
    return f"CPU ms/answer {sum(cpu.values()):.2f} ({parts})"


@pytest.mark.skipif(WRK is None, reason="needs wrk")
async def test_composed_playlist_read(medley_stack: Any) -> None:
    gateway = medley_stack.gateway_url
    playlists = medley_stack.service_urls["playlists"]
    headers, playlist, tracks = await listener_with_playlist(gateway)
    composed = f"{gateway}/api/v1/playlists/{playlist}?expand=tracks"
    plain = f"{playlists}/playlists/{playlist}/items?limit={TRACKS}"

    async with httpx.AsyncClient(timeout=30) as client:
        answer = (await client.get(composed, headers=headers)).json()
        assert answer["meta"]["degraded"] == []
        assert [item["track_id"] for item in answer["items"]] == tracks
        assert all(item["details"] and item["my_play_count"] == 1 for item in answer["items"])
        direct = await client.get(plain, headers=headers)
        assert direct.status_code == 200
        assert len(direct.json()["items"]) == TRACKS

    ps.heading(f"Composed playlist read ({TRACKS} tracks), {CONNECTIONS} connections, wrk")
    pids = {c.name: c.pid for c in medley_stack.children}
    await asyncio.to_thread(wrk, composed, headers, seconds=2)  # warm pools and the cache
    baseline, baseline_cpu = await asyncio.to_thread(loaded, plain, headers, pids)
    print("  " + show("playlists direct: /playlists/{id}/items", baseline))
    print(f"  {'':<36} {show_cpu(baseline_cpu)}")
    full, full_cpu = await asyncio.to_thread(loaded, composed, headers, pids)
    print("  " + show("gateway: ?expand=tracks", full))
    print(f"  {'':<36} {show_cpu(full_cpu)}")
    print(
        f"  composed/plain throughput {full.rate / baseline.rate:.2f}x (target >= 0.6); "
        f"composed p99 {full.p99_ms:.1f} ms (target <= 50); load {os.getloadavg()[0]:.1f}"
    )
    needed = CONNECTIONS / 0.050
    cores = os.cpu_count() or 1
    print(
        f"  Little's law: {CONNECTIONS} connections at p99 <= 50 ms need >= {needed:,.0f} "
        f"composed req/s, i.e. <= {cores * 1000 / needed:.2f} ms CPU per answer on {cores} "
        f"cores (PostgreSQL included); the services' own Python spends "
        f"{sum(full_cpu.values()):.2f} ms, so at most {cores * 1000 / sum(full_cpu.values()):,.0f} "
        f"req/s and a mean latency >= {CONNECTIONS * sum(full_cpu.values()) / cores:,.0f} ms here"
    )
    # A 5xx here is the deadline at work on an overloaded machine (the primary part not in
    # within compose_deadline_s is a 503): reported above, not asserted.
    assert full.ok > 0

    ingestion = child(medley_stack, "ingestion")
    await ingestion.astop(grace=5)
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            answer = (await client.get(composed, headers=headers)).json()
        assert [part["upstream"] for part in answer["meta"]["degraded"]] == ["ingestion"]
        degraded = await asyncio.to_thread(wrk, composed, headers)
    finally:
        await ingestion.restart()
    timeout_ms = float(os.environ.get("MEDLEY_GATEWAY_UPSTREAM_TIMEOUT_S", "10")) * 1000
    print("  " + show("gateway, ingestion stopped", degraded))
    print(
        f"  degraded p99 {degraded.p99_ms:.1f} ms (target <= upstream timeout + 10 = "
        f"{timeout_ms + 10:.0f} ms); 5xx {degraded.server_errors} (target 0)"
    )
    assert degraded.server_errors == 0
    assert degraded.ok > 0
