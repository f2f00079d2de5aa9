"""medley_core.http: the circuit breaker's states, and UpstreamClient against a real server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar import Litestar, Request, Response, get, post

from medley_core.http import (
    CircuitBreaker,
    CircuitOpen,
    UpstreamClient,
    UpstreamTimeout,
    UpstreamUnavailable,
    transport_failure,
)
from medley_core.tracing import bind, current_request_id


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def no_sleep(_: float) -> None:
    return None


# -- the breaker ------------------------------------------------------------------------------


def test_breaker_opens_after_consecutive_failures() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout_s=10, clock=clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.record_failure()
    assert breaker.state == "closed"
    breaker.record_success()  # a success in between resets the count
    for _ in range(3):
        assert breaker.allow()
        breaker.record_failure()
    assert breaker.state == "open"
    assert not breaker.allow()
    assert breaker.retry_after_s() == pytest.approx(10)


def test_breaker_half_open_lets_one_probe_through() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout_s=10, clock=clock)
    breaker.record_failure()
    clock.now = 9.9
    assert not breaker.allow()
    clock.now = 10
    assert breaker.state == "half_open"
    assert breaker.allow()  # the probe
    assert not breaker.allow()  # and no one else while it runs
    breaker.record_failure()  # the probe failed: open for another cool-down
    assert breaker.state == "open"
    assert not breaker.allow()
    clock.now = 20
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == "closed"
    assert breaker.allow()
    assert breaker.allow()


def test_breaker_probe_released_without_a_verdict() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout_s=1, clock=clock)
    breaker.record_failure()
    clock.now = 1
    assert breaker.allow()
    breaker.release()  # the probe was cancelled
    assert breaker.allow()


# -- the client, against a real server --------------------------------------------------------


class Upstream:
    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.fail_first: dict[str, int] = {}
        self.seen: list[dict[str, str]] = []
        self.release = asyncio.Event()

    def app(self) -> Litestar:
        upstream = self

        def count(path: str) -> int:
            upstream.calls[path] = upstream.calls.get(path, 0) + 1
            return upstream.calls[path]

        @get("/flaky")
        async def flaky(request: Request[Any, Any, Any]) -> Response[Any]:
            n = count("/flaky")
            if n <= upstream.fail_first.get("/flaky", 0):
                return Response({"status": 503}, status_code=503)
            return Response({"call": n})

        @post("/flaky-write", status_code=200)
        async def flaky_write() -> Response[Any]:
            count("/flaky-write")
            return Response({"status": 503}, status_code=503)

        @get("/broken")
        async def broken() -> Response[Any]:
            count("/broken")
            return Response({"status": 500}, status_code=500)

        @get("/missing")
        async def missing() -> Response[Any]:
            count("/missing")
            return Response({"status": 404}, status_code=404)

        @get("/echo")
        async def echo(request: Request[Any, Any, Any]) -> dict[str, Any]:
            upstream.seen.append(dict(request.headers))
            return {"query": request.url.query}

        @get("/hang")
        async def hang() -> dict[str, bool]:
            count("/hang")
            await upstream.release.wait()
            return {"ok": True}

        return Litestar(route_handlers=[flaky, flaky_write, broken, missing, echo, hang])


@pytest.fixture
async def upstream(serve: Any) -> AsyncIterator[tuple[Upstream, str]]:
    up = Upstream()
    async with serve(up.app()) as url:
        try:
            yield up, url
        finally:
            up.release.set()


async def test_reads_are_retried_on_5xx(upstream: tuple[Upstream, str]) -> None:
    up, url = upstream
    up.fail_first["/flaky"] = 2
    async with UpstreamClient("svc", url, retries=2, sleep=no_sleep) as client:
        response = await client.get("/flaky")
    assert response.status_code == 200
    assert response.json() == {"call": 3}


async def test_reads_give_up_after_the_retries(upstream: tuple[Upstream, str]) -> None:
    up, url = upstream
    async with UpstreamClient("svc", url, retries=1, sleep=no_sleep) as client:
        response = await client.get("/broken")
    assert response.status_code == 500  # returned, for the caller to relay
    assert up.calls["/broken"] == 2


async def test_writes_are_not_retried_on_5xx(upstream: tuple[Upstream, str]) -> None:
    up, url = upstream
    async with UpstreamClient("svc", url, retries=3, sleep=no_sleep) as client:
        response = await client.post("/flaky-write", json={})
    assert response.status_code == 503
    assert up.calls["/flaky-write"] == 1


async def test_4xx_is_neither_retried_nor_a_failure(upstream: tuple[Upstream, str]) -> None:
    up, url = upstream
    breaker = CircuitBreaker(failure_threshold=1)
    async with UpstreamClient("svc", url, breaker=breaker, sleep=no_sleep) as client:
        for _ in range(3):
            assert (await client.get("/missing")).status_code == 404
    assert up.calls["/missing"] == 3
    assert breaker.state == "closed"


async def test_unreachable_upstream_is_a_503_naming_it(unreachable_url: str) -> None:
    url = unreachable_url
    async with UpstreamClient("catalog", url, retries=2, sleep=no_sleep) as client:
        with pytest.raises(UpstreamUnavailable) as caught:
            await client.post("/anything", json={})
    problem = caught.value
    assert problem.status == 503
    assert problem.upstream == "catalog"
    assert problem.extensions["upstream"] == "catalog"
    assert "catalog" in problem.detail
    assert client.breaker.consecutive_failures == 3  # connection refused: retried, even a POST


async def test_circuit_opens_and_then_fails_fast(upstream: tuple[Upstream, str]) -> None:
    up, url = upstream
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout_s=30, clock=clock)
    up.fail_first["/flaky"] = 2
    async with UpstreamClient("svc", url, retries=0, breaker=breaker, sleep=no_sleep) as client:
        assert (await client.get("/flaky")).status_code == 503
        assert (await client.get("/flaky")).status_code == 503
        assert breaker.state == "open"
        with pytest.raises(CircuitOpen) as caught:
            await client.get("/flaky")
        assert up.calls["/flaky"] == 2  # not even tried
        assert caught.value.status == 503
        assert caught.value.headers["Retry-After"] == "30"
        assert caught.value.extensions["upstream"] == "svc"

        clock.now = 30  # half-open: the probe succeeds (the upstream recovered)
        assert (await client.get("/flaky")).status_code == 200
        assert breaker.state == "closed"


async def test_health_probes_bypass_the_breaker(upstream: tuple[Upstream, str]) -> None:
    _, url = upstream
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout_s=3600)
    breaker.record_failure()
    async with UpstreamClient("svc", url, breaker=breaker) as client:
        with pytest.raises(CircuitOpen):
            await client.get("/echo")
        assert (await client.get("/echo", use_breaker=False)).status_code == 200


async def test_timeout_is_a_504_naming_the_upstream(upstream: tuple[Upstream, str]) -> None:
    up, url = upstream
    async with UpstreamClient("svc", url, timeout=0.2, retries=1, sleep=no_sleep) as client:
        with pytest.raises(UpstreamTimeout) as caught:
            await client.get("/hang")
    assert caught.value.status == 504
    assert caught.value.extensions["upstream"] == "svc"
    assert up.calls["/hang"] == 2  # a read is retried once


async def test_request_id_trace_context_and_authorization_travel(
    upstream: tuple[Upstream, str],
) -> None:
    up, url = upstream
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    bind("req-123", parent)
    assert current_request_id() == "req-123"
    async with UpstreamClient("svc", url) as client:
        response = await client.get("/echo", params={"q": "x"}, authorization="Bearer abc")
        await client.get("/echo")
    assert response.json() == {"query": "q=x"}
    first, second = up.seen
    assert first["x-request-id"] == "req-123"
    assert first["traceparent"].startswith("00-0af7651916cd43dd8448eb211c80319c-")
    assert first["traceparent"] != second["traceparent"]  # a new span per call
    assert first["authorization"] == "Bearer abc"
    assert "authorization" not in second  # only when asked
    bind(None, None)


@pytest.mark.parametrize(
    ("error", "idempotent", "retryable", "problem"),
    [
        # The request never left: any method may go again.
        (httpx.ConnectError("refused"), False, True, UpstreamUnavailable),
        (httpx.ConnectTimeout("slow connect"), False, True, UpstreamUnavailable),
        (httpx.PoolTimeout("pool full"), False, True, UpstreamUnavailable),
        # It may have had its effect: only reads go again.
        (httpx.ReadTimeout("slow answer"), True, True, UpstreamTimeout),
        (httpx.ReadTimeout("slow answer"), False, False, UpstreamTimeout),
        (httpx.RemoteProtocolError("reset"), True, True, UpstreamUnavailable),
        (httpx.RemoteProtocolError("reset"), False, False, UpstreamUnavailable),
    ],
)
def test_which_transport_failures_are_retried(
    error: httpx.TransportError, idempotent: bool, retryable: bool, problem: type
) -> None:
    assert transport_failure(error, idempotent) == (retryable, problem)
