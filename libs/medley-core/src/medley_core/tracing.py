"""Request ids and W3C trace context, carried over HTTP and NATS headers; OpenTelemetry spans.

Litestar has no request-id middleware, so this module provides one. The ids live in
context variables: logs, problem details and outgoing calls (httpx, NATS) read them from
there without every function passing them along.

Spans are recorded only when tracing is configured (:func:`configure_tracing`: an OTLP
endpoint, or an exporter a test passes). Off, which is the default, no tracer exists and
each hook below is one ``is None`` test: a request costs what it cost before tracing was
written. On, the same ``traceparent`` context variable holds the current span's context,
so logs, outgoing calls and the outbox carry real span ids that a trace viewer joins:
gateway request → upstream call → service request → outbox write → relay publish →
consumer handling.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.trace import (
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    Tracer,
)

if TYPE_CHECKING:  # plain ASGI at run time: the context helpers import no web framework
    from litestar.types import ASGIApp, Message, Receive, Scope, Send
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

    from medley_core.settings import ServiceSettings

log = logging.getLogger("medley.tracing")

REQUEST_ID_HEADER = "x-request-id"
TRACEPARENT_HEADER = "traceparent"

_request_id: ContextVar[str | None] = ContextVar("medley_request_id", default=None)
_traceparent: ContextVar[str | None] = ContextVar("medley_traceparent", default=None)

# Accept a caller's id only if it is short and plain: it ends up in logs and headers.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")

INSTRUMENTATION_NAME = "medley"
# The OTLP/HTTP path of traces, added to a base endpoint as the standard variable does.
OTLP_TRACES_PATH = "/v1/traces"
_OTEL_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")

# None: tracing is off (the default) and no span is ever made.
_tracer: Tracer | None = None
_provider: TracerProvider | None = None
_NO_SPAN: AbstractContextManager[None] = nullcontext()


def current_request_id() -> str | None:
    return _request_id.get()


def current_trace_id() -> str | None:
    value = _traceparent.get()
    match = _TRACEPARENT.match(value) if value else None
    return match.group(1) if match else None


def new_request_id() -> str:
    return uuid.uuid4().hex


def child_traceparent(parent: str | None) -> str:
    """A traceparent for a new span: the parent's trace id (or a new one), a new span id."""
    match = _TRACEPARENT.match(parent) if parent else None
    trace_id = match.group(1) if match else secrets.token_hex(16)
    flags = match.group(3) if match else "01"
    return f"00-{trace_id}-{secrets.token_hex(8)}-{flags}"


def bind(request_id: str | None, traceparent: str | None) -> None:
    """Adopt the ids of work that did not come over HTTP (a NATS message, a job). Traced,
    the sender's span itself is the parent of the spans the work makes."""
    _request_id.set(request_id if request_id and _SAFE_REQUEST_ID.match(request_id) else None)
    if _tracer is not None and traceparent and _TRACEPARENT.match(traceparent):
        _traceparent.set(traceparent)
    else:
        _traceparent.set(child_traceparent(traceparent))


def propagation_headers() -> dict[str, str]:
    """The headers to put on an outgoing HTTP call or NATS message.

    Traced, the current span is the parent the receiver continues from (the call's client
    span, the outbox write); untraced, a fresh span id under the same trace id."""
    headers: dict[str, str] = {}
    request_id = _request_id.get()
    if request_id:
        headers["X-Request-ID"] = request_id
    traceparent = _traceparent.get()
    if traceparent:
        headers["traceparent"] = traceparent if _tracer else child_traceparent(traceparent)
    return headers


# --- OpenTelemetry: configured once per process, off by default ---------------------------


def tracing_enabled() -> bool:
    return _tracer is not None


