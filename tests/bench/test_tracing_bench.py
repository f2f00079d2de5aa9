"""What tracing costs a request: the same app served with tracing off (the default) and on.

The app has every service's request middleware (request context, Prometheus, decoding
guard) and one route; ``wrk`` drives it at 50 connections, off and on alternating, twice,
in one run. "On" records a server span per request through the SDK's batch processor (as
with an OTLP endpoint) into an exporter that drops them, so no collector's speed counts.

Run: ``make bench`` or ``uv run --frozen pytest tests/bench -p no:cacheprovider -s
--override-ini="norecursedirs=" -m bench -k tracing``.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.bench

ROUNDS = 2
DURATION_S = 8
CONNECTIONS = 50

SERVER = """
import sys
import uvicorn
from litestar import Litestar, get
from litestar.plugins.prometheus import PrometheusConfig
from medley_core import tracing
from medley_core.decoding import DecodingGuardMiddleware

traced, port = sys.argv[1] == "on", int(sys.argv[2])
if traced:
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    class Dropped(SpanExporter):
        def export(self, spans):
            return SpanExportResult.SUCCESS

    # The batch processor production uses (tests' in-memory exporter exports synchronously).
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Dropped()))
    tracing._provider, tracing._tracer = provider, provider.get_tracer("medley")

@get("/things/{key:str}", sync_to_thread=False)
def thing(key: str) -> dict[str, str]:
    return {"key": key}

metrics = PrometheusConfig(app_name="bench", prefix="medley", group_path=True)
middleware = [tracing.RequestContextMiddleware, metrics.middleware, DecodingGuardMiddleware]
app = Litestar([thing], middleware=middleware)
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def measure(mode: str, script: Path) -> tuple[float, str]:
    """(requests/s, p99) of ``wrk`` against the app served with tracing ``mode``."""
    port = free_port()
    server = subprocess.Popen([sys.executable, str(script), mode, str(port)])
    try:
        url = f"http://127.0.0.1:{port}/things/abc"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the bench app did not start"
            time.sleep(0.1)
        out = subprocess.run(
            ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION_S}s", "--latency", url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        server.terminate()
        server.wait(10)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"99%\s+(\S+)", out)
    assert rate is not None, out
    assert p99 is not None, out
    return float(rate.group(1)), p99.group(1)


def test_tracing_off_and_on(tmp_path: Path) -> None:
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (apt-get install wrk)")
    script = tmp_path / "traced_app.py"
    script.write_text(SERVER)
    results: dict[str, list[tuple[float, str]]] = {"off": [], "on": []}
    for _ in range(ROUNDS):
        for mode in ("off", "on"):
            results[mode].append(measure(mode, script))
    off = sum(rate for rate, _ in results["off"]) / ROUNDS
    on = sum(rate for rate, _ in results["on"]) / ROUNDS
    print(f"\ntracing, wrk -c{CONNECTIONS} -d{DURATION_S}s, {ROUNDS} alternating rounds:")
    for mode in ("off", "on"):
        runs = ", ".join(f"{rate:,.0f} req/s (p99 {p99})" for rate, p99 in results[mode])
        print(f"  tracing {mode:3}: {runs}")
    print(f"  on / off (baseline: off, the default): {on / off:.2f}x")
    assert off > 0
    assert on > 0
