"""One trace from a client's request to the consumer of the event it caused.

Real servers in this process (so the SDK's in-memory exporter sees every span): the gateway
and a service built by the same app factory as every Medley service, both on uvicorn; real
PostgreSQL (the outbox) and real NATS JetStream (the relay publishes, a durable consumer
handles). The request goes client → gateway → service, which writes an event; the relay
publishes it and the service's consumer handles it.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Callable
from typing import Any

import httpx
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

from medley_core.testing.tokens import TokenMint
from medley_core.testing.traces import recording_spans, span_named
from medley_gateway.app import create_app
from medley_gateway.routing import PUBLIC, Group
from medley_gateway.settings import GatewaySettings
from medley_gateway.upstreams import UPSTREAMS

THINGS = Group("/api/v1/things", "catalog", "/things", PUBLIC)


async def until(check: Callable[[], bool], timeout_s: float = 20.0) -> None:
    """Wait for an outcome (only the deadline is a bound, not a timing assertion)."""
    async with asyncio.timeout(timeout_s):
        # Polling on purpose: a span ends inside the SDK, which signals nothing to wait on.
        while not check():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


async def test_one_trace_joins_gateway_service_outbox_relay_and_consumer(
    thing_service: Any, keys: TokenMint, serve: Any
) -> None:
    with recording_spans() as exporter:
        async with serve(thing_service.app(), lifespan="on") as service_url:
            settings = GatewaySettings(
                users_url=service_url,
                upstream_urls={spec.name: service_url for spec in UPSTREAMS},
                log_json=False,
                log_level="WARNING",
            )
            gateway = create_app(
                settings,
                verifier=keys.verifier(),
                routes=(THINGS.post("", summary="Make a thing", answer="Made.", status=201),),
            )
            async with (
                serve(gateway, lifespan="on") as gateway_url,
                httpx.AsyncClient(base_url=gateway_url, timeout=10) as client,
            ):
                response = await client.post("/api/v1/things", json={"key": "k1"})
                assert response.status_code == 201, response.text
                assert response.json() == {"key": "k1"}
                await asyncio.wait_for(thing_service.handled.wait(), 20)
                consumer_name = f"process {thing_service.event_type}"
                await until(
                    lambda: any(s.name == consumer_name for s in exporter.get_finished_spans()),
                )
        spans = exporter.get_finished_spans()

    gateway_server = span_named(spans, "POST /api/v1/things")
    gateway_client = span_named(spans, "POST catalog")
    service_server = span_named(spans, "POST /things")
    outbox_write = span_named(spans, "outbox write")
    publish = span_named(spans, f"publish {thing_service.event_type}")
    consume = span_named(spans, f"process {thing_service.event_type}")
    chain = [gateway_server, gateway_client, service_server, outbox_write, publish, consume]

    # One trace, each step the child of the one before it.
    trace_ids = {span.context.trace_id for span in chain}
    assert len(trace_ids) == 1
    assert gateway_server.parent is None
    for parent, child in itertools.pairwise(chain):
        assert parent_of(child) == parent.context.span_id, f"{child.name} under {parent.name}"
    assert [span.kind for span in chain] == [
        SpanKind.SERVER,
        SpanKind.CLIENT,
        SpanKind.SERVER,
        SpanKind.INTERNAL,
        SpanKind.PRODUCER,
        SpanKind.CONSUMER,
    ]
    assert gateway_server.attributes is not None
    assert gateway_server.attributes["http.route"] == "/api/v1/things"
    assert gateway_server.attributes["http.response.status_code"] == 201
    assert service_server.attributes is not None
    assert service_server.attributes["http.response.status_code"] == 201

    # What the client sees names the same trace: the gateway's span is the response's.
    match = re.fullmatch(
        r"00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}", response.headers["traceparent"]
    )
    assert match is not None
    assert int(match.group(1), 16) == gateway_server.context.trace_id
    assert int(match.group(2), 16) == gateway_server.context.span_id
    assert response.headers["x-request-id"]


async def test_a_callers_traceparent_is_the_gateways_parent(keys: TokenMint, serve: Any) -> None:
    """A client already tracing (its own traceparent) gets the gateway's span under it, and
    the answer's traceparent names that span."""
    caller_trace, caller_span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    settings = GatewaySettings(log_json=False, log_level="WARNING")
    with recording_spans() as exporter:
        async with (
            serve(create_app(settings, verifier=keys.verifier()), lifespan="on") as url,
            httpx.AsyncClient(base_url=url, timeout=10) as client,
        ):
            response = await client.get(
                "/health/live", headers={"traceparent": f"00-{caller_trace}-{caller_span}-01"}
            )
        assert response.status_code == 200
        spans = exporter.get_finished_spans()
    server = span_named(spans, "GET /health/live")
    assert server.kind == SpanKind.SERVER
    assert server.context.trace_id == int(caller_trace, 16)
    assert parent_of(server) == int(caller_span, 16)
    assert response.headers["traceparent"] == (
        f"00-{caller_trace}-{server.context.span_id:016x}-01"
    )
