"""What the end-to-end tests share: talking to the gateway as a client would."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import httpx
import jwt

PROBLEM = "application/problem+json"
DEV_KEY_FILE = "jwt-ed25519.pem"  # medley_users.tokens.DEV_KEY_FILE
PASSWORD = "correct horse battery staple"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})


def assert_problem(response: httpx.Response, status: int | None = None) -> dict[str, Any]:
    """A problem-details answer (with the status if given), never a 5xx."""
    assert response.status_code < 500, response.text
    if status is not None:
        assert response.status_code == status, response.text
    else:
        assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == response.status_code
    assert body["type"].startswith("https://")
    assert body["title"]
    return body


def new_account() -> dict[str, str]:
    name = f"e2e-{uuid.uuid4().hex[:12]}"
    return {"username": name, "email": f"{name}@example.com", "password": PASSWORD}


async def register(api: httpx.AsyncClient, account: dict[str, str]) -> dict[str, Any]:
    response = await api.post("/api/v1/auth/register", json=account)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def login(api: httpx.AsyncClient, login_name: str, password: str = PASSWORD) -> Any:
    response = await api.post(
        "/api/v1/auth/login", json={"login": login_name, "password": password}
    )
    assert response.status_code == 200, response.text
    return response.json()
