"""From the route tables and the upstreams' OpenAPI documents to the checked-in contracts.

For each route, the upstream operation it forwards to must exist in the upstream's document
(a table naming a path or method the service does not have is an error), and a route that
says it takes no body must not forward to one that does. Then, per operation:

* query parameters: the upstream's, as it documents them;
* request body: the upstream's schema per media type, else the route's ``request`` stand-in;
* answer: the upstream's schema of its first 2xx answer when it is a declared shape (by the
  rule the services' own tests apply, :func:`medley_local.openapi_shapes.undeclared`:
  ``dict[str, Any]`` is not), else the route's ``response`` stand-in.

The upstream's schemas are copied under ``<upstream>.<Name>``, the stand-ins (msgspec types
of the gateway) under ``gateway.<Name>``. A stand-in the upstream now makes unnecessary is
reported as shadowed: delete it from the table.

Pure: documents in, JSON-ready dictionaries out; :mod:`medley_gateway.contracts.__main__`
fetches the documents and writes the files. Like it, this runs at build time, in the
workspace (hence ``medley_local``); the running gateway imports neither.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from medley_gateway.contracts import SCHEMA_REF, refs
from medley_gateway.routing import Route
from medley_local.openapi_shapes import undeclared

STAND_IN_PREFIX = "gateway."


class ContractError(Exception):
    """The tables and the services disagree: the message lists every disagreement."""


@dataclass
class Built:
    """The contract of each upstream (JSON-ready), and the stand-ins the upstreams shadow."""

    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    shadowed: list[str] = field(default_factory=list)


def build(routes: Iterable[Route], documents: Mapping[str, dict[str, Any]]) -> Built:
    built = Built()
    errors: list[str] = []
    for route in routes:
        contract = built.files.setdefault(
            route.upstream, {"upstream": route.upstream, "operations": {}, "schemas": {}}
        )
        document = documents[route.upstream]
        operation = _operation(document, route)
        if operation is None:
            errors.append(f"{route.key}: {route.upstream} has no {route.upstream_operation}")
            continue
        copier = _Copier(route.upstream, document, contract["schemas"])
        entry = _entry(route, operation, copier, built.shadowed)
        if entry["request"] is not None and not route.has_body:
            errors.append(f"{route.key}: {route.upstream_operation} takes a body; say takes_body")
        contract["operations"][route.upstream_operation] = entry
    if errors:
        raise ContractError("\n".join(errors))
    return built


def _entry(
    route: Route, operation: Mapping[str, Any], copier: _Copier, shadowed: list[str]
) -> dict[str, Any]:
    """What the gateway documents of ``operation``: the upstream's shapes, else stand-ins."""
    request = _declared_request(operation, copier)
    response = _declared_answer(operation, copier)
    for part, declared, stand_in in (
        ("request", request, route.request),
        ("response", response, route.response),
    ):
        if declared is not None and stand_in is not None:
            shadowed.append(f"{route.key}: {part}={stand_in.__name__}")
    if request is None and route.request is not None:
        schema = _stand_in(route.request, copier.into)
        request = {kind: schema for kind in route.request_media_types}
    if response is None and route.response is not None:
        response = _stand_in(route.response, copier.into)
    parameters = [copier.copy(p) for p in operation.get("parameters", []) if _query(p)]
    return {"parameters": parameters, "request": request, "response": response}


def _operation(document: Mapping[str, Any], route: Route) -> dict[str, Any] | None:
    for path, item in document.get("paths", {}).items():
        if path == route.upstream_path and route.method.lower() in item:
            operation: dict[str, Any] = item[route.method.lower()]
            shared = [p for p in item.get("parameters", []) if isinstance(p, dict)]
            return {**operation, "parameters": [*shared, *operation.get("parameters", [])]}
    return None


def _query(parameter: Mapping[str, Any]) -> bool:
    return parameter.get("in") == "query"


def _declared_request(operation: Mapping[str, Any], copier: _Copier) -> dict[str, Any] | None:
    content = operation.get("requestBody", {}).get("content", {})
    return {kind: copier.copy(media["schema"]) for kind, media in content.items()} or None


def _declared_answer(operation: Mapping[str, Any], copier: _Copier) -> dict[str, Any] | None:
    """The schema of the first 2xx answer with a body, when it is a shape."""
    for status, answer in sorted(operation.get("responses", {}).items()):
        media = next(iter(answer.get("content", {}).values()), None)
        if status.startswith("2") and media is not None:
            schema: dict[str, Any] = copier.copy(media.get("schema", {}))
            return schema if undeclared(schema, copier.into) is None else None
    return None


def _stand_in(kind: Any, schemas: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema of a gateway type, its components added as ``gateway.<Name>``."""
    template = SCHEMA_REF + STAND_IN_PREFIX + "{name}"
    (schema,), components = msgspec.json.schema_components([kind], ref_template=template)
    for name, component in components.items():
        schemas[STAND_IN_PREFIX + name] = component
    return dict(schema)


class _Copier:
    """Copies an upstream's schemas under ``<upstream>.<Name>``, with what they refer to."""

    def __init__(self, upstream: str, document: Mapping[str, Any], into: dict[str, Any]) -> None:
        self.prefix = f"{upstream}."
        self.source: Mapping[str, Any] = document.get("components", {}).get("schemas", {})
        self.into = into

    def copy(self, node: Any) -> Any:
        copied = self._renamed(copy.deepcopy(node))
        pending = list(refs(node))
        while pending:
            name = pending.pop()
            if self.prefix + name in self.into or name not in self.source:
                continue
            self.into[self.prefix + name] = self._renamed(copy.deepcopy(self.source[name]))
            pending.extend(refs(self.source[name]))
        return copied

    def _renamed(self, node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(SCHEMA_REF):
                node["$ref"] = SCHEMA_REF + self.prefix + ref[len(SCHEMA_REF) :]
            for value in node.values():
                self._renamed(value)
        elif isinstance(node, list):
            for value in node:
                self._renamed(value)
        return node
