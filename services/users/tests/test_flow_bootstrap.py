"""The bootstrap admin is granted once, to the configured username, while no admin exists;
after that admin is handed on through the admin routes, and nothing grants it again: not a
re-registered name, not a changed email, not a restart, not a changed setting."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from pydantic import ValidationError

from .conftest import (
    PASSWORD,
    Account,
    AppFactory,
    assert_problem,
    bearer,
    login,
    new_account,
    unique_name,
)

Client = AsyncTestClient[Any]


async def roles_of(client: Client, username: str) -> list[str]:
    tokens = await login(client, username)
    me = (await client.get("/me", headers=bearer(tokens["access_token"]))).json()
    return list(me["roles"])


async def test_the_configured_username_registering_first_becomes_admin(
    fresh_users_app: AppFactory,
) -> None:
    """The README's walk-through: ``MEDLEY_USERS_BOOTSTRAP_ADMIN=ada``, then register ada."""
    ada = unique_name("ada")
    async with fresh_users_app(bootstrap_admin=ada) as client:
        account = await new_account(client, ada)
        assert await roles_of(client, ada) == ["admin", "user"]
        assert (await client.get("/admin/users", headers=account.headers)).status_code == 200


async def test_an_existing_account_becomes_admin_at_start_up(
    fresh_users_app: AppFactory,
) -> None:
    name = unique_name("boss")
    async with fresh_users_app(bootstrap_admin=None) as plain:
        account = await new_account(plain, name)
        assert_problem(await plain.get("/admin/users", headers=account.headers), 403)
    async with fresh_users_app(bootstrap_admin=f" {name.upper()} ") as promoted:
        tokens = await login(promoted, name, PASSWORD)
        me = (await promoted.get("/me", headers=bearer(tokens["access_token"]))).json()
        assert "admin" in me["roles"]
        response = await promoted.get("/admin/users", headers=bearer(tokens["access_token"]))
        assert response.status_code == 200


async def test_a_deleted_bootstrap_admin_cannot_be_reclaimed(
    fresh_users_app: AppFactory,
) -> None:
    carol = unique_name("carol")
    async with fresh_users_app(bootstrap_admin=carol) as client:
        first = await new_account(client, carol)
        assert await roles_of(client, carol) == ["admin", "user"]
        deleted = await client.request(
            "DELETE", "/me", headers=first.headers, json={"password": PASSWORD}
        )
        assert deleted.status_code == 202, deleted.text

        # No admin exists now, but the bootstrap has been used: the name is only a name.
        await new_account(client, carol)
        assert await roles_of(client, carol) == ["user"]
    async with fresh_users_app(bootstrap_admin=carol) as restarted:
        assert await roles_of(restarted, carol) == ["user"]


async def test_a_restart_does_not_grant_admin_again_after_it_was_handed_on(
    fresh_users_app: AppFactory,
) -> None:
    alice, bob = unique_name("alice"), unique_name("bob")
    async with fresh_users_app(bootstrap_admin=alice) as client:
        first = await new_account(client, alice)
        second = await new_account(client, bob)
        granted = await client.put(f"/admin/users/{second.id}/roles/admin", headers=first.headers)
        assert granted.status_code == 200, granted.text
        bob_admin = await _login_account(client, bob)
        revoked = await client.delete(
            f"/admin/users/{first.id}/roles/admin", headers=bob_admin.headers
        )
        assert revoked.status_code == 200, revoked.text
    async with fresh_users_app(bootstrap_admin=alice) as restarted:
        assert await roles_of(restarted, alice) == ["user"]
        assert await roles_of(restarted, bob) == ["admin", "user"]


async def test_a_changed_setting_grants_nobody_once_the_bootstrap_was_used(
    fresh_users_app: AppFactory,
) -> None:
    alice, mallory, eve = unique_name("alice"), unique_name("mallory"), unique_name("eve")
    async with fresh_users_app(bootstrap_admin=alice) as client:
        await new_account(client, alice)
        await new_account(client, mallory)
    async with fresh_users_app(bootstrap_admin=mallory) as restarted:
        assert await roles_of(restarted, mallory) == ["user"]
    async with fresh_users_app(bootstrap_admin=eve) as restarted:
        await new_account(restarted, eve)
        assert await roles_of(restarted, eve) == ["user"]
    async with fresh_users_app(bootstrap_admin=alice) as restarted:
        assert await roles_of(restarted, alice) == ["admin", "user"]  # kept, not re-granted


async def test_an_email_address_never_names_the_bootstrap_admin(
    fresh_users_app: AppFactory,
) -> None:
    """Addresses are not verified: anyone may register, or change theirs to, the configured
    one. So the setting is a username, and an address is refused at start-up."""
    with pytest.raises(ValidationError, match="username"):
        async with fresh_users_app(bootstrap_admin="carol@example.com"):
            pass


# --- handing admin on -----------------------------------------------------------------------


async def _login_account(client: Client, username: str) -> Account:
    tokens = await login(client, username)
    me = (await client.get("/me", headers=bearer(tokens["access_token"]))).json()
    return Account(
        me["id"], username, me["email"], PASSWORD, tokens["access_token"], tokens["refresh_token"]
    )


async def test_admins_hand_admin_on_and_the_last_admin_stays(
    fresh_users_app: AppFactory,
) -> None:
    alice = unique_name("alice")
    async with fresh_users_app(bootstrap_admin=alice) as client:
        first = await new_account(client, alice)
        bob = await new_account(client, unique_name("bob"))
        path = f"/admin/users/{bob.id}/roles/admin"

        assert_problem(await client.put(path, headers=bob.headers), 403)
        granted = await client.put(path, headers=first.headers)
        assert granted.status_code == 200, granted.text
        assert granted.json()["roles"] == ["admin", "user"]
        again = await client.put(path, headers=first.headers)  # idempotent
        assert again.json()["roles"] == ["admin", "user"]
        listed = await client.get("/admin/users", headers=first.headers, params={"role": "admin"})
        assert {u["username"] for u in listed.json()["items"]} == {alice, bob.username}

        bob = await _login_account(client, bob.username)
        taken = await client.delete(f"/admin/users/{first.id}/roles/admin", headers=bob.headers)
        assert taken.status_code == 200, taken.text
        assert taken.json()["roles"] == ["user"]
        # Alice's access token still says admin; the users service believes the database.
        assert_problem(await client.get("/admin/users", headers=first.headers), 403)

        last = assert_problem(
            await client.delete(f"/admin/users/{bob.id}/roles/admin", headers=bob.headers), 409
        )
        assert last["type"].endswith("/last-admin")
        assert await roles_of(client, bob.username) == ["admin", "user"]


async def test_role_changes_refuse_bad_input(fresh_users_app: AppFactory) -> None:
    alice = unique_name("alice")
    async with fresh_users_app(bootstrap_admin=alice) as client:
        admin = await new_account(client, alice)
        missing = "01938f2e-7c2a-7000-8000-000000000000"
        assert_problem(
            await client.put(f"/admin/users/{missing}/roles/admin", headers=admin.headers), 404
        )
        for role in ("root", "user"):
            response = await client.put(
                f"/admin/users/{admin.id}/roles/{role}", headers=admin.headers
            )
            assert response.status_code in (400, 404, 422), (role, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
        bad_id = await client.put("/admin/users/not-a-uuid/roles/admin", headers=admin.headers)
        assert bad_id.status_code in (400, 404), bad_id.text
        assert bad_id.headers["content-type"].startswith("application/problem+json")
