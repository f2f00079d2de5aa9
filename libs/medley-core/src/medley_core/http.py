"""Calling another Medley service over HTTP: pooled, bounded, retried, and fail-fast.

One :class:`UpstreamClient` per upstream service, kept for the life of the process:

* one pooled ``httpx.AsyncClient`` (keep-alive, connection limits, timeouts) over
  :mod:`medley_core.http_transport`, a lean HTTP/1.1 transport for service-to-service calls;
* idempotent reads (GET, HEAD) are retried on connection errors, timeouts and 5xx answers
  with a small jittered exponential backoff; any method is retried when the connection
  could not even be opened (the request never left);
* a :class:`CircuitBreaker`: after ``failure_threshold`` consecutive failures the upstream is
  considered down for ``reset_timeout_s`` and calls fail at once; then one probe call is let
  through (half-open), and its outcome closes or re-opens the circuit;
* the request id and W3C trace context of the current request travel along
  (:func:`medley_core.tracing.propagation_headers`), and the caller's ``Authorization`` when
  the call passes it.

Failures surface as problem exceptions naming the upstream, which every Medley app already
renders: :class:`UpstreamUnavailable` (503: unreachable, circuit open, or answering 5xx) and
:class:`UpstreamTimeout` (504). An upstream's own 4xx/5xx answers are returned, not raised:
the caller decides whether to pass them through.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import re
import time
from collections.abc import AsyncIterable, Awaitable, Callable, Mapping
from typing import Any, Literal

import httpx
import msgspec
from opentelemetry.trace import SpanKind, Status, StatusCode

from medley_core import tracing
from medley_core.errors import Problem, ServiceUnavailable
from medley_core.http_transport import KeepAliveTransport, keep_alive_transport
from medley_core.metrics import count_upstream_error, watch_breaker
from medley_core.tracing import propagation_headers

log = logging.getLogger("medley.http")

IDEMPOTENT_READS = frozenset({"GET", "HEAD"})
# Answers that mean "the upstream (or what is in front of it) is not working", as opposed
# to "your request is wrong" or "this particular request hit a bug".
UNAVAILABLE_STATUSES = frozenset({502, 503, 504})

DEFAULT_TIMEOUT = httpx.Timeout(connect=2.0, read=10.0, write=10.0, pool=2.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100)

CircuitState = Literal["closed", "open", "half_open"]


class UpstreamUnavailable(ServiceUnavailable):
    """The upstream cannot be reached, is failing, or its circuit is open (503)."""

    slug = "upstream-unavailable"

    def __init__(self, upstream: str, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail or f"the {upstream} service is unavailable", **kwargs)
        self.upstream = upstream
        self.extensions["upstream"] = upstream


class CircuitOpen(UpstreamUnavailable):
    """Calls are not even tried: the upstream failed too often, too recently."""

    slug = "upstream-unavailable"

    def __init__(self, upstream: str, retry_after_s: float) -> None:
        seconds = max(1, math.ceil(retry_after_s))
        super().__init__(
            upstream,
            f"the {upstream} service is unavailable (circuit open)",
            headers={"Retry-After": str(seconds)},
        )


class UpstreamTimeout(Problem):
    """The upstream did not answer in time (504)."""

    status = 504
    slug = "upstream-timeout"

    def __init__(self, upstream: str, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail or f"the {upstream} service did not answer in time", **kwargs)
        self.upstream = upstream
        self.extensions["upstream"] = upstream


class CircuitBreaker:
    """Closed → (``failure_threshold`` consecutive failures) → open → (``reset_timeout_s``)
    → half-open: one probe; success closes, failure re-opens for another cool-down.

    Not thread-safe; one event loop uses it. The clock is injectable for tests.
    """

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        reset_timeout_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        self.failure_threshold = failure_threshold
        self.reset_timeout_s = reset_timeout_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> CircuitState:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.reset_timeout_s:
            return "half_open"
        return "open"

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def retry_after_s(self) -> float:
        if self._opened_at is None:
            return 0.0
        return max(0.0, self._opened_at + self.reset_timeout_s - self._clock())

    def allow(self) -> bool:
        """May a call go out now? In half-open, only one probe at a time is let through."""
        state = self.state
        if state == "closed":
            return True
        if state == "open" or self._probing:
            return False
        self._probing = True
        return True

    def record_success(self) -> None:
        if self._opened_at is not None:
            log.info("circuit closed again")
        self._failures = 0
        self._opened_at = None
        self._probing = False

    def record_failure(self) -> None:
        self._failures += 1
        if self._probing or (self._opened_at is None and self._failures >= self.failure_threshold):
            self._opened_at = self._clock()
        self._probing = False

    def release(self) -> None:
        """The probe ended without a verdict (cancelled): let another one try."""
        self._probing = False


class UpstreamClient:
    """One upstream service: a pooled client, retries, a circuit breaker, propagation."""

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        limits: httpx.Limits = DEFAULT_LIMITS,
        retries: int = 2,
        backoff_s: float = 0.05,
        max_backoff_s: float = 0.5,
        breaker: CircuitBreaker | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.retries = max(0, retries)
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.breaker = breaker or CircuitBreaker()
        self._sleep = sleep
        lean = keep_alive_transport(limits) if transport is None else None
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=timeout,
            limits=limits,
            # The lean keep-alive transport unless a test brings its own.
            transport=transport or lean,
            follow_redirects=False,
            headers={"User-Agent": "medley-upstream-client"},
        )
        self._direct = _Direct.over(lean, self._client) if lean is not None else None
        watch_breaker(name, self.breaker)
        if tracing.tracing_enabled():
            # A client span around each call, bound here (tracing is configured when the
            # app is built, before its clients) so an untraced process pays nothing per call.
            self.request = self._traced(self.request)  # type: ignore[method-assign,assignment]

    def __repr__(self) -> str:
        return f"UpstreamClient({self.name!r}, {self.base_url!r}, circuit={self.breaker.state})"

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> UpstreamClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    def _backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2^attempt)]."""
        return random.uniform(0, min(self.max_backoff_s, self.backoff_s * 2**attempt))

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | AsyncIterable[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
        authorization: str | None = None,
        timeout: httpx.Timeout | float | None = None,  # noqa: ASYNC109 (per-phase, as httpx)
        use_breaker: bool = True,
        retries: int | None = None,
    ) -> httpx.Response:
        """Call the upstream; the whole body is read. 4xx/5xx answers are returned.

        ``authorization`` is sent as the ``Authorization`` header (pass the caller's to act
        on their behalf, or a service token). ``use_breaker=False`` bypasses the circuit
        breaker (health probes should see the real state). Raises :class:`UpstreamUnavailable`
        / :class:`CircuitOpen` / :class:`UpstreamTimeout`.
        """
        method = method.upper()
        idempotent = method in IDEMPOTENT_READS
        max_retries = self.retries if retries is None else max(0, retries)
        if content is not None and not isinstance(content, bytes):
            max_retries = 0  # a streamed body is read once: it cannot be sent again
        outgoing: dict[str, str] = {**propagation_headers(), **(headers or {})}
        if authorization:
            outgoing["Authorization"] = authorization
        extra: dict[str, Any] = {}
        if timeout is not None:
            extra["timeout"] = timeout

        attempt = 0
        while True:
            if use_breaker and not self.breaker.allow():
                count_upstream_error(self.name, "circuit_open")
                raise CircuitOpen(self.name, self.breaker.retry_after_s())
            verdict_given = False
            try:
                try:
                    direct = self._direct
                    payload = (
                        direct.payload(method, path, params, json, content, outgoing)
                        if direct is not None
                        else None
                    )
                    if direct is not None and payload is not None:
                        response = await direct.send(method, payload, timeout)
                    else:
                        response = await self._client.request(
                            method,
                            path,
                            params=params,
                            json=json,
                            content=content,
                            headers=outgoing,
                            **extra,
                        )
                except httpx.TransportError as exc:
                    self._failed(use_breaker, exc)
                    verdict_given = True
                    retryable, problem = transport_failure(exc, idempotent)
                    if retryable and attempt < max_retries:
                        attempt += 1
                        await self._sleep(self._backoff(attempt))
                        continue
                    raise problem(self.name) from exc

                if response.status_code in UNAVAILABLE_STATUSES:
                    self._failed(use_breaker, f"HTTP {response.status_code}")
                else:
                    if use_breaker:
                        self.breaker.record_success()
                verdict_given = True
                if (
                    idempotent
                    and response.status_code >= 500
                    and response.status_code != 501
                    and attempt < max_retries
                ):
                    attempt += 1
                    await self._sleep(self._backoff(attempt))
                    continue
                return response
            finally:
                if use_breaker and not verdict_given:
                    self.breaker.release()

    def _traced(
        self, request: Callable[..., Awaitable[httpx.Response]]
    ) -> Callable[..., Awaitable[httpx.Response]]:
        """``request`` inside a client span (retries included), whose context the upstream
        receives as its parent; named ``GET catalog`` (the path is an attribute, bounded)."""

        async def traced(method: str, path: str, **kwargs: Any) -> httpx.Response:
            attributes = {
                "http.request.method": method.upper(),
                "server.address": self.base_url,
                "url.path": path,
                "medley.upstream": self.name,
            }
            with tracing.span(
                f"{method.upper()} {self.name}", SpanKind.CLIENT, attributes=attributes
            ) as span:
                response = await request(method, path, **kwargs)
                if span is not None:
                    span.set_attribute("http.response.status_code", response.status_code)
                    if response.status_code >= 500:
                        span.set_status(Status(StatusCode.ERROR))
                return response

        return traced

    def _failed(self, use_breaker: bool, reason: object) -> None:
        log.warning("call to %s failed: %s", self.name, reason)
        count_upstream_error(self.name, _failure_reason(reason))
        if use_breaker:
            before = self.breaker.state
            self.breaker.record_failure()
            if before != "open" and self.breaker.state == "open":
                log.error("circuit to %s opened for %.1fs", self.name, self.breaker.reset_timeout_s)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def head(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("HEAD", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PUT", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("DELETE", path, **kwargs)


# What httpx sends as it is in a request target (it percent-encodes anything else, and
# resolves dot segments: such targets still go through httpx).
_PLAIN_TARGET = re.compile(r"/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*\Z")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class _Direct:
    """The requests an :class:`UpstreamClient` writes itself onto its keep-alive transport:
    the same bytes httpx would send (its default headers, the client's, ``Host``,
    ``Content-Length``, a JSON body's ``Content-Type``) without building an
    ``httpx.Request``. What it cannot write exactly as httpx would (a HEAD, a streamed
    body, a target httpx would re-encode or normalise, a non-ASCII header, a path with a
    query *and* ``params``) goes through the ``httpx.AsyncClient`` as before."""

    def __init__(
        self,
        transport: KeepAliveTransport,
        key: tuple[str, int],
        prefix: str,
        defaults: dict[str, str],
        timeouts: dict[str, float | None],
    ) -> None:
        self.transport = transport
        self.key = key
        self.prefix = prefix
        self.defaults = defaults
        self.timeouts = timeouts

    @classmethod
    def over(cls, transport: KeepAliveTransport, client: httpx.AsyncClient) -> _Direct | None:
        url = client.base_url
        if url.scheme != "http" or not url.host or url.query:
            return None
        defaults = {"Host": url.netloc.decode("ascii")}
        defaults.update(client.headers.items())
        return cls(
            transport,
            (url.host, url.port or 80),
            url.raw_path.decode("ascii").rstrip("/"),
            defaults,
            client.timeout.as_dict(),
        )

    def payload(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json: Any,
        content: bytes | AsyncIterable[bytes] | None,
        headers: Mapping[str, str],
    ) -> bytes | None:
        """The request's bytes, or None when httpx should write it."""
        if method == "HEAD" or (content is not None and not isinstance(content, bytes)):
            return None
        if params:
            if "?" in path:
                return None  # httpx merges the two queries: let it
            query = str(httpx.QueryParams(params))
            if query:
                path = f"{path}?{query}"
        if _PLAIN_TARGET.match(path) is None or "/." in path.partition("?")[0]:
            return None
        body = content
        lines = dict(self.defaults)
        lower = {name.lower(): name for name in lines}
        if body is None and json is not None:
            body = msgspec.json.encode(json)
            lines["Content-Type"] = "application/json"
            lower["content-type"] = "Content-Type"
        for name, value in headers.items():
            # A header given replaces the default of the same name, whatever its case.
            if (known := lower.get(name.lower())) is not None and known != name:
                del lines[known]
            lines[name] = value
            lower[name.lower()] = name
        if body or method in _BODY_METHODS:
            for name in [n for n in lines if n.lower() == "content-length"]:
                del lines[name]
            lines["Content-Length"] = str(len(body or b""))
        head = "".join([f"{n}: {v}\r\n" for n, v in lines.items()])
        try:
            raw = f"{method} {self.prefix}{path} HTTP/1.1\r\n{head}\r\n".encode("ascii")
        except UnicodeEncodeError:
            return None  # httpx refuses or encodes such a header its own way
        return raw + body if body else raw

    async def send(
        self,
        method: str,
        payload: bytes,
        timeout: httpx.Timeout | float | None,  # noqa: ASYNC109 (per-phase, as httpx)
    ) -> httpx.Response:
        timeouts = self.timeouts if timeout is None else httpx.Timeout(timeout).as_dict()
        return await self.transport.send(self.key, method.encode("ascii"), payload, timeouts)


def _failure_reason(reason: object) -> str:
    """The ``reason`` label of a failed call: what went wrong, from a small fixed set."""
    if isinstance(reason, httpx.TimeoutException):
        return "timeout"
    if isinstance(reason, httpx.TransportError):
        return "transport"
    return "unavailable"  # a 502/503/504 answer


def transport_failure(
    exc: httpx.TransportError, idempotent: bool
) -> tuple[bool, type[UpstreamUnavailable] | type[UpstreamTimeout]]:
    """Whether a failed call may be tried again, and the problem to raise if not."""
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        # The request never left: any method may be tried again.
        return True, UpstreamUnavailable
    if isinstance(exc, httpx.TimeoutException):
        return idempotent, UpstreamTimeout
    # Connection reset mid-request, protocol errors: the request may have had its effect,
    # so only reads are repeated.
    return idempotent, UpstreamUnavailable
