"""Every registered service documents the shape of every answer (the gateway composes from
these shapes), and the check that says so tells a typed answer from an untyped one."""

from __future__ import annotations

import importlib
import uuid
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar import Litestar, Response, delete, get, post
from litestar.params import JSONBody

from medley_core import registry
from medley_core.registry import ServiceEntry
from medley_local.openapi_shapes import (
    documented_operations,
    undeclared,
    untyped_answers,
    untyped_requests,
)


@pytest.mark.parametrize("service", registry.SERVICES, ids=lambda s: s.name)
def test_every_route_of_each_service_documents_its_answer_shape(
    service: ServiceEntry, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The app as its container starts it (the registry's factory, settings from the
    # environment); building the document connects to nothing.
    monkeypatch.setenv("MEDLEY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv(f"{service.env_prefix}DATABASE_URL", "postgresql://nobody@127.0.0.1/none")
    module, _, factory = service.app.partition(":")
    app = getattr(importlib.import_module(module), factory)()
    document = app.openapi_schema.to_schema()
    # The walk finds the service's own routes, not only the shared ones (a walk of nothing
    # would pass).
    shared = {"GET /health", "GET /health/ready"}
    assert shared < documented_operations(document)
    assert len(documented_operations(document) - shared) > 5
    assert untyped_answers(document) == []


class Thing(msgspec.Struct):
    id: uuid.UUID
    tags: list[str]


class Holder(msgspec.Struct):
    thing: Thing
    extra: dict[str, Any]


class Described(msgspec.Struct):
    raw: dict[str, Any] = msgspec.field(default_factory=dict)


@get("/typed", sync_to_thread=False)
def typed() -> list[Thing]:
    return []


@get("/mapping", sync_to_thread=False)
def mapping() -> dict[str, Thing]:
    return {}


@get("/loose", sync_to_thread=False)
def loose() -> dict[str, Any]:
    return {}


@get("/raw", sync_to_thread=False)
def raw() -> Response[Any]:
    return Response(b"")


@post("/nothing", status_code=200, sync_to_thread=False)
def nothing() -> None:
    return None


@get("/nested", sync_to_thread=False)
def nested() -> Holder:
    return Holder(Thing(uuid.uuid4(), []), {})


@delete("/gone", sync_to_thread=False)
def gone() -> None:
    return None


def test_untyped_answers_are_named_and_typed_ones_pass() -> None:
    app = Litestar([typed, mapping, loose, raw, nothing, nested, gone])
    found = untyped_answers(app.openapi_schema.to_schema())
    assert sorted(line.split(":")[0].split(" (")[0] for line in found) == [
        "GET /loose 200",
        "GET /nested 200",
        "GET /raw 200",
        "POST /nothing 200",
    ]
    assert any(".extra has no declared shape" in line for line in found)


def test_a_list_of_types_is_judged_by_its_members() -> None:
    """``"type": ["string", "null"]`` (how Litestar documents an optional enum) is a scalar;
    ``["array", "null"]`` is judged by its items, ``["object", "null"]`` by its properties."""
    components = {"Thing": {"type": "object", "properties": {"id": {"type": "string"}}}}
    nullable_enum = {"type": ["string", "null"], "enum": ["active", "disabled", None]}
    assert undeclared(nullable_enum, components) is None
    things = {"type": ["array", "null"], "items": {"$ref": "#/components/schemas/Thing"}}
    assert undeclared(things, components) is None
    loose = {"type": ["array", "null"], "items": {}}
    assert undeclared(loose, components) is not None
    assert undeclared({"type": ["object", "null"]}, components) is not None
    assert (
        undeclared(
            {"type": ["object", "null"], "properties": {"a": {"type": "integer"}}}, components
        )
        is None
    )


@post("/things", sync_to_thread=False)
def create_thing(data: JSONBody[Thing]) -> Thing:
    return data


@post("/anything", sync_to_thread=False)
def create_anything(data: JSONBody[dict[str, Any]]) -> Thing:
    return Thing(uuid.uuid4(), [])


@post("/bodiless", status_code=200, sync_to_thread=False)
def bodiless() -> Thing:
    return Thing(uuid.uuid4(), [])


def test_untyped_requests_are_named_and_typed_ones_pass() -> None:
    document = Litestar([create_thing, create_anything, bodiless]).openapi_schema.to_schema()
    found = untyped_requests(document)
    assert sorted(line.split(" (")[0].split(":")[0] for line in found) == [
        "POST /anything",
        "POST /bodiless",
    ]
    # Which operations take a body is the caller's to say.
    assert untyped_requests(document, lambda method, path: path != "/bodiless") == [
        line for line in found if "/anything" in line
    ]
