"""Revoked access tokens are refused everywhere within a second, every part real
(``medley_stack``): a disabled or deleted account, and the sessions a password change ends,
at the gateway and at a service that verifies tokens itself (the catalog), on admin routes
(dead letters included) as on any other. Tokens are verified locally with no call to the
users service, so this only holds because every verifier follows ``users.*`` events."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from e2e_helpers import PASSWORD, assert_problem, login, new_account, register

from medley_core.testing.tokens import bearer
from medley_local.pytest_plugin import E2E_ADMIN

# The bound. The path is outbox → NOTIFY → relay → JetStream → every verifier's
# ordered consumer: milliseconds when idle.
WITHIN_S = 1.0
REVOKED = "https://medley.dev/problems/token-revoked"


async def refused_within(call: Callable[[], Awaitable[httpx.Response]]) -> float:
    """Seconds until ``call`` answers 401 token-revoked; fails past :data:`WITHIN_S`."""
    started = time.monotonic()
    while True:
        response = await call()
        elapsed = time.monotonic() - started
        if response.status_code == 401:
            assert assert_problem(response, 401)["type"] == REVOKED, response.text
            return elapsed
        assert elapsed < WITHIN_S, f"still {response.status_code} after {elapsed:.2f}s"
        await asyncio.sleep(0.02)


@pytest.fixture
async def catalog(medley_stack: Any) -> Any:
    """A client of the catalog service itself, past the gateway."""
    async with httpx.AsyncClient(base_url=medley_stack.service_urls["catalog"], timeout=30) as c:
        yield c


async def test_a_disabled_user_is_refused_at_the_gateway_and_at_the_catalog(
    api: httpx.AsyncClient, catalog: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    account = new_account()
    user = await register(api, account)
    token = (await login(api, account["username"]))["access_token"]
    mine = bearer(token)
    artist = {"name": f"Nobody {uuid.uuid4().hex[:6]}"}
    # Valid until now: a user, not an admin, so the catalog's writers guard says 403.
    assert (await api.get("/api/v1/me", headers=mine)).status_code == 200
    assert_problem(await catalog.post("/artists", json=artist, headers=mine), 403)

    disabled = await api.post(f"/api/v1/admin/users/{user['id']}/disable", headers=admin_headers)
    assert disabled.status_code == 200, disabled.text

    # (Not /me: the users service also refuses a disabled account from its own table.)
    await refused_within(lambda: catalog.post("/artists", json=artist, headers=mine))
    await refused_within(
        lambda: api.post("/api/v1/admin/catalog/artists", json=artist, headers=mine)
    )


async def test_a_password_change_ends_the_other_sessions_of_an_admin_everywhere(
    api: httpx.AsyncClient, catalog: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """The bootstrap admin logs in twice, then changes the password in one session: the
    other session's access token can no longer write the catalog or read dead letters, at
    the gateway or at the catalog; the fresh pair the change answered with works."""
    other = bearer((await login(api, E2E_ADMIN))["access_token"])
    artist = {"name": f"Revoked {uuid.uuid4().hex[:6]}"}
    assert (await catalog.get("/admin/dead-letters", headers=other)).status_code == 200
    created = await api.post("/api/v1/admin/catalog/artists", json=artist, headers=other)
    assert created.status_code == 201, created.text

    new_password = f"{PASSWORD} {uuid.uuid4().hex[:4]}"
    changed = await api.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": new_password},
        headers=admin_headers,
    )
    assert changed.status_code == 200, changed.text
    fresh = bearer(changed.json()["access_token"])
    try:
        await refused_within(lambda: catalog.get("/admin/dead-letters", headers=other))
        await refused_within(lambda: catalog.post("/artists", json=artist, headers=other))
        await refused_within(
            lambda: api.post("/api/v1/admin/catalog/artists", json=artist, headers=other)
        )
        await refused_within(lambda: api.get("/api/v1/me", headers=admin_headers))
        # The session that changed it goes on, with the pair it was given.
        assert (await api.get("/api/v1/me", headers=fresh)).status_code == 200
        assert (await catalog.get("/admin/dead-letters", headers=fresh)).status_code == 200
    finally:
        # Other tests log the admin in with the shared password.
        restored = await api.post(
            "/api/v1/me/password",
            json={"current_password": new_password, "new_password": PASSWORD},
            headers=fresh,
        )
        assert restored.status_code == 200, restored.text


async def test_a_deleted_account_is_refused_everywhere(
    api: httpx.AsyncClient, catalog: httpx.AsyncClient
) -> None:
    account = new_account()
    await register(api, account)
    mine = bearer((await login(api, account["username"]))["access_token"])
    artist = {"name": "Ghost"}
    assert_problem(await catalog.post("/artists", json=artist, headers=mine), 403)

    gone = await api.request(
        "DELETE", "/api/v1/me", json={"password": account["password"]}, headers=mine
    )
    assert gone.status_code == 202, gone.text

    await refused_within(lambda: catalog.post("/artists", json=artist, headers=mine))
    await refused_within(
        lambda: api.post("/api/v1/admin/catalog/artists", json=artist, headers=mine)
    )


async def test_an_admin_whose_role_is_taken_back_cannot_use_it_anywhere(
    api: httpx.AsyncClient, catalog: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """Roles travel in access tokens: taking admin back ends the tokens that carry it; the
    session goes on, and a refresh answers a token without the role."""
    account = new_account()
    bob = await register(api, account)
    role = f"/api/v1/admin/users/{bob['id']}/roles/admin"
    assert (await api.put(role, headers=admin_headers)).status_code == 200
    tokens = await login(api, account["username"])
    as_admin = bearer(tokens["access_token"])
    artist = {"name": f"Bob's {uuid.uuid4().hex[:6]}"}
    assert (await catalog.post("/artists", json=artist, headers=as_admin)).status_code == 201

    taken = await api.delete(role, headers=admin_headers)
    assert taken.status_code == 200, taken.text

    await refused_within(lambda: catalog.post("/artists", json=artist, headers=as_admin))
    await refused_within(lambda: catalog.get("/admin/dead-letters", headers=as_admin))
    refreshed = await api.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    as_user = bearer(refreshed.json()["access_token"])
    assert_problem(await catalog.post("/artists", json=artist, headers=as_user), 403)
    assert (await api.get("/api/v1/me", headers=as_user)).status_code == 200
