"""What the shared rate limit costs the gateway's hot path: ``GET /api/v1/me`` with ``wrk``
(50 connections) through the stack's gateway (limits on: every request spends the user's
budget, counted in NATS KV; the limit set high enough never to refuse, so the figure is the
cost and not the refusals) against a second gateway process on the same services with
limits off (the baseline), alternated in the same run.

Run with ``make bench`` (``-k ratelimit``); the figures are printed (``-s``).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from medley_local.processes import Child, await_http_ready, free_port, uvicorn_argv
from medley_local.pytest_plugin import E2E_ENV, Infra
from medley_local.services import GATEWAY, SERVICES
from medley_local.stack import child_environment

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import platform_support as ps  # noqa: E402

pytestmark = [pytest.mark.bench, pytest.mark.timeout(600)]

ROUNDS = 2
SECONDS = 10
CONNECTIONS = 50


def wrk(url: str, token: str) -> tuple[float, str, int]:
    """(requests/s, p99, non-2xx answers) of ``wrk`` on ``url``."""
    result = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{CONNECTIONS}",
            f"-d{SECONDS}s",
            "--latency",
            "-H",
            f"Authorization: Bearer {token}",
            url,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = result.stdout.splitlines()
    rate = next(float(line.split()[1]) for line in lines if line.startswith("Requests/sec"))
    p99 = next((line.split()[1] for line in lines if line.strip().startswith("99%")), "?")
    failed = next((int(line.split()[-1]) for line in lines if "Non-2xx" in line), 0)
    return rate, p99, failed


async def test_rate_limit_cost_on_get_me(medley_stack: Any, infra: Infra) -> None:
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (apt-get install wrk)")
    limited = medley_stack.gateway_url
    unlimited = f"http://127.0.0.1:{free_port('127.0.0.1')}"
    env = child_environment(
        GATEWAY,
        urls={**medley_stack.service_urls, GATEWAY.name: unlimited},
        services=SERVICES,
        credentials=infra.credentials,
        database_urls=medley_stack.database_urls,
        nats_url=medley_stack.nats_url,
        event_prefix=medley_stack.event_prefix,
        data_dir=medley_stack.data_dir,
        base_env={**os.environ, **E2E_ENV, "MEDLEY_GATEWAY_RATE_LIMIT_ENABLED": "false"},
        clients=[*SERVICES, GATEWAY],
    )
    port = int(unlimited.rsplit(":", 1)[1])
    child = Child.start(
        "gateway-unlimited",
        uvicorn_argv(GATEWAY.app, "127.0.0.1", port),
        env=env,
        sink=sys.stdout,
        ready_url=unlimited + GATEWAY.ready_path,
        ready_timeout=60,
    )
    try:
        await await_http_ready(child, unlimited + GATEWAY.ready_path, limit=60)
        async with httpx.AsyncClient(base_url=limited, timeout=30) as client:
            account = {
                "username": f"rl-{uuid.uuid4().hex[:10]}",
                "email": f"rl-{uuid.uuid4().hex[:10]}@example.com",
                "password": "correct horse battery staple",
            }
            (await client.post("/api/v1/auth/register", json=account)).raise_for_status()
            login = await client.post(
                "/api/v1/auth/login",
                json={"login": account["username"], "password": account["password"]},
            )
            token = login.json()["access_token"]
            answer = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 200
            assert "RateLimit-Remaining" in answer.headers
        ps.heading(f"GET /api/v1/me, wrk {CONNECTIONS} connections: rate limit on vs off")
        on: list[tuple[float, str, int]] = []
        off: list[tuple[float, str, int]] = []
        for _ in range(ROUNDS):
            on.append(await asyncio.to_thread(wrk, f"{limited}/api/v1/me", token))
            off.append(await asyncio.to_thread(wrk, f"{unlimited}/api/v1/me", token))
        for (rate_on, p99_on, failed_on), (rate_off, p99_off, failed_off) in zip(
            on, off, strict=True
        ):
            assert failed_on == failed_off == 0
            ps.report(
                "req/s, limits on (p99 " + p99_on + ")",
                ps.rate(rate_on, "req/s"),
                f"limits off (p99 {p99_off})",
                ps.rate(rate_off, "req/s"),
                ps.ratio(rate_on, rate_off),
            )
    finally:
        await asyncio.to_thread(child.stop, 15.0)
