"""The app as operators run it: configured from the environment, keys rotated through the
settings, its OpenAPI document; and refresh under concurrency."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path
from typing import Any

import jwt
import pytest
from litestar.testing import AsyncTestClient

from medley_users.app import create_app
from medley_users.tokens import DEV_KEY_FILE, SigningKey

from .conftest import (
    GATEWAY_CLIENT,
    AppFactory,
    UsersDb,
    assert_problem,
    bearer,
    login,
    new_account,
)

Client = AsyncTestClient[Any]


async def test_create_app_reads_the_environment(
    monkeypatch: pytest.MonkeyPatch, users_infra: Any, users_db: UsersDb, tmp_path: Path
) -> None:
    monkeypatch.setenv("MEDLEY_USERS_DATABASE_URL", users_db.service_url)
    monkeypatch.setenv("MEDLEY_NATS_URL", users_infra.nats_url)
    monkeypatch.setenv("MEDLEY_EVENT_PREFIX", users_infra.event_prefix)
    monkeypatch.setenv("MEDLEY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MEDLEY_LOG_JSON", "false")
    monkeypatch.setenv("MEDLEY_USERS_SERVICE_CLIENTS", json.dumps(dict([GATEWAY_CLIENT])))
    monkeypatch.setenv("MEDLEY_USERS_ERASURE_CONTEXTS", '["catalog"]')
    async with AsyncTestClient(create_app()) as client:
        assert (await client.get("/health")).status_code == 200
        account = await new_account(client)
        assert (await client.get("/me", headers=account.headers)).status_code == 200
    # Development keys were generated into the data directory, private, and are reused.
    for name in (DEV_KEY_FILE, "integration-keys.json"):
        path = tmp_path / "users" / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    async with AsyncTestClient(create_app()) as again:
        assert (await again.get("/me", headers=account.headers)).status_code == 200


async def test_signing_key_rotation(users_app: AppFactory) -> None:
    old, new = SigningKey.generate(), SigningKey.generate()
    old_pem, new_pem = old.private_pem().decode(), new.private_pem().decode()
    async with users_app(signing_keys=[old_pem]) as before:
        account = await new_account(before)
        assert jwt.get_unverified_header(account.access_token)["kid"] == old.kid

    async with users_app(signing_keys=[new_pem, old_pem]) as during:
        kids = [k["kid"] for k in (await during.get("/.well-known/jwks.json")).json()["keys"]]
        assert kids == [new.kid, old.kid]
        # Tokens signed before the rotation keep working until they expire...
        assert (await during.get("/me", headers=account.headers)).status_code == 200
        # ...and new ones are signed with the new key.
        fresh = await login(during, account.username)
        assert jwt.get_unverified_header(fresh["access_token"])["kid"] == new.kid

    async with users_app(signing_keys=[new_pem]) as after:
        kids = [k["kid"] for k in (await after.get("/.well-known/jwks.json")).json()["keys"]]
        assert kids == [new.kid]
        assert_problem(await after.get("/me", headers=account.headers), 401)
        assert (await after.get("/me", headers=bearer(fresh["access_token"]))).status_code == 200


async def test_one_refresh_token_used_twice_at_once(client: Client) -> None:
    """Two uses race: one wins, the other is reuse, and the family ends either way."""
    account = await new_account(client)
    first, second = await asyncio.gather(
        client.post("/refresh", json={"refresh_token": account.refresh_token}),
        client.post("/refresh", json={"refresh_token": account.refresh_token}),
    )
    assert sorted([first.status_code, second.status_code]) == [200, 401]
    winner = first if first.status_code == 200 else second
    after = await client.post("/refresh", json={"refresh_token": winner.json()["refresh_token"]})
    assert_problem(after, 401)


async def test_the_openapi_document_describes_the_api(client: Client) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/register",
        "/login",
        "/refresh",
        "/logout",
        "/me",
        "/me/password",
        "/me/api-tokens",
        "/me/integrations/{provider}",
        "/oauth/token",
        "/.well-known/jwks.json",
        "/admin/users",
        "/internal/api-tokens/resolve",
    ):
        assert path in paths, path
