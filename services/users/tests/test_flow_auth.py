"""Register, log in, refresh (rotation, reuse, expiry), log out, and the tokens themselves:
through the HTTP API of the real app, on real PostgreSQL."""

from __future__ import annotations

from typing import Any

import jwt
from litestar.testing import AsyncTestClient

from .conftest import (
    PASSWORD,
    UsersDb,
    assert_problem,
    bearer,
    login,
    new_account,
    register,
    unique_name,
)

Client = AsyncTestClient[Any]


async def test_register_answers_the_account(client: Client) -> None:
    name = unique_name()
    response = await client.post(
        "/register",
        json={
            "username": name,
            "email": f"  {name.upper()}@Example.COM ",
            "password": PASSWORD,
            "display_name": "  Ada Lovelace ",
        },
    )
    assert response.status_code == 201
    # The new account's address: its own, once logged in.
    assert response.headers["location"] == "/me"
    body = response.json()
    assert set(body) == {"id", "username", "email", "display_name", "roles", "created_at"}
    assert body["username"] == name
    assert body["email"] == f"{name}@example.com"
    assert body["display_name"] == "Ada Lovelace"
    assert body["roles"] == ["user"]


async def test_a_taken_username_is_a_conflict_naming_the_field(client: Client) -> None:
    user = await register(client)
    response = await client.post(
        "/register",
        json={"username": user["username"], "email": "other@example.com", "password": PASSWORD},
    )
    assert assert_problem(response, 409)["field"] == "username"


async def test_a_taken_email_in_another_case_is_a_conflict(client: Client) -> None:
    user = await register(client)
    response = await client.post(
        "/register",
        json={
            "username": unique_name(),
            "email": user["email"].upper(),
            "password": PASSWORD,
        },
    )
    assert assert_problem(response, 409)["field"] == "email"


async def test_a_weak_password_is_refused_with_reasons(client: Client) -> None:
    name = unique_name()
    response = await client.post(
        "/register",
        json={"username": name, "email": f"{name}@example.com", "password": f"{name}-2024!"},
    )
    body = assert_problem(response, 422)
    assert any("username" in e["message"] for e in body["errors"])
    short = await client.post(
        "/register",
        json={"username": unique_name(), "email": "s@example.com", "password": "short"},
    )
    assert "10 characters" in assert_problem(short, 422)["detail"]


async def test_login_by_username_or_email(client: Client) -> None:
    user = await register(client)
    by_name = await login(client, user["username"])
    by_email = await login(client, f" {user['email'].upper()} ")
    for tokens in (by_name, by_email):
        assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in"}
        assert tokens["token_type"] == "Bearer"
        assert tokens["expires_in"] == 900
        me = await client.get("/me", headers=bearer(tokens["access_token"]))
        assert me.json()["id"] == user["id"]


async def test_wrong_password_and_unknown_user_look_the_same(client: Client) -> None:
    user = await register(client)
    wrong = await client.post("/login", json={"login": user["username"], "password": "x" * 12})
    unknown = await client.post("/login", json={"login": unique_name(), "password": PASSWORD})
    wrong_body, unknown_body = assert_problem(wrong, 401), assert_problem(unknown, 401)
    assert wrong_body["detail"] == unknown_body["detail"]
    assert wrong_body["type"] == unknown_body["type"]
    assert (
        "no-store"
        in (
            await client.post("/login", json={"login": user["username"], "password": PASSWORD})
        ).headers["cache-control"]
    )


async def test_the_access_token_claims_are_exactly_the_contract(client: Client) -> None:
    account = await new_account(client)
    header = jwt.get_unverified_header(account.access_token)
    claims = jwt.decode(account.access_token, options={"verify_signature": False})
    assert header["alg"] == "EdDSA"
    assert set(claims) == {"iss", "aud", "sub", "iat", "exp", "jti", "roles", "token_use"}
    assert claims["sub"] == account.id
    assert claims["iss"] == "medley-users"
    assert claims["aud"] == "medley"
    assert claims["roles"] == ["user"]
    assert claims["token_use"] == "access"
    assert claims["exp"] - claims["iat"] == 900
    # ...and it verifies against the published keys.
    jwks = (await client.get("/.well-known/jwks.json")).json()
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    assert {"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig"}.items() <= key.items()
    assert "d" not in key
    public = jwt.PyJWK(key)
    verified = jwt.decode(account.access_token, public, algorithms=["EdDSA"], audience="medley")
    assert verified["sub"] == account.id


async def test_refresh_rotates_the_token(client: Client) -> None:
    account = await new_account(client)
    first = await client.post("/refresh", json={"refresh_token": account.refresh_token})
    assert first.status_code == 200
    pair = first.json()
    assert pair["refresh_token"] != account.refresh_token
    assert (await client.get("/me", headers=bearer(pair["access_token"]))).status_code == 200
    second = await client.post("/refresh", json={"refresh_token": pair["refresh_token"]})
    assert second.status_code == 200


async def test_reusing_a_rotated_token_revokes_the_whole_family(client: Client) -> None:
    account = await new_account(client)
    rotated = await client.post("/refresh", json={"refresh_token": account.refresh_token})
    newest = rotated.json()["refresh_token"]
    # Another login of the same user is another family, untouched by the reuse.
    other_session = await login(client, account.username)

    reuse = await client.post("/refresh", json={"refresh_token": account.refresh_token})
    assert "already used" in assert_problem(reuse, 401)["detail"]
    # The thief's (or the owner's) newest token of that family is dead too.
    after = await client.post("/refresh", json={"refresh_token": newest})
    assert "revoked" in assert_problem(after, 401)["detail"]
    still = await client.post("/refresh", json={"refresh_token": other_session["refresh_token"]})
    assert still.status_code == 200


async def test_an_expired_refresh_token_is_refused(client: Client, users_db: UsersDb) -> None:
    account = await new_account(client)
    # Age the token in the database instead of waiting 30 days.
    await users_db.execute(
        "UPDATE users.refresh_tokens SET expires_at = now() - interval '1 second' "
        "WHERE family_id IN (SELECT id FROM users.refresh_families WHERE user_id = $1)",
        __import__("uuid").UUID(account.id),
    )
    response = await client.post("/refresh", json={"refresh_token": account.refresh_token})
    assert "expired" in assert_problem(response, 401)["detail"]


async def test_an_unknown_refresh_token_is_refused(client: Client) -> None:
    response = await client.post("/refresh", json={"refresh_token": "not-a-token"})
    assert_problem(response, 401)


async def test_logout_ends_the_session(client: Client) -> None:
    account = await new_account(client)
    response = await client.post("/logout", json={"refresh_token": account.refresh_token})
    assert response.status_code == 204
    refused = await client.post("/refresh", json={"refresh_token": account.refresh_token})
    assert_problem(refused, 401)
    # Logging out twice, or with an unknown token, is not an error.
    again = await client.post("/logout", json={"refresh_token": account.refresh_token})
    assert again.status_code == 204


async def test_me_needs_a_valid_bearer_token(client: Client) -> None:
    assert_problem(await client.get("/me"), 401)
    assert_problem(await client.get("/me", headers=bearer("not.a.jwt")), 401)
    account = await new_account(client)
    tampered = account.access_token[:-4] + (
        "AAAA" if account.access_token[-4:] != "AAAA" else "BBBB"
    )
    assert_problem(await client.get("/me", headers=bearer(tampered)), 401)
