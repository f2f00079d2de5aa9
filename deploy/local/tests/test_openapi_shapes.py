"""The answer-shape check tells a typed answer from an untyped one (so the services' tests
that run it can fail)."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Litestar, Response, delete, get, post

from medley_local.openapi_shapes import untyped_answers


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
