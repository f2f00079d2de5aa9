"""The hostile-input sweep: every route an app documents, fed input that once answered 500.

:func:`sweep` reads an app's OpenAPI document and, for every operation that takes a JSON
body, query parameters or string path parameters, sends each class of hostile input:

* ``utf8``: invalid UTF-8 inside a JSON string;
* ``deep``: JSON nested 1,000 levels deep;
* ``nul``: a NUL character in each string field of an otherwise plausible body, in each
  query parameter, in each string path parameter;
* ``date``: timestamps at the calendar limits whose UTC conversion overflows, in each
  ``date-time`` field and query parameter;
* ``long-query``: a query string far beyond what any route needs.

Every answer must be a 4xx problem (``application/problem+json``), a NUL must be refused
with a 422 naming the field, and nothing may be logged at ERROR or with a traceback. Routes
are discovered, not listed, so a new route is swept without a test written for it. Each
package's tests call this with their app, an admin's headers and the document's path.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

PROBLEM_MEDIA_TYPE = "application/problem+json"
LIMIT_DATETIMES = ("0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59")
DEEP_BODY = b"[" * 1000 + b"]" * 1000
INVALID_UTF8_STRING = b'"\xff\xfe"'
METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Probe:
    """One hostile request, and what the answer must say."""

    hostile: str
    operation: str  # "PUT /me/integrations/{provider}", as documented
    method: str
    path: str
    params: dict[str, str] | None = None
    content: bytes | None = None
    # A NUL must be refused naming this field (body path, query or path parameter).
    names_field: str | None = None

    def describe(self) -> str:
        return f"{self.hostile}: {self.operation} {self.names_field or ''}"


@dataclass
class Report:
    """What the sweep sent and what went wrong."""

    probes: int = 0
    operations: set[str] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


# --- sample values from the schema ----------------------------------------------------------


class _Schemas:
    def __init__(self, document: dict[str, Any]) -> None:
        self.components: dict[str, Any] = document.get("components", {}).get("schemas", {})

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        seen = 0
        while "$ref" in schema and seen < 20:
            schema = self.components.get(schema["$ref"].rsplit("/", 1)[-1], {})
            seen += 1
        for combinator in ("oneOf", "anyOf", "allOf"):
            options = [self.resolve(o) for o in schema.get(combinator, [])]
            options = [o for o in options if o.get("type") != "null"]
            if options:
                return {**{k: v for k, v in schema.items() if k != combinator}, **options[0]}
        return schema

    def sample(self, schema: dict[str, Any], depth: int = 0) -> Any:
        """A plausible value: enough for a request to get past its own validation."""
        schema = self.resolve(schema)
        if "enum" in schema:
            return schema["enum"][0]
        if "const" in schema:
            return schema["const"]
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), None)
        if kind == "object" or "properties" in schema:
            if depth > 6:
                return {}
            return {
                name: self.sample(prop, depth + 1)
                for name, prop in schema.get("properties", {}).items()
            }
        if kind == "array":
            count = max(1, int(schema.get("minItems", 1)))
            return [self.sample(schema.get("items", {}), depth + 1) for _ in range(count)]
        if kind == "integer":
            return int(schema.get("minimum", 1))
        if kind == "number":
            return float(schema.get("minimum", 1))
        if kind == "boolean":
            return False
        return _sample_string(schema)

    def strings(self, schema: dict[str, Any], value: Any, path: str = "") -> Iterator[str]:
        """The paths of the string fields in ``value`` (a sample of ``schema``)."""
        schema = self.resolve(schema)
        if isinstance(value, dict):
            props = schema.get("properties", {})
            for name, item in value.items():
                yield from self.strings(props.get(name, {}), item, _join(path, name))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                yield from self.strings(schema.get("items", {}), item, _join(path, str(i)))
        elif isinstance(value, str) and "enum" not in schema:
            yield path

    def datetimes(self, schema: dict[str, Any], value: Any, path: str = "") -> Iterator[str]:
        """The paths of the ``date-time`` fields in ``value``."""
        schema = self.resolve(schema)
        if isinstance(value, dict):
            props = schema.get("properties", {})
            for name, item in value.items():
                yield from self.datetimes(props.get(name, {}), item, _join(path, name))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                yield from self.datetimes(schema.get("items", {}), item, _join(path, str(i)))
        elif schema.get("format") == "date-time":
            yield path


def _sample_string(schema: dict[str, Any]) -> str:
    fmt = schema.get("format")
    if fmt == "uuid":
        return str(uuid.uuid4())
    if fmt == "date-time":
        return "2024-05-01T12:00:00+00:00"
    if fmt == "date":
        return "2024-05-01"
    if fmt == "email":
        return f"sweep{uuid.uuid4().hex[:8]}@example.com"
    if fmt in ("uri", "url"):
        return "https://example.com/x"
    value = f"sweep{uuid.uuid4().hex[:10]}"
    low, high = int(schema.get("minLength", 1)), int(schema.get("maxLength", len(value)))
    return value[: max(low, min(high, len(value)))].ljust(low, "x")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _set(document: Any, path: str, value: Any) -> Any:
    """A copy of ``document`` with the field at the dotted ``path`` set to ``value``."""
    copy = json.loads(json.dumps(document))
    parts = path.split(".")
    node = copy
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return copy


# --- probes --------------------------------------------------------------------------------


def probes(document: dict[str, Any], path_values: dict[str, str] | None = None) -> Iterator[Probe]:
    """Every hostile request for every operation ``document`` describes; ``path_values``
    fills the named path parameters (a provider the service knows, say), else a sample."""
    schemas = _Schemas(document)
    for template, item in document.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            parameters = [*item.get("parameters", []), *operation.get("parameters", [])]
            yield from _operation_probes(
                schemas, template, method, operation, parameters, path_values or {}
            )


def _operation_probes(
    schemas: _Schemas,
    template: str,
    method: str,
    operation: dict[str, Any],
    parameters: list[dict[str, Any]],
    known: dict[str, str],
) -> Iterator[Probe]:
    path_values: dict[str, str] = {}
    string_path_params: list[str] = []
    query: dict[str, dict[str, Any]] = {}
    # Sent with every probe, so a route is not refused for a missing parameter instead.
    required_query: dict[str, str] = {}
    for param in parameters:
        schema = schemas.resolve(param.get("schema", {}))
        if param.get("in") == "path":
            # A path parameter must look valid so the route is reached at all.
            path_values[param["name"]] = known.get(param["name"]) or str(schemas.sample(schema))
            if schema.get("type") == "string" and schema.get("format") != "uuid":
                string_path_params.append(param["name"])
        elif param.get("in") == "query":
            query[param["name"]] = schema
            if param.get("required"):
                required_query[param["name"]] = str(schemas.sample(schema))

    def fill(overrides: dict[str, str] | None = None) -> str:
        path = template
        for name, value in {**path_values, **(overrides or {})}.items():
            path = path.replace("{" + name + "}", quote(value, safe=""))
        return path

    path = fill()
    op = f"{method.upper()} {template}"
    for name in string_path_params:
        yield Probe("nul", op, method, fill({name: "a\x00b"}), names_field=name)

    for name, schema in query.items():
        yield Probe(
            "nul", op, method, path, params={**required_query, name: "a\x00b"}, names_field=name
        )
        if schema.get("format") == "date-time":
            for limit in LIMIT_DATETIMES:
                yield Probe("date", op, method, path, params={**required_query, name: limit})
    if query:
        yield Probe(
            "long-query",
            op,
            method,
            path,
            params={**required_query, next(iter(query)): "q" * 60_000},
        )

    content = operation.get("requestBody", {}).get("content", {})
    body_schema = content.get("application/json", {}).get("schema")
    if body_schema is None:
        return
    sample = schemas.sample(body_schema)
    body_query = required_query or None
    yield Probe("utf8", op, method, path, body_query, _invalid_utf8_body(sample))
    yield Probe("deep", op, method, path, body_query, DEEP_BODY)
    for field_path in schemas.strings(body_schema, sample):
        nul = _set(sample, field_path, "a\x00b") if field_path else "a\x00b"
        yield Probe(
            "nul", op, method, path, body_query, json.dumps(nul).encode(), field_path or "body"
        )
    for field_path in schemas.datetimes(body_schema, sample):
        for limit in LIMIT_DATETIMES:
            body = _set(sample, field_path, limit)
            yield Probe("date", op, method, path, body_query, json.dumps(body).encode())


def _invalid_utf8_body(sample: Any) -> bytes:
    """The sample with its first string field's value replaced by invalid UTF-8 bytes."""
    marker = "\u2603sweep-marker\u2603"
    if isinstance(sample, dict) and sample:
        first = next(iter(sample))
        raw = json.dumps({**sample, first: marker}, ensure_ascii=False).encode()
    else:
        raw = json.dumps(marker, ensure_ascii=False).encode()
    return raw.replace(json.dumps(marker, ensure_ascii=False).encode(), INVALID_UTF8_STRING)


