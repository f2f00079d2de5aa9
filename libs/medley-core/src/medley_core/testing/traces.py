"""Recording the spans a test makes: tracing on, into the SDK's in-memory exporter."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from medley_core.tracing import configure_tracing, shutdown_tracing


@contextmanager
def recording_spans(service_name: str = "test") -> Iterator[InMemorySpanExporter]:
    """Tracing on for the block (apps built inside it trace too), every ended span kept in
    the exporter yielded; off again after."""
    exporter = InMemorySpanExporter()
    configure_tracing(service_name, exporter=exporter)
    try:
        yield exporter
    finally:
        shutdown_tracing()


def span_named(spans: tuple[ReadableSpan, ...] | list[ReadableSpan], name: str) -> ReadableSpan:
    """The one span called ``name`` (an assertion error naming what there is otherwise)."""
    found = [span for span in spans if span.name == name]
    assert len(found) == 1, f"{len(found)} spans named {name!r} among {[s.name for s in spans]}"
    return found[0]
