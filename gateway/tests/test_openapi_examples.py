"""Every example in the gateway's served document validates against the schema beside it, and
the main operations of each service have examples.

The workspace has no JSON Schema library, so :func:`violations` checks the keywords the
document uses (those of OpenAPI 3.1 / JSON Schema 2020-12 that Litestar, pydantic and msgspec
write) and fails on any other validation keyword, so a new one cannot pass unchecked.
"""

from __future__ import annotations

import copy
import re
import uuid
from datetime import date, datetime
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from medley_core.testing.tokens import TokenMint
from medley_gateway.app import create_app
from medley_gateway.examples import EXAMPLES, add_examples
from medley_gateway.settings import GatewaySettings
from medley_gateway.upstreams import UPSTREAMS

REF = "#/components/schemas/"
# Keywords that describe and do not constrain.
ANNOTATIONS = frozenset(
    {"title", "description", "default", "examples", "example", "deprecated", "readOnly",
     "writeOnly", "contentEncoding", "contentMediaType", "discriminator", "externalDocs",
     "$schema", "$id", "nullable"}
)  # fmt: skip
TYPES: dict[str, Any] = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "null": type(None),
}


def _is(value: Any, kind: str) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind not in TYPES:
        raise AssertionError(f"unknown type {kind!r}")
    return isinstance(value, TYPES[kind])


def _format_ok(value: Any, fmt: str) -> bool:
    if not isinstance(value, str):
        return True
    try:
        if fmt == "uuid":
            uuid.UUID(value)
        elif fmt == "date-time":
            datetime.fromisoformat(value.replace("Z", "+00:00"))
            return "T" in value
        elif fmt == "date":
            date.fromisoformat(value)
    except ValueError:
        return False
    return True


def violations(value: Any, schema: Any, schemas: dict[str, Any], at: str = "$") -> list[str]:
    """Where ``value`` breaks ``schema`` (an empty list: it conforms)."""
    if schema is True or schema == {}:
        return []
    found: list[str] = []
    for keyword, rule in schema.items():
        if keyword in ANNOTATIONS:
            continue
        if keyword == "$ref":
            assert rule.startswith(REF), rule
            found += violations(value, schemas[rule[len(REF) :]], schemas, at)
        elif keyword == "type":
            kinds = rule if isinstance(rule, list) else [rule]
            if not any(_is(value, kind) for kind in kinds):
                found.append(f"{at}: {value!r} is not of type {rule}")
        elif keyword == "enum":
            if value not in rule:
                found.append(f"{at}: {value!r} is not one of {rule}")
        elif keyword == "const":
            if value != rule:
                found.append(f"{at}: {value!r} is not {rule!r}")
        elif keyword == "format":
            if not _format_ok(value, rule):
                found.append(f"{at}: {value!r} is not a {rule}")
        elif keyword in ("minLength", "maxLength", "pattern"):
            if isinstance(value, str):
                if keyword == "minLength" and len(value) < rule:
                    found.append(f"{at}: shorter than {rule}")
                if keyword == "maxLength" and len(value) > rule:
                    found.append(f"{at}: longer than {rule}")
                if keyword == "pattern" and not re.search(rule, value):
                    found.append(f"{at}: does not match {rule}")
        elif keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            if _is(value, "number"):
                broken = {
                    "minimum": value < rule,
                    "maximum": value > rule,
                    "exclusiveMinimum": value <= rule,
                    "exclusiveMaximum": value >= rule,
                }[keyword]
                if broken:
                    found.append(f"{at}: {value} breaks {keyword} {rule}")
        elif keyword in ("minItems", "maxItems"):
            if isinstance(value, list) and (
                (keyword == "minItems" and len(value) < rule)
                or (keyword == "maxItems" and len(value) > rule)
            ):
                found.append(f"{at}: {len(value)} items breaks {keyword} {rule}")
        elif keyword == "items":
            if isinstance(value, list):
                for i, item in enumerate(value):
                    found += violations(item, rule, schemas, f"{at}[{i}]")
        elif keyword == "required":
            if isinstance(value, dict):
                found += [f"{at}: lacks {name!r}" for name in rule if name not in value]
        elif keyword == "properties":
            if isinstance(value, dict):
                for name, sub in rule.items():
                    if name in value:
                        found += violations(value[name], sub, schemas, f"{at}.{name}")
        elif keyword == "additionalProperties":
            if isinstance(value, dict):
                declared = set(schema.get("properties", {}))
                for name, item in value.items():
                    if name in declared:
                        continue
                    if rule is False:
                        found.append(f"{at}: {name!r} is not allowed")
                    elif isinstance(rule, dict):
                        found += violations(item, rule, schemas, f"{at}.{name}")
        elif keyword == "allOf":
            for sub in rule:
                found += violations(value, sub, schemas, at)
        elif keyword in ("anyOf", "oneOf"):
            matching = sum(not violations(value, sub, schemas, at) for sub in rule)
            if matching == 0 or (keyword == "oneOf" and matching > 1):
                found.append(f"{at}: {value!r} matches {matching} of {keyword} {rule}")
        else:
            raise AssertionError(f"{at}: the test does not check {keyword!r}; teach it")
    return found


