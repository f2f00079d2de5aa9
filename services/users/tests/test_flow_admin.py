"""Roles and what administrators do: list, disable, enable; the bootstrap admin."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from .conftest import (
    admin_account,
    assert_problem,
    login,
    new_account,
    register,
    unique_name,
)

Client = AsyncTestClient[Any]


async def test_the_bootstrap_admin_is_an_admin(client: Client) -> None:
    admin = await admin_account(client)
    me = (await client.get("/me", headers=admin.headers)).json()
    assert me["roles"] == ["admin", "user"]


async def test_a_user_is_not_an_admin(client: Client) -> None:
    account = await new_account(client)
    assert_problem(await client.get("/admin/users", headers=account.headers), 403)
    assert_problem(await client.get("/admin/users"), 401)


async def test_listing_pages_through_every_account(client: Client) -> None:
    admin = await admin_account(client)
    tag = unique_name("p")
    made = [await register(client, f"{tag}-{i}") for i in range(5)]
    seen: list[str] = []
    after: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2, "q": tag}
        if after:
            params["after"] = after
        page = await client.get("/admin/users", headers=admin.headers, params=params)
        assert page.status_code == 200
        body = page.json()
        seen += [u["username"] for u in body["items"]]
        pages += 1
        after = body["next_after"]
        if after is None:
            break
    assert seen == [u["username"] for u in made]  # creation order, nothing twice
    assert pages == 3
    item = body["items"][0]
    assert item["status"] == "active"
    assert item["disabled_at"] is None


async def test_listing_pages_with_the_shared_cursor_too(client: Client) -> None:
    admin = await admin_account(client)
    tag = unique_name("c")
    made = [await register(client, f"{tag}-{i}") for i in range(5)]
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, "q": tag}
        if cursor:
            params["cursor"] = cursor
        body = (await client.get("/admin/users", headers=admin.headers, params=params)).json()
        seen += [u["username"] for u in body["items"]]
        # Both forms name the same place: the last account served.
        assert body["next_after"] == (body["items"][-1]["id"] if body["next_cursor"] else None)
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [u["username"] for u in made]
    first = (await client.get("/admin/users", headers=admin.headers, params={"limit": 1})).json()
    issued = first["next_cursor"]
    edited = issued[:-2] + ("A" if issued[-2] != "A" else "B") + issued[-1]
    refused = await client.get("/admin/users", headers=admin.headers, params={"cursor": edited})
    assert assert_problem(refused, 422)["field"] == "cursor"
    both = {"cursor": issued, "after": made[0]["id"]}
    refused = await client.get("/admin/users", headers=admin.headers, params=both)
    assert assert_problem(refused, 422)["field"] == "after"


async def test_listing_filters_and_validates(client: Client) -> None:
    admin = await admin_account(client)
    admins = (
        await client.get("/admin/users", headers=admin.headers, params={"role": "admin"})
    ).json()["items"]
    assert admin.username in [u["username"] for u in admins]
    assert all("admin" in u["roles"] for u in admins)
    for params in ({"limit": 0}, {"limit": 501}, {"after": "not-a-uuid"}, {"status": "sleeping"}):
        response = await client.get("/admin/users", headers=admin.headers, params=params)
        assert response.status_code in (400, 422), params
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_disabled_user_can_neither_log_in_nor_refresh(client: Client) -> None:
    admin = await admin_account(client)
    account = await new_account(client)
    disabled = await client.post(f"/admin/users/{account.id}/disable", headers=admin.headers)
    assert disabled.status_code == 200
    assert disabled.json()["status"] == "disabled"

    refused = await client.post(
        "/login", json={"login": account.username, "password": account.password}
    )
    assert assert_problem(refused, 403)["type"].endswith("account-disabled")
    assert_problem(
        await client.post("/refresh", json={"refresh_token": account.refresh_token}), 401
    )
    # The access token it still holds no longer opens its account.
    assert_problem(await client.get("/me", headers=account.headers), 401)
    listed = (
        await client.get(
            "/admin/users",
            headers=admin.headers,
            params={"status": "disabled", "q": account.username},
        )
    ).json()
    assert [u["id"] for u in listed["items"]] == [account.id]

    enabled = await client.post(f"/admin/users/{account.id}/enable", headers=admin.headers)
    assert enabled.json()["status"] == "active"
    await login(client, account.username)


async def test_admins_cannot_disable_themselves_or_nobody(client: Client) -> None:
    admin = await admin_account(client)
    assert_problem(
        await client.post(f"/admin/users/{admin.id}/disable", headers=admin.headers), 409
    )
    missing = "01938f2e-7c2a-7000-8000-000000000000"
    assert_problem(await client.post(f"/admin/users/{missing}/disable", headers=admin.headers), 404)
