"""Medley's own Prometheus metrics, and the per-route request metrics of every service.

Per route (:class:`RequestMetricsMiddleware`, the families and labels of Litestar's
Prometheus plugin, which the gateway uses): ``medley_requests_total``,
``medley_request_duration_seconds``, ``medley_requests_in_progress`` and
``medley_requests_error_total``, labelled ``method``, ``path`` (the route template),
``status_code`` and ``app_name``.

Families (every name is what ``/metrics`` shows and ``deploy/grafana/medley.json`` queries):

* ``medley_upstream_errors_total{upstream, reason}``: failed calls to another service
  (``timeout``, ``transport``, ``unavailable`` for a 502/503/504 answer, ``circuit_open``);
* ``medley_upstream_circuit_state{upstream}``: 0 closed, 1 half-open, 2 open;
* ``medley_events_published_total{service}``: events the relay got JetStream to store;
* ``medley_events_handled_total{service, stream, outcome}``: consumer outcomes
  (``applied``, ``duplicate``, ``retried``, ``dead_lettered``);
* ``medley_outbox_unpublished_events{service}`` and
  ``medley_outbox_oldest_unpublished_age_seconds{service}``: the outbox lag;
* ``medley_consumer_pending_messages{service, stream}`` and
  ``medley_consumer_ack_pending_messages{service, stream}``: the consumer lag (JetStream's
  count of messages not yet delivered, and delivered but not acknowledged);
* ``medley_dead_letters{service}``: dead letters not replayed;
* ``medley_listens_imported_total{source}``: listens stored by imports.

Besides the request metrics, nothing here runs on a request's path while all is well:
counters move on failures, per batch or per chunk; states and lags are read when Prometheus
scrapes (the lags with one bounded query each, :func:`sample_event_metrics`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from litestar.enums import ScopeType
from litestar.plugins.prometheus.middleware import PrometheusMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from medley_core.events.tables import tables_for

if TYPE_CHECKING:
    from medley_core.events.runtime import EventRuntime
    from medley_core.http import CircuitBreaker

log = logging.getLogger("medley.metrics")

# How long one scrape may spend reading lags before it reports them as unknown.
SAMPLE_TIMEOUT_S = 2.0
# Scrapes closer together than this reuse the last reading: however often (and by however
# many scrapers) /metrics is asked, the database and NATS see one reading a second.
MIN_SAMPLE_INTERVAL_S = 1.0
# The unpublished count stops here: a backlog that large is "very large", and counting
# further would make each scrape slower the worse things are.
OUTBOX_COUNT_CAP = 1_000_000

CIRCUIT_STATES = {"closed": 0, "half_open": 1, "open": 2}

UPSTREAM_ERRORS = Counter(
    "medley_upstream_errors",
    "Failed calls to an upstream service, by reason",
    ["upstream", "reason"],
)
LISTENS_IMPORTED = Counter(
    "medley_listens_imported",
    "Listens stored by imports (duplicates skipped are not counted)",
    ["source"],
)


# --- requests, per route --------------------------------------------------------------------

# The label names of Litestar's plugin, in its order (the gateway's requests share the families).
_REQUEST_LABELS = ("method", "path", "status_code", "app_name")
_Family = TypeVar("_Family", bound=MetricWrapperBase)


def _request_family(kind: type[_Family], name: str, documentation: str, **kwargs: Any) -> _Family:
    """One request family, registered once per process, and shared with Litestar's plugin
    (which keeps its families by name on its middleware class): a process that serves both
    a service and the gateway (tests) counts into the same families, never registers twice."""
    families = PrometheusMiddleware._metrics
    found = families.get(name)
    if found is None:
        found = families[name] = kind(
            name=name, documentation=documentation, labelnames=_REQUEST_LABELS, **kwargs
        )
    if not isinstance(found, kind):  # pragma: no cover - a name taken by another kind
        raise TypeError(f"{name} is already a {type(found).__name__}")
    return found


class RequestMetricsMiddleware:
    """Request metrics per route template and status (see the module docstring), as
    Litestar's ``PrometheusMiddleware`` counts them, in plain ASGI: no ``Request`` object
    per request, and each route's labelled series looked up once, not four times a request.

    ``exclude`` are regular expressions; a request whose path matches one is not counted
    (``/metrics``, ``/health``).
    """

    def __init__(
        self, app: ASGIApp, *, app_name: str, prefix: str, exclude: Sequence[str] = ()
    ) -> None:
        self.app = app
        self.app_name = app_name
        self._exclude = re.compile("|".join(exclude)) if exclude else None
        self._count = _request_family(Counter, f"{prefix}_requests_total", "Total requests")
        self._time = _request_family(
            Histogram, f"{prefix}_request_duration_seconds", "Request duration, in seconds"
        )
        self._in_progress = _request_family(
            Gauge,
            f"{prefix}_requests_in_progress",
            "Total requests currently in progress",
            multiprocess_mode="livesum",
        )
        self._errors = _request_family(
            Counter, f"{prefix}_requests_error_total", "Total errors in requests"
        )
        # (method, template, status) → (count, duration) series; (method, template) → gauge.
        self._answered: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._serving: dict[tuple[str, str], Gauge] = {}

    def _series(self, method: str, path: str, status: int) -> tuple[Counter, Histogram]:
        key = (method, path, status)
        found = self._answered.get(key)
        if found is None:
            values = (method, path, str(status), self.app_name)
            found = self._answered[key] = (
                self._count.labels(*values),
                self._time.labels(*values),
            )
        return found

    def _gauge(self, method: str, path: str) -> Gauge:
        found = self._serving.get((method, path))
        if found is None:
            # As the plugin labels it: the status is not known yet, so 200.
            found = self._in_progress.labels(method, path, "200", self.app_name)
            self._serving[(method, path)] = found
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or (
            self._exclude is not None and self._exclude.search(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        path: str = scope.get("path_template") or scope["path"]
        started = time.perf_counter()
        answered = {"status": 200, "duration": 0.0}

        async def send_measured(message: Message) -> None:
            if message["type"] == "http.response.start":
                answered["status"] = message["status"]
            elif message["type"] == "http.response.body":
                answered["duration"] = time.perf_counter() - started
            await send(message)

        serving = self._gauge(method, path)
        serving.inc()
        try:
            await self.app(scope, receive, send_measured)
        finally:
            serving.dec()
            status = int(answered["status"])
            if status >= 500:
                self._errors.labels(method, path, str(status), self.app_name).inc()
            count, duration = self._series(method, path, status)
            count.inc()
            duration.observe(answered["duration"])


def count_upstream_error(upstream: str, reason: str) -> None:
    UPSTREAM_ERRORS.labels(upstream=upstream, reason=reason).inc()


def count_listens_imported(source: str, listens: int) -> None:
    """Call once a chunk of an import is committed, with the listens it stored."""
    if listens:
        LISTENS_IMPORTED.labels(source=source).inc(listens)


# --- states read at scrape time ------------------------------------------------------------

_breakers: weakref.WeakKeyDictionary[CircuitBreaker, str] = weakref.WeakKeyDictionary()


def watch_breaker(upstream: str, breaker: CircuitBreaker) -> None:
    """Report ``breaker``'s state as ``upstream``'s for as long as it lives."""
    _breakers[breaker] = upstream


@dataclass
class EventLag:
    """What a scrape last read of one service's outbox, consumers and dead letters."""

    read_at: float = float("-inf")  # time.monotonic() of the reading
    outbox_unpublished: float = float("nan")
    outbox_oldest_age_s: float = float("nan")
    dead_letters: float = float("nan")
    # stream → (pending, ack pending)
    consumers: dict[str, tuple[float, float]] = field(default_factory=dict)