def otlp_endpoint_from_environment() -> str | None:
    """The standard ``OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT``, when set and the SDK is not
    disabled (``OTEL_SDK_DISABLED=true``)."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    for variable in _OTEL_ENDPOINT_VARIABLES:
        value = os.environ.get(variable, "").strip()
        if value:
            return value if variable.endswith("TRACES_ENDPOINT") else _traces_url(value)
    return None


def _traces_url(base: str) -> str:
    base = base.rstrip("/")
    return base if base.endswith(OTLP_TRACES_PATH) else base + OTLP_TRACES_PATH


def configure_tracing(
    service_name: str,
    *,
    otlp_endpoint: str | None = None,
    sample_ratio: float = 1.0,
    exporter: SpanExporter | None = None,
) -> bool:
    """Turn tracing on for this process when there is somewhere to send spans: ``exporter``
    (tests: an in-memory one, exported as each span ends), else an OTLP/HTTP endpoint
    (``otlp_endpoint``: the ``MEDLEY_OTLP_ENDPOINT`` setting, a base URL or the full
    ``…/v1/traces``; else the standard ``OTEL_EXPORTER_OTLP_ENDPOINT``), batched in the
    background. With neither, tracing stays as it is (off, unless already on). Returns
    whether tracing is on. ``sample_ratio`` samples new traces; a caller's sampled flag wins.
    """
    global _tracer, _provider
    if exporter is None and _tracer is not None:
        return True  # one process, one provider: the first configuration stands
    endpoint = _traces_url(otlp_endpoint) if otlp_endpoint else otlp_endpoint_from_environment()
    if exporter is None and endpoint is None:
        return False
    # The SDK only when tracing is wanted: an untraced process never imports it.
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBasedTraceIdRatio

    provider = TracerProvider(
        resource=Resource.create({"service.name": f"medley-{service_name}"}),
        sampler=ParentBasedTraceIdRatio(sample_ratio),
    )
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        log.info("exporting traces to %s", endpoint)
    if _provider is not None:
        _provider.shutdown()
    _provider = provider
    _tracer = provider.get_tracer(INSTRUMENTATION_NAME)
    return True


def configure_tracing_from(settings: ServiceSettings) -> bool:
    """:func:`configure_tracing` as a service's (or the gateway's) settings say."""
    return configure_tracing(
        settings.service_name,
        otlp_endpoint=settings.otlp_endpoint,
        sample_ratio=settings.trace_sample_ratio,
    )


def shutdown_tracing() -> None:
    """Export what is pending and turn tracing off (tests; a process's exit does it too)."""
    global _tracer, _provider
    provider, _provider, _tracer = _provider, None, None
    if provider is not None:
        provider.shutdown()


def _remote_parent(traceparent: str | None) -> Any:
    """An OpenTelemetry context whose current span is the one ``traceparent`` names."""
    match = _TRACEPARENT.match(traceparent) if traceparent else None
    if match is None:
        return None
    parent = SpanContext(
        trace_id=int(match.group(1), 16),
        span_id=int(match.group(2), 16),
        is_remote=True,
        trace_flags=TraceFlags(int(match.group(3), 16)),
    )
    if not parent.is_valid:  # all-zero ids: no parent
        return None
    return trace.set_span_in_context(NonRecordingSpan(parent))


def traceparent_of(span: Span) -> str:
    context = span.get_span_context()
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


def span(
    name: str,
    kind: SpanKind = SpanKind.INTERNAL,
    *,
    parent: str | None = None,
    attributes: Mapping[str, str | int | float | bool] | None = None,
) -> AbstractContextManager[Span | None]:
    """A span around a block, the current span while it runs (what logs, outgoing calls and
    the outbox see). Its parent is ``parent`` (a traceparent from a message or a stored
    row), else the current span. Tracing off: nothing, and ``None`` is what the block gets.
    """
    if _tracer is None:
        return _NO_SPAN
    return _recorded_span(_tracer, name, kind, parent, attributes)


@contextmanager
def _recorded_span(
    tracer: Tracer,
    name: str,
    kind: SpanKind,
    parent: str | None,
    attributes: Mapping[str, str | int | float | bool] | None,
) -> Iterator[Span]:
    current = _remote_parent(parent or _traceparent.get())
    started = tracer.start_span(name, context=current, kind=kind, attributes=attributes)
    token = _traceparent.set(traceparent_of(started))
    try:
        yield started
    except BaseException as exc:
        failed(started, exc)
        raise
    finally:
        _traceparent.reset(token)
        started.end()


def failed(span: Span, exc: BaseException) -> None:
    """Mark ``span`` as failed by ``exc`` (cancellation is not a failure of the work)."""
    if isinstance(exc, Exception):
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"[:512]))


_CONTEXT_HEADERS = frozenset({REQUEST_ID_HEADER.encode(), TRACEPARENT_HEADER.encode()})


def _context_headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """The request's ``X-Request-ID`` and ``traceparent`` (the last of each), by lower-case
    name: only those two are decoded, not every header of every request."""
    found: dict[str, str] = {}
    for name, value in raw:
        lowered = name.lower()
        if lowered in _CONTEXT_HEADERS:
            found[lowered.decode("latin-1")] = value.decode("latin-1")
    return found


class RequestContextMiddleware:
    """Gives every request an id (the caller's ``X-Request-ID`` if sane) and a span.

    The id is echoed in the ``X-Request-ID`` response header and bound for logs.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # type: ignore[comparison-overlap]  # a str enum
            await self.app(scope, receive, send)
            return
        headers = _context_headers(scope["headers"])
        incoming = headers.get(REQUEST_ID_HEADER)
        request_id = incoming if incoming and _SAFE_REQUEST_ID.match(incoming) else None
        request_id = request_id or new_request_id()
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        rid_token = _request_id.set(request_id)
        try:
            if _tracer is not None:
                await _traced_request(self.app, scope, receive, send, request_id, headers, _tracer)
                return
            traceparent = child_traceparent(headers.get(TRACEPARENT_HEADER))
            tp_token = _traceparent.set(traceparent)

            async def send_with_id(message: Message) -> None:
                if message["type"] == "http.response.start":
                    ids = {"x-request-id": request_id, "traceparent": traceparent}
                    _set_headers(message, ids)
                await send(message)

            try:
                await self.app(scope, receive, send_with_id)
            finally:
                _traceparent.reset(tp_token)
        finally:
            _request_id.reset(rid_token)


async def _traced_request(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    request_id: str,
    headers: dict[str, str],
    tracer: Tracer,
) -> None:
    """:class:`RequestContextMiddleware` with a server span: named by the route template
    (``GET /playlists/{playlist_id}``), with the answer's status; a 5xx is an error."""
    method: str = scope.get("method", "GET")  # type: ignore[assignment]  # an HTTP scope
    server = tracer.start_span(
        method,
        context=_remote_parent(headers.get(TRACEPARENT_HEADER)),
        kind=SpanKind.SERVER,
        attributes={"http.request.method": method, "url.path": scope["path"]},
    )
    traceparent = traceparent_of(server)
    tp_token = _traceparent.set(traceparent)

    async def send_with_id(message: Message) -> None:
        if message["type"] == "http.response.start":
            status = message["status"]
            server.set_attribute("http.response.status_code", status)
            if status >= 500:
                server.set_status(Status(StatusCode.ERROR))
            _set_headers(message, {"x-request-id": request_id, "traceparent": traceparent})
        await send(message)

    try:
        await app(scope, receive, send_with_id)
    except BaseException as exc:
        failed(server, exc)
        raise
    finally:
        template = scope.get("path_template")
        if template:
            server.update_name(f"{method} {template}")
            server.set_attribute("http.route", template)
        _traceparent.reset(tp_token)
        server.end()


def _set_headers(message: Message, values: dict[str, str]) -> None:
    """Set (replace) response headers on an ASGI ``http.response.start`` message."""
    raw: dict[str, Any] = message  # type: ignore[assignment]
    names = {name.encode("latin-1") for name in values}
    kept = [(k, v) for k, v in raw.get("headers", []) if k.lower() not in names]
    added = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in values.items()]
    raw["headers"] = [*kept, *added]
