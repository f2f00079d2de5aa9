"""The auth flow through the gateway, with every part real: the gateway and the users service
as uvicorn processes, PostgreSQL and NATS (``medley_stack`` from ``medley_local.pytest_plugin``).

register → login → me → refresh → reuse of a rotated refresh token (the whole family revoked)
→ logout; tokens crafted to fool the gateway (forged signature, ``alg: none``, expired, wrong
audience, wrong issuer) are refused with a 401 problem; bad input is a 4xx problem, never a
500; login attempts are rate limited.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ed25519
from e2e_helpers import (
    PASSWORD,
    assert_problem,
    b64,
    login,
    new_account,
    register,
    unverified,
)

from medley_core.testing.tokens import DROP, TokenMint, bearer

# -- the flow ----------------------------------------------------------------------------------


async def test_register_login_me_refresh_reuse_logout(api: httpx.AsyncClient) -> None:
    account = new_account()
    user = await register(api, account)
    assert user["username"] == account["username"]
    assert "password" not in json.dumps(user)

    # Log in by email (any case) and by username.
    pair = await login(api, account["email"].upper())
    assert pair["token_type"] == "Bearer"
    assert pair["expires_in"] > 0
    header, claims = unverified(pair["access_token"])
    assert header["alg"] == "EdDSA"
    assert claims["sub"] == user["id"]
    assert claims["token_use"] == "access"

    me = await api.get("/api/v1/me", headers=bearer(pair["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json()["id"] == user["id"]
    assert me.json()["email"] == account["email"]

    # Refresh: a new pair; the old refresh token is used up.
    first_refresh = pair["refresh_token"]
    rotated = await api.post("/api/v1/auth/refresh", json={"refresh_token": first_refresh})
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()
    assert second["refresh_token"] != first_refresh
    me = await api.get("/api/v1/me", headers=bearer(second["access_token"]))
    assert me.status_code == 200

    # Reuse of the rotated token: refused, and the whole family is revoked...
    reuse = await api.post("/api/v1/auth/refresh", json={"refresh_token": first_refresh})
    assert "reuse" in assert_problem(reuse, 401)["type"]
    # ...so the newest refresh token is refused too.
    newest = await api.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert_problem(newest, 401)

    # A new login is a new family; logging out ends it.
    third = await login(api, account["username"])
    out = await api.post(
        "/api/v1/auth/logout",
        json={"refresh_token": third["refresh_token"]},
        headers=bearer(third["access_token"]),
    )
    assert out.status_code == 204, out.text
    after = await api.post("/api/v1/auth/refresh", json={"refresh_token": third["refresh_token"]})
    assert_problem(after, 401)


async def test_wrong_password_is_a_401_problem(api: httpx.AsyncClient) -> None:
    account = new_account()
    await register(api, account)
    response = await api.post(
        "/api/v1/auth/login", json={"login": account["username"], "password": "not it at all"}
    )
    assert_problem(response, 401)
    taken = await api.post("/api/v1/auth/register", json=account)
    assert_problem(taken, 409)


# -- crafted tokens ----------------------------------------------------------------------------


async def test_gateway_refuses_crafted_tokens(
    api: httpx.AsyncClient, signing_key: ed25519.Ed25519PrivateKey
) -> None:
    account = new_account()
    await register(api, account)
    real = (await login(api, account["username"]))["access_token"]
    header, claims = unverified(real)
    kid = header["kid"]
    # The users service's own key under its own kid: what it signs here is genuine.
    genuine = TokenMint(kid, private_key=signing_key)

    def signed(**changes: Any) -> str:
        return genuine.sign({**claims, **changes})

    # The control: a token signed here with the real key and the real claims passes, so
    # every refusal below is for the one thing changed.
    control = await api.get("/api/v1/me", headers=bearer(signed()))
    assert control.status_code == 200, "the fixture's key is not the one the users service uses"

    h, p, s = real.split(".")
    admin_claims = b64(json.dumps({**claims, "roles": ["user", "admin"]}).encode())
    now = int(time.time())
    crafted = {
        "payload changed, signature kept": f"{h}.{admin_claims}.{s}",
        "signed with another key, real kid": TokenMint(kid).sign(claims),
        "alg none": f"{b64(json.dumps({'alg': 'none', 'kid': kid, 'typ': 'JWT'}).encode())}.{p}.",
        "alg none, no signature part": f"{b64(json.dumps({'alg': 'none'}).encode())}.{p}",
        "expired": signed(iat=now - 7200, exp=now - 3600),
        "wrong audience": signed(aud="not-medley"),
        "wrong issuer": signed(iss="https://evil.example"),
        "no expiry": signed(exp=DROP),
        "refresh-like token_use": signed(token_use="refresh"),
        "unknown kid": TokenMint("made-up").sign(claims),
        "not a JWT": "definitely-not-a-jwt",
    }
    for case, token in crafted.items():
        response = await api.get("/api/v1/me", headers=bearer(token))
        body = assert_problem(response, 401)
        assert response.headers["www-authenticate"].lower().startswith("bearer"), case
        assert body["instance"] == "/api/v1/me", case

    # An admin route with a crafted admin token is refused just the same.
    response = await api.get("/api/v1/admin/users", headers=bearer(f"{h}.{admin_claims}.{s}"))
    assert_problem(response, 401)
    # And the real token, without the role, is forbidden there.
    assert_problem(await api.get("/api/v1/admin/users", headers=bearer(real)), 403)


# -- bad input ---------------------------------------------------------------------------------


async def test_bad_input_is_a_4xx_problem_never_a_500(api: httpx.AsyncClient) -> None:
    account = new_account()
    await register(api, account)
    token = (await login(api, account["username"]))["access_token"]
    json_headers = {"content-type": "application/json"}

    cases: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/api/v1/auth/register", {"content": b"{not json", "headers": json_headers}),
        ("POST", "/api/v1/auth/register", {"content": b"", "headers": json_headers}),
        ("POST", "/api/v1/auth/register", {"json": ["a", "list"]}),
        ("POST", "/api/v1/auth/register", {"json": {**new_account(), "username": 42}}),
        ("POST", "/api/v1/auth/register", {"json": {**new_account(), "roles": ["admin"]}}),
        ("POST", "/api/v1/auth/register", {"json": {**new_account(), "email": "not-an-email"}}),
        ("POST", "/api/v1/auth/register", {"json": {**new_account(), "username": "No Spaces"}}),
        ("POST", "/api/v1/auth/register", {"json": {"username": "only-this"}}),
        ("POST", "/api/v1/auth/login", {"json": {"login": 42, "password": "x"}}),
        ("POST", "/api/v1/auth/login", {"json": {"login": "a", "password": None}}),
        ("POST", "/api/v1/auth/login", {"json": {"login": "a", "password": "b", "extra": 1}}),
        ("POST", "/api/v1/auth/login", {"content": b"login=a&password=b"}),
        ("POST", "/api/v1/auth/refresh", {"json": {"refresh_token": ["x"]}}),
        ("POST", "/api/v1/auth/refresh", {"json": {}}),
        ("POST", "/api/v1/auth/logout", {"content": b"\xff\xfe", "headers": json_headers}),
        ("PATCH", "/api/v1/me", {"json": {"is_admin": True}, "headers": bearer(token)}),
        ("PATCH", "/api/v1/me", {"json": {"email": 7}, "headers": bearer(token)}),
        ("POST", "/api/v1/me/password", {"json": {"new_password": 1}, "headers": bearer(token)}),
        ("POST", "/api/v1/me/api-tokens", {"json": {"name": ""}, "headers": bearer(token)}),
        ("DELETE", "/api/v1/me/api-tokens/not-a-uuid", {"headers": bearer(token)}),
        ("PUT", "/api/v1/me/integrations/spotify", {"json": {}, "headers": bearer(token)}),
        ("GET", "/api/v1/nothing-here", {}),
        ("DELETE", "/api/v1/auth/login", {}),
        (
            "POST",
            "/api/v1/auth/register",
            {"json": {**new_account(), "display_name": "x" * 2_000_000}},
        ),
    ]
    for method, path, kwargs in cases:
        response = await api.request(method, path, **kwargs)
        assert_problem(response)

    # The account is still fine afterwards.
    assert (await api.get("/api/v1/me", headers=bearer(token))).status_code == 200


# -- rate limits -------------------------------------------------------------------------------


async def test_login_attempts_are_rate_limited(api: httpx.AsyncClient) -> None:
    account = new_account()
    await register(api, account)
    attempt = {"login": account["username"], "password": "guess"}
    statuses: list[int] = []
    for _ in range(60):
        response = await api.post("/api/v1/auth/login", json=attempt)
        statuses.append(response.status_code)
        if response.status_code == 429:
            break
        assert_problem(response, 401)
    assert statuses[-1] == 429, f"no 429 after {len(statuses)} wrong passwords"
    body = assert_problem(response, 429)
    assert body["type"].endswith("/rate-limited")
    assert int(response.headers["retry-after"]) >= 1
    # The right password does not get through either while the account is limited.
    limited = await api.post(
        "/api/v1/auth/login", json={"login": account["username"], "password": PASSWORD}
    )
    assert_problem(limited, 429)
