"""The caller's own account: read, change, change the password."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from .conftest import assert_problem, bearer, login, new_account, register, unique_name

Client = AsyncTestClient[Any]
NEW_PASSWORD = "a brand new passphrase"


async def test_me_answers_the_account(client: Client) -> None:
    account = await new_account(client)
    response = await client.get("/me", headers=account.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == account.id
    assert body["username"] == account.username
    assert body["roles"] == ["user"]


async def test_patch_changes_only_what_is_given(client: Client) -> None:
    account = await new_account(client)
    named = await client.patch("/me", headers=account.headers, json={"display_name": " Ada "})
    assert named.status_code == 200
    assert named.json()["display_name"] == "Ada"
    assert named.json()["email"] == account.email

    new_email = f"{unique_name()}@Example.org"
    moved = await client.patch("/me", headers=account.headers, json={"email": new_email})
    assert moved.json()["email"] == new_email.lower()
    assert moved.json()["display_name"] == "Ada"
    # The new address logs in; the old one no longer names the account.
    await login(client, new_email)
    gone = await client.post("/login", json={"login": account.email, "password": account.password})
    assert_problem(gone, 401)

    cleared = await client.patch("/me", headers=account.headers, json={"display_name": None})
    assert cleared.json()["display_name"] is None


async def test_patch_to_a_taken_email_is_a_conflict(client: Client) -> None:
    account = await new_account(client)
    other = await register(client)
    response = await client.patch("/me", headers=account.headers, json={"email": other["email"]})
    assert assert_problem(response, 409)["field"] == "email"


async def test_patch_refuses_removing_the_email_and_unknown_fields(client: Client) -> None:
    account = await new_account(client)
    assert_problem(await client.patch("/me", headers=account.headers, json={"email": None}), 422)
    assert_problem(
        await client.patch("/me", headers=account.headers, json={"username": "renamed"}), 422
    )


async def test_password_change_keeps_only_the_changing_session(client: Client) -> None:
    account = await new_account(client)
    other_device = await login(client, account.username)

    response = await client.post(
        "/me/password",
        headers=account.headers,
        json={"current_password": account.password, "new_password": NEW_PASSWORD},
    )
    assert response.status_code == 200
    fresh = response.json()
    assert set(fresh) == {"access_token", "refresh_token", "token_type", "expires_in"}

    # Every session from before is over...
    for old in (account.refresh_token, other_device["refresh_token"]):
        assert_problem(await client.post("/refresh", json={"refresh_token": old}), 401)
    # ...the fresh pair carries on...
    assert (
        await client.post("/refresh", json={"refresh_token": fresh["refresh_token"]})
    ).status_code == 200
    # ...and only the new password logs in.
    old_password = await client.post(
        "/login", json={"login": account.username, "password": account.password}
    )
    assert_problem(old_password, 401)
    await login(client, account.username, NEW_PASSWORD)


async def test_password_change_needs_the_current_password(client: Client) -> None:
    account = await new_account(client)
    response = await client.post(
        "/me/password",
        headers=account.headers,
        json={"current_password": "not my password", "new_password": NEW_PASSWORD},
    )
    assert assert_problem(response, 403)["errors"][0]["field"] == "current_password"
    await login(client, account.username)  # unchanged


async def test_password_change_applies_the_policy(client: Client) -> None:
    account = await new_account(client)
    for new, reason in (
        ("short", "10 characters"),
        (account.password, "differ"),
        (f"my {account.username} pass", "username"),
    ):
        response = await client.post(
            "/me/password",
            headers=account.headers,
            json={"current_password": account.password, "new_password": new},
        )
        body = assert_problem(response, 422)
        assert reason in str(body), body
        assert body["errors"][0]["field"] == "new_password"


async def test_a_service_token_is_not_a_user(client: Client) -> None:
    from .conftest import service_token

    token = await service_token(client)
    assert_problem(await client.get("/me", headers=bearer(token)), 403)