# --- the sweep -----------------------------------------------------------------------------


async def sweep(
    client: httpx.AsyncClient,
    openapi_path: str,
    headers: dict[str, str],
    *,
    path_values: dict[str, str] | None = None,
    own_error_shape: tuple[str, ...] = (),
) -> Report:
    """Send every probe of ``client``'s app (its OpenAPI document at ``openapi_path``) with
    ``headers`` (an administrator's, so guards do not hide the decoding); report failures.
    ``path_values`` names path parameters that must be real for a route to be reached.
    Routes under the ``own_error_shape`` path prefixes mirror another API's errors (the
    ListenBrainz routes answer ``{"code", "error"}``): they must answer 4xx without logging
    an error, in whatever shape."""
    response = await client.get(openapi_path)
    response.raise_for_status()
    report = Report()
    records = _Records()
    root = logging.getLogger()
    root.addHandler(records)
    try:
        for probe in probes(response.json(), path_values):
            report.probes += 1
            report.operations.add(probe.operation)
            records.records.clear()
            answer = await client.request(
                probe.method,
                probe.path,
                params=probe.params,
                content=probe.content,
                headers={**headers, "content-type": "application/json"}
                if probe.content is not None
                else headers,
            )
            problem = _judge(
                probe, answer, records.records, probe.path.startswith(own_error_shape or ("\0",))
            )
            if problem:
                report.failures.append(f"{probe.describe()} -> {problem}")
    finally:
        root.removeHandler(records)
    return report


def _judge(
    probe: Probe,
    answer: httpx.Response,
    records: list[logging.LogRecord],
    own_shape: bool = False,
) -> str | None:
    logged = [r for r in records if r.levelno >= logging.ERROR or r.exc_info]
    if logged:
        return f"{answer.status_code}, logged {logged[0].levelname}: {logged[0].getMessage()}"
    if not 400 <= answer.status_code < 500:
        return f"answered {answer.status_code}: {answer.text[:200]}"
    if own_shape:
        return None
    if not answer.headers.get("content-type", "").startswith(PROBLEM_MEDIA_TYPE):
        return f"answered {answer.status_code} without a problem: {answer.text[:200]}"
    if probe.hostile == "nul":
        if answer.status_code != 422:
            return f"answered {answer.status_code}, not 422: {answer.text[:200]}"
        fields = {e.get("field") for e in answer.json().get("errors", [])}
        if probe.names_field not in fields:
            return f"the problem does not name {probe.names_field!r}: {answer.text[:300]}"
    return None