def examples_in(document: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """Every (where, example, schema) of the document: media types' ``example`` and
    ``examples``, and schemas' own ``examples``."""
    found: list[tuple[str, Any, Any]] = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            media = [
                (f"{method.upper()} {path} request {kind}", content)
                for kind, content in operation.get("requestBody", {}).get("content", {}).items()
            ]
            media += [
                (f"{method.upper()} {path} {status} {kind}", content)
                for status, answer in operation.get("responses", {}).items()
                for kind, content in answer.get("content", {}).items()
            ]
            for where, content in media:
                if "example" in content:
                    found.append((where, content["example"], content["schema"]))
                for name, example in content.get("examples", {}).items():
                    found.append((f"{where} ({name})", example["value"], content["schema"]))

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("examples"), list):
                for i, example in enumerate(node["examples"]):
                    found.append((f"{where} examples[{i}]", example, node))
            for key, child in node.items():
                if key != "examples":
                    walk(child, f"{where}.{key}")
        elif isinstance(node, list):
            for i, child in enumerate(node):
                walk(child, f"{where}[{i}]")

    # A schema's ``examples`` is a list (a media type's is a map): anywhere in the document.
    walk(document["paths"], "paths")
    walk(document["components"]["schemas"], "components.schemas")
    return found


_SERVED: list[dict[str, Any]] = []


@pytest.fixture
async def document() -> dict[str, Any]:
    """The document the gateway serves at ``/docs/openapi.json`` (made once per module)."""
    if not _SERVED:
        keys = TokenMint()
        settings = GatewaySettings(
            users_url="http://users.test",
            upstream_urls={spec.name: f"http://{spec.name}.test" for spec in UPSTREAMS},
            log_json=False,
        )
        app = create_app(
            settings,
            verifier=keys.verifier(),
            transports={
                spec.name: httpx.MockTransport(lambda _: httpx.Response(503)) for spec in UPSTREAMS
            },
        )
        async with AsyncTestClient(app) as client:
            response = await client.get("/docs/openapi.json")
        assert response.status_code == 200
        _SERVED.append(response.json())
    return _SERVED[0]


async def test_every_example_in_the_document_validates_against_its_schema(
    document: dict[str, Any],
) -> None:
    found = examples_in(document)
    schemas = document["components"]["schemas"]
    broken = {where: errors for where, example, schema in found
              if (errors := violations(example, schema, schemas))}  # fmt: skip
    assert broken == {}
    # The table's and the ListenBrainz submission's, at least.
    assert len(found) >= sum(
        len(p.get("request", {})) + len(p["responses"]) for p in EXAMPLES.values()
    )


