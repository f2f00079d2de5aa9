"""Every error a client can meet is an RFC 9457 problem with a request id."""

from __future__ import annotations

import socket

from litestar import Litestar, get, post
from litestar.params import JSONBody
from litestar.testing import TestClient
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from medley_core.errors import PROBLEM_TYPE_BASE, Conflict, NotFound, TooManyRequests
from medley_core.problems import exception_handlers
from medley_core.tracing import RequestContextMiddleware


class Thing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=5)
    count: int


@get("/things/missing")
async def missing() -> None:
    raise NotFound("no thing with that id")


@get("/things/taken")
async def taken() -> None:
    raise Conflict("that name is taken", field="name")


@get("/things/slow-down")
async def slow_down() -> None:
    raise TooManyRequests("too many attempts", retry_after_s=7)


@get("/things/boom")
async def boom() -> None:
    raise RuntimeError("secret internals")


@post("/things")
async def create_thing(data: JSONBody[Thing]) -> Thing:
    return data


def client() -> TestClient[Litestar]:
    app = Litestar(
        route_handlers=[missing, taken, slow_down, boom, create_thing],
        exception_handlers=exception_handlers(),
        middleware=[RequestContextMiddleware],
        request_max_body_size=1024,
    )
    return TestClient(app)


def assert_problem(response: object, status: int) -> dict[str, object]:
    assert response.status_code == status  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith("application/problem+json")  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert body["status"] == status
    assert str(body["type"]).startswith("https://medley.dev/problems/")
    assert body["title"]
    assert body["request_id"]
    return body


def test_domain_problems_keep_their_status_and_extensions() -> None:
    with client() as c:
        body = assert_problem(c.get("/things/missing"), 404)
        assert body["detail"] == "no thing with that id"
        assert body["instance"] == "/things/missing"
        body = assert_problem(c.get("/things/taken"), 409)
        assert body["field"] == "name"
        response = c.get("/things/slow-down")
        assert_problem(response, 429)
        assert response.headers["retry-after"] == "7"


def test_unexpected_errors_hide_internals() -> None:
    with client() as c:
        body = assert_problem(c.get("/things/boom"), 500)
        assert "secret" not in str(body)


def test_malformed_json_is_a_400_and_wrong_fields_a_422() -> None:
    with client() as c:
        assert_problem(c.post("/things", content=b"{not json"), 400)
        body = assert_problem(
            c.post("/things", json={"name": "far too long", "count": "x", "extra": 1}), 422
        )
        fields = {str(e["field"]) for e in body["errors"]}  # type: ignore[attr-defined]
        assert {"name", "count", "extra"} <= fields


def test_routing_errors_are_problems_too() -> None:
    with client() as c:
        assert_problem(c.get("/nowhere"), 404)
        assert_problem(c.delete("/things"), 405)


def test_oversized_body_is_refused() -> None:
    with client() as c:
        assert_problem(c.post("/things", content=b"x" * 4096), 413)


def test_request_id_is_echoed_or_generated() -> None:
    with client() as c:
        response = c.get("/things/missing", headers={"X-Request-ID": "client-42"})
        assert response.headers["x-request-id"] == "client-42"
        assert response.json()["request_id"] == "client-42"
        # An unsafe id (header injection, huge) is replaced, not echoed.
        response = c.get("/things/missing", headers={"X-Request-ID": "a" * 500})
        assert response.headers["x-request-id"] != "a" * 500
        assert len(response.headers["x-request-id"]) == 32


def _closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_a_database_that_refuses_connections_is_a_503_to_retry_not_a_500() -> None:
    # A real driver error: the engine dials a port nothing listens on.
    engine = create_async_engine(f"postgresql+asyncpg://medley@127.0.0.1:{_closed_port()}/medley")

    @get("/things/count")
    async def count_things() -> int:
        async with engine.connect() as connection:
            return int((await connection.execute(text("SELECT 1"))).scalar_one())

    app = Litestar(
        route_handlers=[count_things],
        exception_handlers=exception_handlers(),
        middleware=[RequestContextMiddleware],
    )
    with TestClient(app) as test_client:
        response = test_client.get("/things/count")
    body = assert_problem(response, 503)
    assert body["type"] == PROBLEM_TYPE_BASE + "service-unavailable"
    assert response.headers["retry-after"] == "1"
