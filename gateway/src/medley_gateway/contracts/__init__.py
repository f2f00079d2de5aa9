"""What the upstreams' own documents say of the operations the gateway routes to, checked in.

The gateway's OpenAPI document shows, for every pass-through route, the request and answer
shapes of the upstream operation it forwards to. They are read from each service's own
OpenAPI document at build time by ``uv run python -m medley_gateway.contracts`` (which
imports the services: the workspace has them, the gateway's image does not) and kept here as
JSON, one file per upstream (``users.json``, ``catalog.json``); the running gateway reads
only these files. A test rebuilds them and fails when a checked-in copy is stale, so a
service that changes a shape the gateway shows, or a route added to a table, asks for that
command. How each part is found is in :mod:`medley_gateway.contracts.build`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medley_gateway.routing import Route, operation_id

DIRECTORY = Path(__file__).parent
SCHEMA_REF = "#/components/schemas/"
REGENERATE = "uv run python -m medley_gateway.contracts"


@dataclass(frozen=True)
class Operation:
    """An upstream operation as the gateway documents it: its query parameters, request body
    schema per media type, and answer schema (each absent when nobody declares one)."""

    parameters: list[dict[str, Any]] = field(default_factory=list)
    request: dict[str, Any] | None = None
    response: dict[str, Any] | None = None


@dataclass
class Contracts:
    """Every checked-in contract: operations by (upstream, ``METHOD /path``), and the
    schemas they refer to (named ``<upstream>.<Name>``, or ``gateway.<Name>`` for the
    gateway's stand-ins)."""

    operations: dict[tuple[str, str], Operation] = field(default_factory=dict)
    schemas: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, directory: Path = DIRECTORY) -> Contracts:
        contracts = cls()
        for path in sorted(directory.glob("*.json")):
            data = json.loads(path.read_text())
            upstream = data["upstream"]
            for key, operation in data["operations"].items():
                contracts.operations[upstream, key] = Operation(**operation)
            contracts.schemas.update(data["schemas"])
        return contracts

    def of(self, route: Route) -> Operation | None:
        return self.operations.get((route.upstream, route.upstream_operation))


def compose(
    document: dict[str, Any],
    routes: Iterable[Route],
    contracts: Contracts,
    document_only: Iterable[Route] = (),
) -> dict[str, Any]:
    """``document`` (the gateway's, as Litestar made it) with each route's request body,
    answer shape and query parameters taken from its contract; schemas nothing refers to
    any more (a body type the gateway only decodes with) are left out. ``document_only``:
    operations a catch-all handler serves (ListenBrainz's ``/1/…``), added to the document
    here and completed the same way."""
    composed = copy.deepcopy(document)
    paths = composed.setdefault("paths", {})
    routes = list(routes)
    for route in document_only:
        paths.setdefault(route.doc_path, {}).setdefault(route.method.lower(), _skeleton(route))
        routes.append(route)
    for route in routes:
        operation = paths.get(route.doc_path, {}).get(route.method.lower())
        contract = contracts.of(route)
        if operation is not None and contract is not None:
            _fill(operation, route, contract)
    schemas = composed.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(copy.deepcopy(contracts.schemas))
    used = _referenced(paths, schemas)
    composed["components"]["schemas"] = {k: v for k, v in sorted(schemas.items()) if k in used}
    return composed


def _skeleton(route: Route) -> dict[str, Any]:
    """An operation of the document for ``route``, before its contract fills it in."""
    operation: dict[str, Any] = {
        "summary": route.summary,
        "tags": list(route.tags),
        "operationId": operation_id(route),
        "parameters": [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in route.parameters
        ],
        "responses": {str(status): {"description": text} for status, text in route.answers.items()},
    }
    if route.description:
        operation["description"] = route.description
    return operation


def _fill(operation: dict[str, Any], route: Route, contract: Operation) -> None:
    if contract.request is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {kind: {"schema": schema} for kind, schema in contract.request.items()},
        }
    if contract.response is not None:
        for status in route.answers_with_content:
            answer = operation["responses"].setdefault(str(status), {})
            answer["content"] = {"application/json": {"schema": contract.response}}
    present = {(p["name"], p["in"]) for p in operation.get("parameters", [])}
    added = [p for p in contract.parameters if (p["name"], p["in"]) not in present]
    if added:
        operation["parameters"] = [*operation.get("parameters", []), *copy.deepcopy(added)]


def refs(node: Any) -> Iterator[str]:
    """The names of the component schemas ``node`` refers to, at any depth."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(SCHEMA_REF):
            yield ref[len(SCHEMA_REF) :]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def _referenced(root: Any, schemas: dict[str, Any]) -> set[str]:
    """Every schema ``root`` refers to, directly or through other schemas."""
    found: set[str] = set()
    pending = list(refs(root))
    while pending:
        name = pending.pop()
        if name not in found and name in schemas:
            found.add(name)
            pending.extend(refs(schemas[name]))
    return found
