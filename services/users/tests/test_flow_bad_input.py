"""Bad input answers a 4xx problem, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from .conftest import PASSWORD, assert_problem, new_account, unique_name

Client = AsyncTestClient[Any]


def good_registration() -> dict[str, Any]:
    name = unique_name()
    return {"username": name, "email": f"{name}@example.com", "password": PASSWORD}


@pytest.mark.parametrize(
    "change",
    [
        {"username": 42},
        {"username": None},
        {"username": "Has Spaces"},
        {"username": "x" * 33},
        {"username": "ab"},
        {"email": "not-an-email"},
        {"email": "x" * 300 + "@example.com"},
        {"password": ["a", "list"]},
        {"password": "p" * 5000},
        {"display_name": "x" * 101},
        {"display_name": 7},
        {"is_admin": True},
        {"roles": ["admin"]},
    ],
)
async def test_registration_fields(client: Client, change: dict[str, Any]) -> None:
    response = await client.post("/register", json={**good_registration(), **change})
    body = assert_problem(response, 422)
    assert body["errors"]


async def test_missing_fields(client: Client) -> None:
    body = good_registration()
    del body["email"]
    assert_problem(await client.post("/register", json=body), 422)


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"", b"[1, 2, 3]", b'"a string"', b"null", b"\xff\xfe"],
)
async def test_malformed_bodies(client: Client, raw: bytes) -> None:
    response = await client.post(
        "/register", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code in (400, 422)
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("path", ["/login", "/refresh", "/logout"])
async def test_auth_endpoints_refuse_wrong_shapes(client: Client, path: str) -> None:
    for body in (
        {"login": 42, "password": PASSWORD},
        {"refresh_token": ["x"]},
        {"refresh_token": "x" * 600},
        {"surprise": 1},
    ):
        response = await client.post(path, json=body)
        assert response.status_code == 422, (path, body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_bad_paths_and_methods(client: Client) -> None:
    account = await new_account(client)
    assert_problem(await client.delete("/me/api-tokens/not-a-uuid", headers=account.headers), 404)
    assert_problem(await client.get("/nowhere"), 404)
    assert_problem(await client.put("/register", json={}), 405)


async def test_a_huge_body_is_refused(client: Client) -> None:
    body = {**good_registration(), "display_name": "x" * 2_000_000}
    response = await client.post("/register", json=body)
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
