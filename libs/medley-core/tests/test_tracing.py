"""W3C trace context: a span's children keep the trace id and get their own span id."""

from __future__ import annotations

import re

from medley_core.tracing import (
    bind,
    child_traceparent,
    current_request_id,
    current_trace_id,
    propagation_headers,
)

TRACEPARENT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


def test_child_keeps_trace_id_and_changes_span() -> None:
    parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    child = child_traceparent(parent)
    assert TRACEPARENT.match(child)
    assert child.split("-")[1] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert child.split("-")[2] != "00f067aa0ba902b7"


def test_garbage_traceparent_starts_a_new_trace() -> None:
    child = child_traceparent("not-a-traceparent")
    assert TRACEPARENT.match(child)


def test_bound_context_travels_in_outgoing_headers() -> None:
    bind("req-1", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    assert current_request_id() == "req-1"
    assert current_trace_id() == "4bf92f3577b34da6a3ce929d0e0e4736"
    headers = propagation_headers()
    assert headers["X-Request-ID"] == "req-1"
    assert headers["traceparent"].split("-")[1] == "4bf92f3577b34da6a3ce929d0e0e4736"
