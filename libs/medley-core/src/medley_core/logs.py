"""Structured JSON logs, one object a line, with the request id and trace id bound.

Every line is bounded: a message longer than :data:`MAX_LOG_MESSAGE_CHARS` is cut, and a URL
logged by httpx (each upstream call's ``HTTP Request: GET …`` line) is logged without its
query string, which the caller chose and may be as long as the server accepts.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

from medley_core.tracing import configure_tracing_from, current_request_id, current_trace_id

if TYPE_CHECKING:
    from medley_core.settings import ServiceSettings

# Attributes every LogRecord has; anything else was passed through ``extra=`` and is kept.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}

# Long enough for any message Medley writes; a longer one carries someone's input.
MAX_LOG_MESSAGE_CHARS = 4096


def _without_query(value: object) -> object:
    if isinstance(value, httpx.URL) and value.query:
        return f"{value.copy_with(query=None)}?[{len(value.query)} bytes of query]"
    return value


class BoundedRecords(logging.Filter):
    """Drops URLs' query strings from log arguments and cuts overlong messages.

    On the handler, so it applies to every logger's records (httpx's, uvicorn's, ours).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(_without_query(arg) for arg in record.args)
        try:
            message = record.getMessage()
        except Exception:
            return True  # a malformed call: the formatter reports it as logging always does
        if len(message) > MAX_LOG_MESSAGE_CHARS:
            cut = len(message) - MAX_LOG_MESSAGE_CHARS
            record.msg = f"{message[:MAX_LOG_MESSAGE_CHARS]}… [{cut} more characters]"
            record.args = None
        return True


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = current_request_id()
        if request_id:
            entry["request_id"] = request_id
        trace_id = current_trace_id()
        if trace_id:
            entry["trace_id"] = trace_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(
    service: str, level: str = "INFO", as_json: bool = True, *, upstream_calls: bool = True
) -> None:
    """Route every logger (ours, uvicorn's, Litestar's) through one handler on stderr.

    ``upstream_calls``: keep httpx's line for every request it sends (a JSON line per
    upstream call is a good share of a pass-through request's CPU)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(BoundedRecords())
    if as_json:
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(
            logging.Formatter(f"%(asctime)s %(levelname)s {service} %(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "litestar"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # Access lines duplicate what the metrics already count.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.NOTSET if upstream_calls else logging.WARNING)


def configure_telemetry(settings: ServiceSettings) -> None:
    """Logs and traces as ``settings`` say, for a service or the gateway: first thing in an
    app factory, before any upstream client is made (a client adds its spans only when
    tracing is on by then)."""
    configure_logging(
        settings.service_name,
        settings.log_level,
        settings.log_json,
        upstream_calls=settings.log_upstream_calls,
    )
    configure_tracing_from(settings)