_runtimes: weakref.WeakKeyDictionary[EventRuntime, EventLag] = weakref.WeakKeyDictionary()


def watch_events(runtime: EventRuntime) -> None:
    """Report ``runtime``'s relay and consumer counters, and its lags once sampled, until
    :func:`unwatch_events` (the app's shutdown)."""
    _runtimes.setdefault(runtime, EventLag())


def unwatch_events(runtime: EventRuntime) -> None:
    _runtimes.pop(runtime, None)


async def sample_event_metrics(runtime: EventRuntime) -> None:
    """Read the lags of ``runtime``'s service now (a scrape is asking), within
    :data:`SAMPLE_TIMEOUT_S`; what cannot be read in time is reported as unknown (NaN)."""
    last = _runtimes.get(runtime)
    if last is None:
        return  # stopped (or never started): nothing to report
    if time.monotonic() - last.read_at < MIN_SAMPLE_INTERVAL_S:
        return
    lag = EventLag(read_at=time.monotonic())
    try:
        async with asyncio.timeout(SAMPLE_TIMEOUT_S):
            await asyncio.gather(_sample_database(runtime, lag), _sample_consumers(runtime, lag))
    except Exception as exc:  # a scrape never fails for it: the values say "unknown"
        log.warning("could not read the event lags of %s: %s", runtime.context, exc)
    if runtime in _runtimes:
        _runtimes[runtime] = lag


