"""Helpers of the platform benchmarks (``test_platform_bench.py``): load loops that stop by
themselves, percentiles, the one-line report, and a NATS server with the default sync.

Imported through a ``sys.path`` insert (``tests/bench`` is not a package), so the catalog
benchmarks' conftest, if any, is neither needed nor touched.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from nats.js import JetStreamContext

# -- figures ---------------------------------------------------------------------------------


@dataclass
class Run:
    """What one measured loop did: how many operations, in how long, each one's latency."""

    count: int
    elapsed_s: float
    latencies_s: list[float] = field(default_factory=list)
    errors: int = 0

    @property
    def rate(self) -> float:
        return self.count / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def percentile_ms(self, q: float) -> float:
        """The ``q`` (0-100) percentile latency in ms (nearest rank); 0 if nothing ran."""
        if not self.latencies_s:
            return 0.0
        ordered = sorted(self.latencies_s)
        rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
        return ordered[rank] * 1000

    @property
    def p50_ms(self) -> float:
        return self.percentile_ms(50)

    @property
    def p95_ms(self) -> float:
        return self.percentile_ms(95)

    def merge(self, other: Run) -> Run:
        return Run(
            self.count + other.count,
            self.elapsed_s + other.elapsed_s,
            self.latencies_s + other.latencies_s,
            self.errors + other.errors,
        )


def rate(value: float, unit: str) -> str:
    return f"{value:>9,.0f} {unit}"


def ms(value: float) -> str:
    return f"{value:7.2f} ms"


def ratio(figure: float, baseline: float) -> str:
    return f"{figure / baseline:6.2f}x" if baseline > 0 else "   n/a"


def report(what: str, figure: str, baseline_name: str, baseline: str, times: str) -> None:
    """One table-like line: ``what  figure  vs baseline_name baseline  = times``."""
    print(f"  {what:<44} {figure}  vs {baseline_name:<26} {baseline}  = {times}", flush=True)


def heading(title: str) -> None:
    """A section title, with the machine's load: other work on it skews every figure (the
    ratios less, as target and baseline run in the same conditions)."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\n== {title} [load {load:.1f} on {os.cpu_count()} CPUs]", flush=True)


# -- bounded load loops ----------------------------------------------------------------------


async def sequential(
    operation: Callable[[int], Awaitable[Any]], count: int, *, budget_s: float
) -> Run:
    """``operation(i)`` for i in 0..count-1, one after the other, until done or the budget is
    spent (a run that hits the budget reports fewer operations, never hangs)."""
    latencies: list[float] = []
    start = time.perf_counter()
    deadline = start + budget_s
    for i in range(count):
        began = time.perf_counter()
        if began > deadline:
            break
        await operation(i)
        latencies.append(time.perf_counter() - began)
    return Run(len(latencies), time.perf_counter() - start, latencies)


async def concurrent(
    operation: Callable[[int], Awaitable[Any]],
    count: int,
    *,
    in_flight: int,
    budget_s: float,
) -> Run:
    """``count`` operations with ``in_flight`` of them under way at any time (a sliding
    window of workers), until done or the budget is spent. Latency is per operation."""
    latencies: list[float] = []
    next_index = 0
    start = time.perf_counter()
    deadline = start + budget_s

    async def worker() -> None:
        nonlocal next_index
        while next_index < count and time.perf_counter() < deadline:
            i = next_index
            next_index += 1
            began = time.perf_counter()
            await operation(i)
            latencies.append(time.perf_counter() - began)

    await asyncio.gather(*(worker() for _ in range(min(in_flight, count))))
    return Run(len(latencies), time.perf_counter() - start, latencies)


async def publish_run(
    js: JetStreamContext,
    subject: str,
    bodies: Sequence[bytes],
    headers: Sequence[dict[str, str]] | None,
    *,
    in_flight: int,
    budget_s: float,
    timeout_s: float = 30.0,
) -> Run:
    """Publish ``bodies`` with acks: one at a time (``in_flight=1``) or pipelined."""

    async def publish(i: int) -> None:
        ack = await js.publish(
            subject, bodies[i], timeout=timeout_s, headers=headers[i] if headers else None
        )
        assert not ack.duplicate

    if in_flight <= 1:
        return await sequential(publish, len(bodies), budget_s=budget_s)
    return await concurrent(publish, len(bodies), in_flight=in_flight, budget_s=budget_s)


async def http_run(
    client: httpx.AsyncClient,
    url: str,
    *,
    count: int,
    in_flight: int,
    budget_s: float,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> Run:
    """GET ``url`` ``count`` times (``in_flight`` at once); every answer must be a 200."""
    failures = 0

    async def get(_i: int) -> None:
        nonlocal failures
        response = await client.get(url, headers=headers, params=params)
        if response.status_code != 200:
            failures += 1

    if in_flight <= 1:
        run = await sequential(get, count, budget_s=budget_s)
    else:
        run = await concurrent(get, count, in_flight=in_flight, budget_s=budget_s)
    run.errors = failures
    return run


async def alternating(
    target: Callable[[int], Awaitable[Run]],
    baseline: Callable[[int], Awaitable[Run]],
    *,
    count: int,
    rounds: int,
) -> tuple[Run, Run]:
    """Run target and baseline in alternating rounds of ``count / rounds`` operations, so a
    slow moment of the machine (another process, a GC pause) falls on both alike."""
    per_round = max(1, count // rounds)
    target_total = Run(0, 0.0)
    baseline_total = Run(0, 0.0)
    for _ in range(rounds):
        baseline_total = baseline_total.merge(await baseline(per_round))
        target_total = target_total.merge(await target(per_round))
    return target_total, baseline_total


@dataclass(frozen=True)
class ServerSync:
    version: str
    sync_always: bool
    sync_interval_s: float


async def jetstream_sync(monitor_url: str) -> ServerSync:
    """The running server's version and JetStream sync, as it reports them (``/varz``)."""
    async with httpx.AsyncClient(timeout=5) as client:
        varz = (await client.get(f"{monitor_url}/varz")).json()
    config = varz["jetstream"]["config"]
    return ServerSync(
        str(varz["version"]),
        bool(config.get("sync_always", False)),
        float(config.get("sync_interval", 0)) / 1e9,
    )


