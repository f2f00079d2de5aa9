"""API tokens for scrobbling clients, resolved by services holding a client-credentials
token; and the OAuth2 token endpoint itself."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import jwt
from litestar.testing import AsyncTestClient

from .conftest import (
    GATEWAY_CLIENT,
    LIMITED_CLIENT,
    SYNCING_CLIENT,
    AppFactory,
    UsersDb,
    assert_problem,
    bearer,
    new_account,
    service_token,
)

Client = AsyncTestClient[Any]


async def test_create_list_resolve_revoke(client: Client, users_db: UsersDb) -> None:
    account = await new_account(client)
    created = await client.post(
        "/me/api-tokens", headers=account.headers, json={"name": "my scrobbler"}
    )
    assert created.status_code == 201
    body = created.json()
    token = body["token"]
    assert token.startswith("mdl_")
    assert body["prefix"] == token[:12]
    assert body["name"] == "my scrobbler"
    assert body["last_used_at"] is None

    listed = (await client.get("/me/api-tokens", headers=account.headers)).json()
    assert [t["id"] for t in listed] == [body["id"]]
    assert "token" not in listed[0]
    assert set(listed[0]) == {"id", "name", "prefix", "created_at", "last_used_at"}
    # Its address, where it is read (without the secret).
    assert created.headers["location"] == f"/me/api-tokens/{body['id']}"
    read = await client.get(created.headers["location"], headers=account.headers)
    assert read.status_code == 200
    assert read.json() == listed[0]
    # Stored as a hash only.
    stored = await users_db.fetch(
        "SELECT * FROM users.api_tokens WHERE id = $1", uuid.UUID(body["id"])
    )
    assert token.encode() not in bytes(stored[0]["token_hash"])
    assert all(token not in str(value) for value in stored[0].values())

    service = bearer(await service_token(client))
    resolved = await client.post(
        "/internal/api-tokens/resolve", headers=service, json={"token": token}
    )
    assert resolved.status_code == 200
    assert resolved.json() == {
        "user_id": account.id,
        "username": account.username,
        "token_id": body["id"],
    }
    listed = (await client.get("/me/api-tokens", headers=account.headers)).json()
    assert listed[0]["last_used_at"] is not None

    revoked = await client.delete(f"/me/api-tokens/{body['id']}", headers=account.headers)
    assert revoked.status_code == 204
    assert (await client.get("/me/api-tokens", headers=account.headers)).json() == []
    assert_problem(await client.get(created.headers["location"], headers=account.headers), 404)
    gone = await client.post("/internal/api-tokens/resolve", headers=service, json={"token": token})
    assert_problem(gone, 404)


async def test_resolve_is_for_services_only(client: Client) -> None:
    account = await new_account(client)
    token = (
        await client.post("/me/api-tokens", headers=account.headers, json={"name": "x"})
    ).json()["token"]
    anonymous = await client.post("/internal/api-tokens/resolve", json={"token": token})
    assert_problem(anonymous, 401)
    as_user = await client.post(
        "/internal/api-tokens/resolve", headers=account.headers, json={"token": token}
    )
    assert_problem(as_user, 403)


async def test_unknown_tokens_do_not_resolve(client: Client) -> None:
    service = bearer(await service_token(client))
    for token in ("mdl_" + "x" * 43, "not-even-prefixed"):
        response = await client.post(
            "/internal/api-tokens/resolve", headers=service, json={"token": token}
        )
        assert_problem(response, 404)


async def test_a_user_cannot_revoke_someone_elses_token(client: Client) -> None:
    owner, other = await new_account(client), await new_account(client)
    token_id = (
        await client.post("/me/api-tokens", headers=owner.headers, json={"name": "mine"})
    ).json()["id"]
    response = await client.delete(f"/me/api-tokens/{token_id}", headers=other.headers)
    assert_problem(response, 404)
    assert_problem(await client.get(f"/me/api-tokens/{token_id}", headers=other.headers), 404)
    assert len((await client.get("/me/api-tokens", headers=owner.headers)).json()) == 1


async def test_token_names_are_required_and_bounded(client: Client) -> None:
    account = await new_account(client)
    for body in ({"name": "   "}, {"name": "x" * 101}, {}, {"name": "ok", "extra": 1}):
        response = await client.post("/me/api-tokens", headers=account.headers, json=body)
        assert_problem(response, 422)


async def test_client_credentials_as_json_and_with_basic_auth(client: Client) -> None:
    as_json = await client.post(
        "/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": GATEWAY_CLIENT[0],
            "client_secret": GATEWAY_CLIENT[1],
            "scope": "a:read b:write",
        },
    )
    assert as_json.status_code == 200
    assert as_json.headers["cache-control"] == "no-store"
    body = as_json.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["scope"] == "a:read b:write"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert set(claims) == {"iss", "aud", "sub", "iat", "exp", "jti", "roles", "token_use", "scope"}
    assert claims["sub"] == GATEWAY_CLIENT[0]
    assert claims["token_use"] == "service"
    assert claims["roles"] == ["service"]
    assert claims["scope"] == "a:read b:write"

    basic = base64.b64encode(f"{GATEWAY_CLIENT[0]}:{GATEWAY_CLIENT[1]}".encode()).decode()
    as_basic = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert as_basic.status_code == 200


async def test_a_limited_client_gets_only_its_scopes(client: Client) -> None:
    def ask(scope: str | None) -> dict[str, str]:
        form = {
            "grant_type": "client_credentials",
            "client_id": LIMITED_CLIENT[0],
            "client_secret": LIMITED_CLIENT[1],
        }
        if scope is not None:
            form["scope"] = scope
        return form

    default = await client.post("/oauth/token", data=ask(None))
    assert default.json()["scope"] == "api-tokens:resolve"
    refused = await client.post("/oauth/token", data=ask("admin:everything"))
    assert assert_problem(refused, 400)["error"] == "invalid_scope"


async def test_a_client_is_refused_every_scope_it_does_not_hold(client: Client) -> None:
    def ask(credentials: tuple[str, str], scope: str) -> dict[str, str]:
        return {
            "grant_type": "client_credentials",
            "client_id": credentials[0],
            "client_secret": credentials[1],
            "scope": scope,
        }

    # The gateway holds its registry scopes, not the integrations one (nor anything made up).
    for scope in ("integrations:read", "admin", "api-tokens:resolve integrations:read"):
        refused = await client.post("/oauth/token", data=ask(GATEWAY_CLIENT, scope))
        body = assert_problem(refused, 400)
        assert body["error"] == "invalid_scope"
        assert "access_token" not in body
    granted = await client.post("/oauth/token", data=ask(GATEWAY_CLIENT, "api-tokens:resolve"))
    assert granted.status_code == 200, granted.text
    assert granted.json()["scope"] == "api-tokens:resolve"
    # Asking for nothing grants exactly what the client holds.
    default = await client.post(
        "/oauth/token",
        data={k: v for k, v in ask(SYNCING_CLIENT, "").items() if k != "scope"},
    )
    assert default.json()["scope"] == "integrations:read"


async def test_a_client_given_only_a_secret_holds_no_scope(
    users_app: AppFactory, base_settings: dict[str, Any]
) -> None:
    bare = ("bare-client", "bare-secret-0123456789abcdef")
    form = {"grant_type": "client_credentials", "client_id": bare[0], "client_secret": bare[1]}
    # Every other client stays as configured: start-up makes the table match the settings.
    clients = {**base_settings["service_clients"], bare[0]: bare[1]}
    async with users_app(service_clients=clients) as app:
        for scope in ("admin", "integrations:read"):
            refused = await app.post("/oauth/token", data={**form, "scope": scope})
            assert assert_problem(refused, 400)["error"] == "invalid_scope"
        nothing = await app.post("/oauth/token", data=form)
        assert nothing.status_code == 200, nothing.text
        assert nothing.json()["scope"] == ""


async def test_resolving_api_tokens_needs_its_scope(client: Client) -> None:
    account = await new_account(client)
    token = (
        await client.post("/me/api-tokens", headers=account.headers, json={"name": "x"})
    ).json()["token"]
    other_scope = bearer(await service_token(client, SYNCING_CLIENT))
    refused = await client.post(
        "/internal/api-tokens/resolve", headers=other_scope, json={"token": token}
    )
    assert "api-tokens:resolve" in assert_problem(refused, 403)["detail"]


async def test_bad_client_credentials_are_invalid_client_problems(client: Client) -> None:
    for form in (
        {
            "grant_type": "client_credentials",
            "client_id": GATEWAY_CLIENT[0],
            "client_secret": "wrong-secret-wrong-secret",
        },
        {
            "grant_type": "client_credentials",
            "client_id": "nobody",
            "client_secret": GATEWAY_CLIENT[1],
        },
        {"grant_type": "client_credentials"},
    ):
        body = assert_problem(await client.post("/oauth/token", data=form), 401)
        assert body["error"] == "invalid_client"
    unsupported = await client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "client_id": GATEWAY_CLIENT[0],
            "client_secret": GATEWAY_CLIENT[1],
        },
    )
    assert assert_problem(unsupported, 400)["error"] == "unsupported_grant_type"
    no_grant = await client.post("/oauth/token", json={})
    assert assert_problem(no_grant, 400)["error"] == "invalid_request"
    not_json = await client.post(
        "/oauth/token", content=b"{oops", headers={"content-type": "application/json"}
    )
    assert assert_problem(not_json, 400)["error"] == "invalid_request"
    wrong_type = await client.post(
        "/oauth/token",
        content=b"grant_type=client_credentials",
        headers={"content-type": "text/plain"},
    )
    assert_problem(wrong_type, 415)
