"""The request-decoding guard: hostile bodies, query strings and path parameters are 4xx
problems naming the field, logged as nothing worse than a client error; uploads pass."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

import pytest
from litestar import Litestar, Request, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, JSONBody
from litestar.testing import TestClient
from pydantic import AwareDatetime, BaseModel

from medley_core.decoding import (
    MAX_JSON_DEPTH,
    MAX_QUERY_BYTES,
    DecodingGuardMiddleware,
    out_of_range_datetime,
)
from medley_core.problems import exception_handlers
from medley_core.tracing import RequestContextMiddleware


class Item(BaseModel):
    name: str


class Thing(BaseModel):
    name: str
    items: list[Item] = []
    when: AwareDatetime | None = None


@post("/things")
async def create_thing(data: JSONBody[Thing]) -> dict[str, Any]:
    # What a service does with a timestamp: store it in UTC.
    when = data.when.astimezone(UTC).isoformat() if data.when else None
    return {"name": data.name, "when": when}


@post("/raw")
async def raw(data: JSONBody[Any]) -> dict[str, Any]:
    return {"type": type(data).__name__}


@get("/search")
async def search(q: FromQuery[str] = "", since: FromQuery[str] = "") -> dict[str, str]:
    return {"q": q}


@get("/providers/{provider:str}")
async def provider(provider: FromPath[str]) -> dict[str, str]:
    return {"provider": provider}


@post("/upload")
async def upload(
    data: Annotated[UploadFile, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> dict[str, Any]:
    return {"size": len(await data.read())}


@post("/stream")
async def stream(request: Request[Any, Any, Any]) -> dict[str, int]:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
    return {"size": size}


@pytest.fixture
def client() -> Iterator[TestClient[Litestar]]:
    app = Litestar(
        route_handlers=[create_thing, raw, search, provider, upload, stream],
        exception_handlers=exception_handlers(),
        middleware=[RequestContextMiddleware, DecodingGuardMiddleware],
        request_max_body_size=1_000_000,
    )
    with TestClient(app) as started:
        yield started


@pytest.fixture
def errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[list[logging.LogRecord]]:
    """The ERROR records and tracebacks the test produced (there must be none)."""
    caplog.set_level(logging.INFO)
    found: list[logging.LogRecord] = []
    yield found
    found.extend(r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info)
    assert not found, [r.getMessage() for r in found]


def json_post(
    client: TestClient[Litestar], path: str, raw: bytes, media: str = "application/json"
) -> Any:
    return client.post(path, content=raw, headers={"content-type": media})


def assert_problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"] == f"https://medley.dev/problems/{slug}"
    assert body["request_id"] == response.headers["x-request-id"]
    assert body["instance"]
    return body


def fields(body: dict[str, Any]) -> list[str]:
    return [e["field"] for e in body["errors"]]


# -- JSON bodies ------------------------------------------------------------------------------


@pytest.mark.usefixtures("errors_logged")
@pytest.mark.parametrize("path", ["/things", "/raw"])
def test_invalid_utf8_in_a_string_is_a_malformed_request(
    client: TestClient[Litestar], path: str
) -> None:
    body = assert_problem(
        json_post(client, path, b'{"name":"\xff","password":"x"}'), 400, "malformed-request"
    )
    assert "UTF-8" in body["detail"]


@pytest.mark.usefixtures("errors_logged")
@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1000, 100_000])
def test_deep_nesting_is_a_malformed_request(client: TestClient[Litestar], depth: int) -> None:
    raw = b"[" * depth + b"]" * depth
    body = assert_problem(json_post(client, "/raw", raw), 400, "malformed-request")
    assert str(MAX_JSON_DEPTH) in body["detail"]
    nested_objects = b'{"a":' * depth + b"1" + b"}" * depth
    assert_problem(json_post(client, "/raw", nested_objects), 400, "malformed-request")


def test_nesting_up_to_the_bound_is_accepted(client: TestClient[Litestar]) -> None:
    raw = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH
    assert json_post(client, "/raw", raw).json() == {"type": "list"}


@pytest.mark.usefixtures("errors_logged")
@pytest.mark.parametrize(
    ("document", "field"),
    [
        (b'{"name": "a\\u0000b"}', "name"),
        (b'{"name": "ok", "items": [{"name": "x"}, {"name": "\\u0000"}]}', "items.1.name"),
        (b'{"name": "ok", "a\\u0000": 1}', "a\\u0000"),
        (b'"\\u0000"', "body"),
    ],
)
def test_a_nul_in_any_string_is_refused_naming_the_field(
    client: TestClient[Litestar], document: bytes, field: str
) -> None:
    path = "/raw" if document.startswith(b'"') else "/things"
    body = assert_problem(json_post(client, path, document), 422, "validation-failed")
    assert fields(body) == [field]
    assert body["errors"][0]["message"] == "must not contain a NUL character"
    assert body["detail"] == "the request has invalid or missing fields"


def test_an_escaped_backslash_before_u0000_is_not_a_nul(client: TestClient[Litestar]) -> None:
    response = json_post(client, "/things", b'{"name": "\\\\u0000"}')
    assert response.status_code == 201
    assert response.json()["name"] == "\\u0000"


@pytest.mark.usefixtures("errors_logged")
def test_the_guard_reads_json_sent_under_another_content_type(
    client: TestClient[Litestar],
) -> None:
    # Litestar decodes a JSON-typed ``data`` whatever the Content-Type says.
    for media in ("text/plain", ""):
        assert_problem(
            json_post(client, "/things", b'{"name": "\xff"}', media), 400, "malformed-request"
        )
        assert_problem(
            json_post(client, "/things", b'{"name": "\\u0000"}', media), 422, "validation-failed"
        )


def test_many_nuls_are_named_a_bounded_number_of_times(client: TestClient[Litestar]) -> None:
    raw = b'{"name": "x", "items": [' + b",".join([b'{"name": "\\u0000"}'] * 500) + b"]}"
    body = assert_problem(json_post(client, "/things", raw), 422, "validation-failed")
    assert 1 <= len(body["errors"]) <= 20


# -- timestamps -------------------------------------------------------------------------------


@pytest.mark.usefixtures("errors_logged")
@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00+23:59",
        "9999-12-31T23:59:59-23:59",
        "0001-01-01 00:00:00+01:00",
        "9999-12-31T23:00:00.5-01:00",
    ],
)
def test_timestamps_without_a_utc_equivalent_are_refused(
    client: TestClient[Litestar], value: str
) -> None:
    document = f'{{"name": "x", "when": "{value}"}}'.encode()
    body = assert_problem(json_post(client, "/things", document), 422, "validation-failed")
    assert fields(body) == ["when"]
    body = assert_problem(client.get("/search", params={"since": value}), 422, "validation-failed")
    assert fields(body) == ["since"]


def test_a_timestamp_written_with_escapes_is_still_seen(client: TestClient[Litestar]) -> None:
    # "\u0030" is "0": the fast path must not skip a body because the raw bytes differ.
    document = b'{"name": "x", "when": "\\u0030001-01-01T00:00:00+23:59"}'
    assert fields(
        assert_problem(json_post(client, "/things", document), 422, "validation-failed")
    ) == ["when"]


@pytest.mark.parametrize(
    "value",
    ["0001-01-01T00:00:00Z", "0001-01-01T23:59:00+23:59", "9999-12-31T23:59:59+05:00"],
)
def test_timestamps_at_the_limits_that_convert_are_accepted(
    client: TestClient[Litestar], value: str
) -> None:
    response = json_post(client, "/things", f'{{"name": "x", "when": "{value}"}}'.encode())
    assert response.status_code == 201, response.text
    assert response.json()["when"] == datetime.fromisoformat(value).astimezone(UTC).isoformat()


def test_out_of_range_datetime_leaves_other_strings_alone() -> None:
    assert out_of_range_datetime("0001-01-01T00:00:00+00:01")
    assert not out_of_range_datetime("0001-01-01T00:00:00")  # naive: no conversion
    assert not out_of_range_datetime("0001-not-a-date")
    assert not out_of_range_datetime("2024-01-01T00:00:00+23:59")


# -- query strings and path parameters --------------------------------------------------------


@pytest.mark.usefixtures("errors_logged")
def test_a_nul_in_a_query_parameter_is_refused_naming_it(client: TestClient[Litestar]) -> None:
    body = assert_problem(client.get("/search?q=a%00b"), 422, "validation-failed")
    assert fields(body) == ["q"]
    body = assert_problem(client.get("/search?q%00x=1"), 422, "validation-failed")
    assert fields(body) == ["q\\u0000x"]


@pytest.mark.usefixtures("errors_logged")
def test_a_nul_in_a_path_parameter_is_refused_naming_it(client: TestClient[Litestar]) -> None:
    body = assert_problem(client.get("/providers/a%00b"), 422, "validation-failed")
    assert fields(body) == ["provider"]


@pytest.mark.usefixtures("errors_logged")
def test_an_overlong_query_string_is_refused(client: TestClient[Litestar]) -> None:
    assert_problem(client.get("/search", params={"q": "x" * MAX_QUERY_BYTES}), 414, "uri-too-long")
    assert client.get("/search", params={"q": "x" * 1000}).status_code == 200


# -- what the guard leaves alone --------------------------------------------------------------


def test_multipart_uploads_are_not_read_as_json(client: TestClient[Litestar]) -> None:
    payload = b"\xff\x00" * 1000 + b"[" * 5000
    response = client.post("/upload", files={"data": ("a.bin", payload, "audio/flac")})
    assert response.status_code == 201, response.text
    assert response.json() == {"size": len(payload)}


def test_streamed_bodies_reach_their_handler_unread(client: TestClient[Litestar]) -> None:
    payload = b"\xff\x00" * 10_000
    response = json_post(client, "/stream", payload, "application/octet-stream")
    assert response.json() == {"size": len(payload)}


def test_ordinary_requests_pass(client: TestClient[Litestar]) -> None:
    document = b'{"name": "Bj\\u00f6rk", "items": [{"name": "Homogenic"}]}'
    assert json_post(client, "/things", document).json() == {"name": "Björk", "when": None}
    assert client.get("/search", params={"q": "pink floyd"}).json() == {"q": "pink floyd"}
