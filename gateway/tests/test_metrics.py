"""The gateway's ``/metrics`` (upstream errors, circuit states, requests by route template),
and the Grafana dashboard under ``deploy/``: every metric it queries is one a service or the
gateway exposes."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import httpx

from medley_core.testing.metrics import scrape, value
from medley_core.testing.tokens import TokenMint, bearer
from medley_gateway.app import create_app
from medley_gateway.routing import PUBLIC, Group
from medley_gateway.settings import GatewaySettings
from medley_gateway.upstreams import UPSTREAMS

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "medley.json"
METRICS_TOKEN = "scraper-token-0123456789"
SCRAPER = bearer(METRICS_TOKEN)
THINGS = Group("/api/v1/things", "catalog", "/things", PUBLIC)


def dashboard_metrics() -> set[str]:
    """The metric names the dashboard's queries use."""
    dashboard = json.loads(DASHBOARD.read_text())
    exprs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("expr"), str):
                exprs.append(node["expr"])
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(dashboard)
    assert exprs, "the dashboard has no queries"
    return {name for expr in exprs for name in re.findall(r"\bmedley_[a-z0-9_]+\b", expr)}


async def test_gateway_counts_upstream_errors_and_shows_open_circuits(
    keys: TokenMint, serve: Any, unreachable_url: str
) -> None:
    settings = GatewaySettings(
        users_url=unreachable_url,
        upstream_urls={spec.name: unreachable_url for spec in UPSTREAMS},
        metrics_token=METRICS_TOKEN,
        circuit_failure_threshold=1,
        upstream_retries=0,
        log_json=False,
        log_level="ERROR",
    )
    errors = "medley_upstream_errors_total"
    route = {"app_name": "medley_gateway", "path": "/api/v1/me", "status_code": "503"}
    async with (
        serve(create_app(settings, verifier=keys.verifier()), lifespan="on") as url,
        httpx.AsyncClient(base_url=url, timeout=10) as client,
    ):

        async def counts() -> tuple[float, float, float]:
            """(transport failures, calls refused by the open circuit, 503s on /me) so far:
            the registry is the process's, shared with the other tests' gateways."""
            response = await client.get("/metrics", headers=SCRAPER)
            assert response.status_code == 200
            samples = scrape(response.text)[1]
            return (
                samples.get(
                    (errors, frozenset({("upstream", "users"), ("reason", "transport")})), 0
                ),
                samples.get(
                    (errors, frozenset({("upstream", "users"), ("reason", "circuit_open")})), 0
                ),
                sum(
                    v
                    for (n, ls), v in samples.items()
                    if n == "medley_requests_total" and set(route.items()) <= ls
                ),
            )

        before = await counts()
        me = await client.get("/api/v1/me", headers=bearer(keys.user_token()))
        assert me.status_code == 503  # unreachable, and the circuit opens
        again = await client.get("/api/v1/me", headers=bearer(keys.user_token()))
        assert again.status_code == 503  # refused at once: the circuit is open
        assert (await client.get("/metrics")).status_code == 401
        after = await counts()
        response = await client.get("/metrics", headers=SCRAPER)
        samples = scrape(response.text)[1]

    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 2]
    assert value(samples, "medley_upstream_circuit_state", upstream="users") == 2


async def test_the_dashboard_queries_only_metrics_the_services_expose(
    thing_service: Any, keys: TokenMint, serve: Any
) -> None:
    """Scrape a service (built by the shared app factory) and the gateway after a request
    went through both and its event was handled: every name on the dashboard is there."""
    async with serve(thing_service.app(), lifespan="on") as service_url:
        settings = GatewaySettings(
            users_url=service_url,
            upstream_urls={spec.name: service_url for spec in UPSTREAMS},
            metrics_token=METRICS_TOKEN,
            log_json=False,
            log_level="WARNING",
        )
        routes = (THINGS.post("", summary="Make a thing", answer="Made.", status=201),)
        gateway = create_app(settings, verifier=keys.verifier(), routes=routes)
        async with (
            serve(gateway, lifespan="on") as gateway_url,
            httpx.AsyncClient(timeout=10) as client,
        ):
            made = await client.post(f"{gateway_url}/api/v1/things", json={"key": "k"})
            assert made.status_code == 201, made.text
            await asyncio.wait_for(thing_service.handled.wait(), 20)
            from_service = await client.get(f"{service_url}/metrics")
            from_gateway = await client.get(f"{gateway_url}/metrics", headers=SCRAPER)
    assert from_service.status_code == from_gateway.status_code == 200
    exposed = scrape(from_service.text)[0] | scrape(from_gateway.text)[0]
    missing = sorted(dashboard_metrics() - exposed)
    assert missing == [], f"the dashboard queries metrics nothing exposes: {missing}"
