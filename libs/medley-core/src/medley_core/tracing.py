"""Request ids and W3C trace context, carried over HTTP and NATS headers.

Litestar has no request-id middleware, so this module provides one. The ids live in
context variables: logs, problem details and outgoing calls (httpx, NATS) read them from
there without every function passing them along.
"""

from __future__ import annotations

import re
import secrets
import uuid
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # plain ASGI at run time: the context helpers import no web framework
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"
TRACEPARENT_HEADER = "traceparent"

_request_id: ContextVar[str | None] = ContextVar("medley_request_id", default=None)
_traceparent: ContextVar[str | None] = ContextVar("medley_traceparent", default=None)

# Accept a caller's id only if it is short and plain: it ends up in logs and headers.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


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
    """Adopt the ids of work that did not come over HTTP (a NATS message, a job)."""
    _request_id.set(request_id if request_id and _SAFE_REQUEST_ID.match(request_id) else None)
    _traceparent.set(child_traceparent(traceparent))


def propagation_headers() -> dict[str, str]:
    """The headers to put on an outgoing HTTP call or NATS message."""
    headers: dict[str, str] = {}
    request_id = _request_id.get()
    if request_id:
        headers["X-Request-ID"] = request_id
    traceparent = _traceparent.get()
    if traceparent:
        headers["traceparent"] = child_traceparent(traceparent)
    return headers


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
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        incoming = headers.get(REQUEST_ID_HEADER)
        request_id = incoming if incoming and _SAFE_REQUEST_ID.match(incoming) else None
        request_id = request_id or new_request_id()
        traceparent = child_traceparent(headers.get(TRACEPARENT_HEADER))
        rid_token = _request_id.set(request_id)
        tp_token = _traceparent.set(traceparent)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                _set_headers(message, {"x-request-id": request_id, "traceparent": traceparent})
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _request_id.reset(rid_token)
            _traceparent.reset(tp_token)


def _set_headers(message: Message, values: dict[str, str]) -> None:
    """Set (replace) response headers on an ASGI ``http.response.start`` message."""
    raw: dict[str, Any] = message  # type: ignore[assignment]
    names = {name.encode("latin-1") for name in values}
    kept = [(k, v) for k, v in raw.get("headers", []) if k.lower() not in names]
    added = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in values.items()]
    raw["headers"] = [*kept, *added]
