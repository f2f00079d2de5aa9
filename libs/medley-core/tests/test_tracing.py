"""W3C trace context: a span's children keep the trace id and get their own span id."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from medley_core.testing.traces import recording_spans
from medley_core.tracing import (
    bind,
    child_traceparent,
    configure_tracing,
    current_request_id,
    current_trace_id,
    otlp_endpoint_from_environment,
    propagation_headers,
    shutdown_tracing,
    span,
    traceparent_of,
    tracing_enabled,
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


# -- OpenTelemetry: off by default, on when configured --------------------------------------


def test_tracing_is_off_without_an_endpoint_and_the_sdk_is_never_loaded() -> None:
    """No endpoint, no exporter: no tracer, and the SDK is not even imported (no cost)."""
    probe = (
        "import sys; from medley_core.app import create_service_app; "
        "from medley_core.tracing import configure_tracing, tracing_enabled, span; "
        "print(configure_tracing('users'), tracing_enabled(), "
        "span('x').__enter__() is None, 'opentelemetry.sdk' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "MEDLEY_OTLP"))}
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env
    ).stdout.strip()
    assert out == "False False True False"


def test_the_standard_otlp_variables_turn_tracing_on(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SDK_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")
    assert otlp_endpoint_from_environment() == "http://collector:4318/v1/traces"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:4318/custom")
    assert otlp_endpoint_from_environment() == "http://traces:4318/custom"
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert otlp_endpoint_from_environment() is None


def test_an_endpoint_setting_turns_tracing_on_until_shut_down() -> None:
    try:
        # Nothing listens there; no span is made, so nothing is sent.
        assert configure_tracing("users", otlp_endpoint="http://127.0.0.1:9") is True
        assert tracing_enabled()
    finally:
        shutdown_tracing()
    assert not tracing_enabled()


def test_traced_work_logs_and_propagates_the_current_spans_context() -> None:
    """Traced, the trace id in logs and the traceparent sent on are the span's own: a
    receiver's span is the child of a span that exists."""
    with recording_spans() as exporter:
        # A message's context, adopted: its sender's span is the parent of the work's.
        bind("req-2", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        with span("work") as current:
            assert current is not None
            context = current.get_span_context()
            assert current_trace_id() == "4bf92f3577b34da6a3ce929d0e0e4736"
            assert propagation_headers()["traceparent"] == traceparent_of(current)
        with pytest.raises(RuntimeError), span("failing"):
            raise RuntimeError("boom")
        finished = {s.name: s for s in exporter.get_finished_spans()}
    assert finished["work"].context.span_id == context.span_id
    assert finished["work"].parent is not None
    assert finished["work"].parent.span_id == int("00f067aa0ba902b7", 16)
    assert not finished["failing"].status.is_ok
    assert [e.name for e in finished["failing"].events] == ["exception"]
