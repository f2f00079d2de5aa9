"""Whether every route an app documents says what it answers.

:func:`untyped_answers` walks an OpenAPI document and names each operation whose success
answer (any 2xx but 204) has no declared shape: no body, an empty schema (``{}``, what a
``Response`` or ``None`` return documents), or a free-form object (what ``dict[str, Any]``
documents) — at the top or anywhere inside, following ``$ref``s. A shape is declared when
every part of it is: an object with properties, a mapping whose values are declared, an
array of declared items, a union of declared members, or a scalar; inside an answer, a
free-form part passes only when its schema says what it holds (a description: an event
body kept as it arrived, say). Each service's tests run
it over their own app, so a route added with an untyped answer fails a test; the gateway
composes from these shapes. :func:`untyped_requests` does the same for request bodies (the
gateway's document is held to both).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

METHODS = ("get", "post", "put", "patch", "delete")
SCALARS = {"string", "integer", "number", "boolean", "null"}


def _writes(method: str, path: str) -> bool:
    return method in ("post", "put", "patch")


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """``(method, path, operation)`` for each operation the document describes."""
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                yield method, path, item[method]


def documented_operations(document: dict[str, Any]) -> set[str]:
    """``"GET /path"`` for each operation the document describes."""
    return {f"{method.upper()} {path}" for method, path, _ in operations(document)}


def untyped_answers(document: dict[str, Any]) -> list[str]:
    """``"GET /path 200: why"`` for each success answer without a declared shape."""
    components = document.get("components", {}).get("schemas", {})
    found: list[str] = []
    for method, path, operation in operations(document):
        for status, response in operation.get("responses", {}).items():
            if not status.startswith("2") or status == "204":
                continue
            where = f"{method.upper()} {path} {status}"
            content = response.get("content") or {}
            if not content:
                found.append(f"{where}: no body")
            found += _untyped_content(where, content, components)
    return found


def untyped_requests(
    document: dict[str, Any], takes_a_body: Callable[[str, str], bool] = _writes
) -> list[str]:
    """``"PATCH /path: why"`` for each operation that takes a body without a declared request
    shape; ``takes_a_body(method, path)`` says which do (by default every POST, PUT and
    PATCH)."""
    components = document.get("components", {}).get("schemas", {})
    found: list[str] = []
    for method, path, operation in operations(document):
        if not takes_a_body(method, path):
            continue
        where = f"{method.upper()} {path}"
        content = operation.get("requestBody", {}).get("content") or {}
        if not content:
            found.append(f"{where}: no request body")
        found += _untyped_content(where, content, components)
    return found


def _untyped_content(where: str, content: dict[str, Any], components: dict[str, Any]) -> list[str]:
    found = []
    for media_type, body in content.items():
        why = undeclared(body.get("schema") or {}, components)
        if why is not None:
            found.append(f"{where} ({media_type}): {why}")
    return found


def undeclared(schema: dict[str, Any], components: dict[str, Any]) -> str | None:
    """Why ``schema`` (a request body's or an answer's) is not a declared shape, with
    ``components`` the document's schemas; None if it is. The gateway's contracts and its
    document's test judge the services' shapes with this too."""
    return _undeclared(schema, components, "", set())


def _undeclared(
    schema: dict[str, Any], components: dict[str, Any], at: str, seen: set[str]
) -> str | None:
    """Why ``schema`` (at ``at`` inside the answer) is not a declared shape; None if it is."""
    ref = schema.get("$ref")
    if ref is not None:
        name = ref.rsplit("/", 1)[-1]
        if name in seen:
            return None
        if name not in components:
            return f"{at or 'the answer'} refers to a missing schema {name!r}"
        return _undeclared(components[name], components, at, seen | {name})
    members = schema.get("oneOf") or schema.get("anyOf") or schema.get("allOf")
    if members:
        return _first(_undeclared(member, components, at, seen) for member in members if member)
    kind = schema.get("type")
    if isinstance(kind, list):  # ["string", "null"]: a nullable string, say
        kinds = [k for k in kind if k != "null"]
        if set(kinds) <= SCALARS:
            return None
        kind = kinds[0] if len(kinds) == 1 else kind
    if kind == "array":
        return _undeclared(schema.get("items") or {}, components, f"{at}[]", seen)
    if isinstance(kind, str) and kind in SCALARS:
        return None
    if "const" in schema or "enum" in schema:
        return None
    properties = schema.get("properties")
    if properties:
        return _first(
            _undeclared(sub or {}, components, f"{at}.{name}", seen)
            for name, sub in properties.items()
        )
    values = schema.get("additionalProperties")
    if isinstance(values, dict) and values:
        return _undeclared(values, components, f"{at}{{}}", seen)
    if at and schema.get("description"):
        return None  # free-form on purpose inside an answer, and it says what it holds
    return f"{at or 'the answer'} has no declared shape ({schema or 'an empty schema'})"


def _first(reasons: Any) -> str | None:
    return next((reason for reason in reasons if reason is not None), None)