# -- native load: wrk ------------------------------------------------------------------------

WRK = "/usr/bin/wrk"
_WRK_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


@dataclass(frozen=True)
class WrkRun:
    """What one ``wrk`` run reported: requests/s, latency percentiles, non-2xx and errors."""

    requests: int
    rate: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int

    def merge(self, other: WrkRun) -> WrkRun:
        """Two runs as one: rates averaged by requests, the worse of each percentile."""
        total = self.requests + other.requests
        seconds = (self.requests / self.rate if self.rate else 0.0) + (
            other.requests / other.rate if other.rate else 0.0
        )
        return WrkRun(
            total,
            total / seconds if seconds else 0.0,
            max(self.p50_ms, other.p50_ms),
            max(self.p99_ms, other.p99_ms),
            self.non_2xx + other.non_2xx,
            self.socket_errors + other.socket_errors,
        )


def _wrk_ms(value: str) -> float:
    for unit in ("us", "ms", "s", "m"):
        if value.endswith(unit):
            return float(value[: -len(unit)]) * _WRK_UNITS[unit]
    return float(value)


def parse_wrk(output: str) -> WrkRun:
    """The figures of ``wrk --latency`` output."""
    requests, rate, non_2xx, socket_errors = 0, 0.0, 0, 0
    percentiles: dict[str, float] = {}
    for raw in output.splitlines():
        line = raw.strip()
        parts = line.split()
        if line.startswith("Requests/sec:"):
            rate = float(parts[1])
        elif " requests in " in line:
            requests = int(parts[0])
        elif line.startswith("Non-2xx or 3xx responses:"):
            non_2xx = int(parts[-1])
        elif line.startswith("Socket errors:"):
            socket_errors = sum(int(p.rstrip(",")) for p in parts if p.rstrip(",").isdigit())
        elif len(parts) == 2 and parts[0] in ("50%", "99%"):
            percentiles[parts[0]] = _wrk_ms(parts[1])
    return WrkRun(
        requests, rate, percentiles.get("50%", 0.0), percentiles.get("99%", 0.0), non_2xx,
        socket_errors,
    )  # fmt: skip


async def wrk(
    url: str,
    *,
    connections: int,
    duration_s: float,
    headers: dict[str, str] | None = None,
    threads: int = 1,
) -> WrkRun:
    """``wrk`` against ``url`` (keep-alive, ``connections`` open, one thread by default: the
    load generator shares the two cores with the servers, so it is kept as small as can
    still saturate them)."""
    argv = [
        WRK, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration_s))}s",
        "--latency", "--timeout", "10s",
    ]  # fmt: skip
    for name, value in (headers or {}).items():
        argv += ["-H", f"{name}: {value}"]
    argv.append(url)
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await process.communicate()
    text = output.decode()
    assert process.returncode == 0, text
    return parse_wrk(text)


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU time the processes ``pids`` have used so far (Linux ``/proc``)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


async def wrk_alternating(
    sides: dict[str, tuple[str, dict[str, str] | None]],
    *,
    connections: int,
    round_s: float,
    rounds: int,
    warmup_s: float = 2.0,
    servers: dict[str, Sequence[int]] | None = None,
) -> tuple[dict[str, WrkRun], dict[str, float]]:
    """Each side (``name: (url, headers)``) warmed, then loaded in ``rounds`` alternating
    rounds of ``round_s``, so a slow moment of the machine falls on every side alike.

    Also the server CPU each side's requests cost, in ms per request, for the sides named in
    ``servers`` (their processes' ids): unlike requests/s, that hardly moves with the load
    other work puts on the machine."""
    for url, headers in sides.values():
        await wrk(url, connections=connections, duration_s=warmup_s, headers=headers)
    runs: dict[str, WrkRun] = {}
    cpu: dict[str, float] = {}
    for _ in range(rounds):
        for name, (url, headers) in sides.items():
            pids = (servers or {}).get(name, ())
            before = cpu_seconds(pids)
            run = await wrk(url, connections=connections, duration_s=round_s, headers=headers)
            cpu[name] = cpu.get(name, 0.0) + cpu_seconds(pids) - before
            runs[name] = runs[name].merge(run) if name in runs else run
    cpu_ms = {
        name: cpu[name] * 1000 / runs[name].requests
        for name in (servers or {})
        if runs[name].requests
    }
    return runs, cpu_ms