MAIN_OPERATIONS = [
    ("POST /api/v1/auth/register", "request", 201),
    ("POST /api/v1/auth/login", "request", 200),
    ("POST /api/v1/auth/token", "request", 200),
    ("GET /api/v1/me", None, 200),
    ("POST /api/v1/me/api-tokens", "request", 201),
    ("GET /api/v1/catalog/tracks/{entity_id}", None, 200),
    ("GET /api/v1/catalog/albums/{entity_id}", None, 200),
    ("GET /api/v1/catalog/artists/{entity_id}", None, 200),
    ("GET /api/v1/albums/{album_id}", None, 200),
    ("GET /api/v1/artists/{artist_id}", None, 200),
    ("POST /api/v1/imports", None, 202),
    ("GET /api/v1/imports/{job_id}", None, 200),
    ("GET /api/v1/me/listens", None, 200),
    ("POST /1/submit-listens", "request", None),
    ("POST /api/v1/playlists", "request", 201),
    ("POST /api/v1/playlists/{playlist_id}/items", "request", 201),
    ("PATCH /api/v1/playlists/{playlist_id}/items", "request", 200),
    ("GET /api/v1/me/collections/{kinds}", None, 200),
    ("PUT /api/v1/me/collections/{kinds}/{entity_id}", None, 200),
    ("POST /api/v1/smart-playlists", "request", 201),
]


def _has_example(content: dict[str, Any], schemas: dict[str, Any]) -> bool:
    if "example" in content or content.get("examples"):
        return True
    schema = content.get("schema", {})
    if schema.get("examples"):
        return True
    ref = schema.get("$ref", "")
    target = schemas.get(ref[len(REF) :], schema) if ref.startswith(REF) else schema
    return bool(target.get("examples"))


@pytest.mark.parametrize(("operation", "request_part", "status"), MAIN_OPERATIONS)
async def test_the_main_operations_have_examples(
    document: dict[str, Any], operation: str, request_part: str | None, status: int | None
) -> None:
    method, _, path = operation.partition(" ")
    found = document["paths"][path][method.lower()]
    schemas = document["components"]["schemas"]
    if request_part is not None:
        content = found["requestBody"]["content"]
        assert content
        assert all(_has_example(media, schemas) for media in content.values())
    if status is not None:
        media = found["responses"][str(status)]["content"]["application/json"]
        assert _has_example(media, schemas)


def test_an_example_that_breaks_its_schema_is_caught() -> None:
    """The check itself: a wrong type, a missing field, a bad uuid each fail it."""
    schemas = {
        "Thing": {
            "type": "object",
            "required": ["id", "count"],
            "properties": {
                "id": {"type": "string", "format": "uuid"},
                "count": {"type": "integer", "minimum": 0},
                "note": {"oneOf": [{"type": "string"}, {"type": "null"}]},
            },
        }
    }
    ref = {"$ref": REF + "Thing"}
    good = {"id": str(uuid.uuid4()), "count": 3, "note": None}
    assert violations(good, ref, schemas) == []
    assert violations({**good, "count": "3"}, ref, schemas)
    assert violations({"id": good["id"]}, ref, schemas)
    assert violations({**good, "id": "not-a-uuid"}, ref, schemas)
    assert violations({**good, "count": -1}, ref, schemas)
    assert violations({**good, "note": 7}, ref, schemas)
    with pytest.raises(AssertionError, match="teach it"):
        violations("x", {"unevaluatedProperties": False}, schemas)


def test_an_example_for_an_operation_the_document_lacks_is_refused() -> None:
    document = {"paths": {"/a": {"get": {"responses": {"200": {"content": {}}}}}}}
    with pytest.raises(KeyError):
        add_examples(copy.deepcopy(document), {"GET /b": {"responses": {200: {}}}})
    with pytest.raises(KeyError):
        add_examples(copy.deepcopy(document), {"GET /a": {"responses": {200: {}}}})
