"""Connected integrations: one per provider, tokens encrypted at rest, key rotation."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import AsyncTestClient

from .conftest import (
    SYNCING_CLIENT,
    Account,
    AppFactory,
    UsersDb,
    admin_account,
    assert_problem,
    bearer,
    integration_key,
    new_account,
    service_token,
)

Client = AsyncTestClient[Any]

SPOTIFY = {
    "external_user_id": "spotify-user-42",
    "scopes": ["user-read-recently-played", "user-library-read"],
    "access_token": "BQD-spotify-access-PLAINTEXT-0001",
    "refresh_token": "AQB-spotify-refresh-PLAINTEXT-0001",
    "expires_at": "2030-01-01T00:00:00Z",
}


async def tokens_of(client: Client, account: Account, provider: str) -> dict[str, Any]:
    service = bearer(await service_token(client, SYNCING_CLIENT))
    response = await client.get(
        f"/internal/users/{account.id}/integrations/{provider}", headers=service
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_connect_list_replace_disconnect(client: Client) -> None:
    account = await new_account(client)
    connected = await client.put("/me/integrations/spotify", headers=account.headers, json=SPOTIFY)
    assert connected.status_code == 201
    view = connected.json()
    assert view["provider"] == "spotify"
    assert view["external_user_id"] == "spotify-user-42"
    assert view["has_refresh_token"] is True
    assert "access_token" not in view
    assert "refresh_token" not in view

    replaced = await client.put(
        "/me/integrations/spotify",
        headers=account.headers,
        json={"external_user_id": "spotify-user-43", "access_token": "new-access"},
    )
    assert replaced.status_code == 200
    assert replaced.json()["has_refresh_token"] is False

    await client.put(
        "/me/integrations/lastfm",
        headers=account.headers,
        json={"external_user_id": "rj", "access_token": "lastfm-session-key"},
    )
    listed = (await client.get("/me/integrations", headers=account.headers)).json()
    assert [i["provider"] for i in listed] == ["lastfm", "spotify"]
    assert all("access_token" not in i for i in listed)
    assert (await tokens_of(client, account, "spotify"))["access_token"] == "new-access"

    assert (
        await client.delete("/me/integrations/spotify", headers=account.headers)
    ).status_code == 204
    assert_problem(await client.delete("/me/integrations/spotify", headers=account.headers), 404)
    listed = (await client.get("/me/integrations", headers=account.headers)).json()
    assert [i["provider"] for i in listed] == ["lastfm"]


async def test_unknown_providers_and_bad_bodies(client: Client) -> None:
    account = await new_account(client)
    assert_problem(
        await client.put("/me/integrations/myspace", headers=account.headers, json=SPOTIFY), 404
    )
    for body in (
        {**SPOTIFY, "expires_at": "2030-01-01T00:00:00"},  # no timezone
        {**SPOTIFY, "scopes": "not-a-list"},
        {**SPOTIFY, "access_token": ""},
        {**SPOTIFY, "password": "x"},
    ):
        response = await client.put("/me/integrations/spotify", headers=account.headers, json=body)
        assert_problem(response, 422)


async def test_tokens_are_encrypted_at_rest(client: Client, users_db: UsersDb) -> None:
    account = await new_account(client)
    await client.put("/me/integrations/spotify", headers=account.headers, json=SPOTIFY)
    rows = await users_db.fetch(
        "SELECT * FROM users.integrations WHERE user_id = $1", uuid.UUID(account.id)
    )
    assert len(rows) == 1
    raw = b" ".join(
        bytes(v) if isinstance(v, (bytes, memoryview)) else str(v).encode()
        for v in rows[0].values()
    )
    assert b"PLAINTEXT" not in raw
    assert rows[0]["key_id"] == "k1"
    # Services acting for the user get them back in clear.
    tokens = await tokens_of(client, account, "spotify")
    assert tokens["access_token"] == SPOTIFY["access_token"]
    assert tokens["refresh_token"] == SPOTIFY["refresh_token"]
    assert tokens["scopes"] == SPOTIFY["scopes"]


async def test_the_secrets_endpoint_is_for_services_only(client: Client) -> None:
    account = await new_account(client)
    await client.put("/me/integrations/spotify", headers=account.headers, json=SPOTIFY)
    response = await client.get(
        f"/internal/users/{account.id}/integrations/spotify", headers=account.headers
    )
    assert_problem(response, 403)


async def test_key_rotation(users_app: AppFactory, users_db: UsersDb) -> None:
    k1, k2 = integration_key("k1", 1), integration_key("k2", 2)
    async with users_app(integration_keys=[k1]) as before:
        account = await new_account(before)
        await before.put("/me/integrations/spotify", headers=account.headers, json=SPOTIFY)

    # The new key first: it encrypts, the old one still decrypts.
    async with users_app(integration_keys=[k2, k1]) as during:
        assert (await tokens_of(during, account, "spotify"))["access_token"] == (
            SPOTIFY["access_token"]
        )
        admin = await admin_account(during)
        done = await during.post("/admin/integrations/reencrypt", headers=admin.headers)
        assert done.status_code == 200
        assert done.json()["key_id"] == "k2"
        assert done.json()["reencrypted"] >= 1
        again = await during.post("/admin/integrations/reencrypt", headers=admin.headers)
        assert again.json()["reencrypted"] == 0

    key_ids = await users_db.fetch("SELECT DISTINCT key_id FROM users.integrations")
    assert [r["key_id"] for r in key_ids] == ["k2"]
    # The old key can go now.
    async with users_app(integration_keys=[k2]) as after:
        tokens = await tokens_of(after, account, "spotify")
        assert tokens["access_token"] == SPOTIFY["access_token"]
        assert tokens["refresh_token"] == SPOTIFY["refresh_token"]


async def test_reading_integration_tokens_needs_the_integrations_scope(client: Client) -> None:
    account = await new_account(client)
    await client.put("/me/integrations/spotify", headers=account.headers, json=SPOTIFY)
    path = f"/internal/users/{account.id}/integrations/spotify"
    # The gateway is a service, but it syncs from no provider: it never sees the tokens.
    without = bearer(await service_token(client))
    body = assert_problem(await client.get(path, headers=without), 403)
    assert "integrations:read" in body["detail"]
    assert "access_token" not in body
    with_scope = bearer(await service_token(client, SYNCING_CLIENT, scope="integrations:read"))
    response = await client.get(path, headers=with_scope)
    assert response.status_code == 200, response.text
    assert response.json()["access_token"] == SPOTIFY["access_token"]