async def _sample_database(runtime: EventRuntime, lag: EventLag) -> None:
    tables = tables_for(runtime.settings.schema_name)
    outbox, dead_letters = tables.outbox, tables.dead_letters
    unpublished = (
        select(outbox.c.id)
        .where(outbox.c.published_at.is_(None))
        .limit(OUTBOX_COUNT_CAP)
        .subquery()
    )
    async with runtime.sessions() as session:
        conn = await session.connection()
        lag.outbox_unpublished = float(
            await conn.scalar(select(func.count()).select_from(unpublished)) or 0
        )
        # Ids are time-ordered (UUIDv7): the first unpublished id is the oldest row, found
        # on the relay's own partial index.
        oldest = await conn.scalar(
            select(func.extract("epoch", func.now() - outbox.c.created_at))
            .where(outbox.c.published_at.is_(None))
            .order_by(outbox.c.id)
            .limit(1)
        )
        lag.outbox_oldest_age_s = max(0.0, float(oldest)) if oldest is not None else 0.0
        lag.dead_letters = float(
            await conn.scalar(
                select(func.count())
                .select_from(dead_letters)
                .where(dead_letters.c.replayed_at.is_(None))
            )
            or 0
        )


async def _sample_consumers(runtime: EventRuntime, lag: EventLag) -> None:
    if not runtime.nats_connected:
        return
    for consumer in runtime.consumers:
        info = await runtime.js.consumer_info(consumer.stream, consumer.durable)
        lag.consumers[consumer.stream] = (
            float(info.num_pending or 0),
            float(info.num_ack_pending or 0),
        )


class _StateCollector(Collector):
    """Families whose values live in objects (breakers, relays, consumers), read per scrape."""

    def collect(self) -> Iterator[Metric]:
        yield self._circuits()
        yield from self._events()

    def _circuits(self) -> Metric:
        family = GaugeMetricFamily(
            "medley_upstream_circuit_state",
            "Circuit breaker per upstream: 0 closed, 1 half-open, 2 open",
            labels=["upstream"],
        )
        # Several clients of one upstream (tests, several apps in a process): the worst.
        worst: dict[str, int] = {}
        for breaker, upstream in list(_breakers.items()):
            worst[upstream] = max(worst.get(upstream, 0), CIRCUIT_STATES[breaker.state])
        for upstream, state in sorted(worst.items()):
            family.add_metric([upstream], state)
        return family

    def _events(self) -> Iterator[Metric]:
        published = CounterMetricFamily(
            "medley_events_published",
            "Events the outbox relay got JetStream to store (duplicates excluded)",
            labels=["service"],
        )
        handled = CounterMetricFamily(
            "medley_events_handled",
            "Events handled by a service's consumers, by outcome",
            labels=["service", "stream", "outcome"],
        )
        unpublished = GaugeMetricFamily(
            "medley_outbox_unpublished_events",
            "Outbox rows not yet published (read at scrape time)",
            labels=["service"],
        )
        oldest = GaugeMetricFamily(
            "medley_outbox_oldest_unpublished_age_seconds",
            "Age of the oldest outbox row not yet published; 0 when none waits",
            labels=["service"],
        )
        dead = GaugeMetricFamily(
            "medley_dead_letters",
            "Dead letters not replayed",
            labels=["service"],
        )
        pending = GaugeMetricFamily(
            "medley_consumer_pending_messages",
            "Messages of the stream not yet delivered to the service's durable consumer",
            labels=["service", "stream"],
        )
        ack_pending = GaugeMetricFamily(
            "medley_consumer_ack_pending_messages",
            "Messages delivered to the service's durable consumer and not yet acknowledged",
            labels=["service", "stream"],
        )
        seen: set[str] = set()
        for runtime, lag in list(_runtimes.items()):
            service = runtime.context
            if service in seen:  # one report per service (tests may hold several runtimes)
                continue
            seen.add(service)
            if runtime.relay is not None:
                published.add_metric([service], runtime.relay.published)
            for consumer in runtime.consumers:
                for outcome, value in (
                    ("applied", consumer.applied),
                    ("duplicate", consumer.duplicates),
                    ("retried", consumer.retried),
                    ("dead_lettered", consumer.dead_lettered),
                ):
                    handled.add_metric([service, consumer.stream, outcome], value)
            unpublished.add_metric([service], lag.outbox_unpublished)
            oldest.add_metric([service], lag.outbox_oldest_age_s)
            dead.add_metric([service], lag.dead_letters)
            for stream, (waiting, unacked) in sorted(lag.consumers.items()):
                pending.add_metric([service, stream], waiting)
                ack_pending.add_metric([service, stream], unacked)
        yield from (published, handled, unpublished, oldest, dead, pending, ack_pending)


REGISTRY.register(_StateCollector())

__all__ = [
    "count_listens_imported",
    "count_upstream_error",
    "sample_event_metrics",
    "unwatch_events",
    "watch_breaker",
    "watch_events",
]
