"""The failed-login budget belongs to the account: one bucket whether the login names its
username or its email (in any look-alike form), kept in the database so every replica and
every gateway in front shares it."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar.testing import AsyncTestClient

from .conftest import PASSWORD, AppFactory, assert_problem, login, new_account

Client = AsyncTestClient[Any]


async def _wrong(client: Client, ident: str) -> Any:
    return await client.post("/login", json={"login": ident, "password": "not the password"})


async def test_username_and_email_share_one_budget(users_app: AppFactory) -> None:
    async with users_app(login_per_account=4, login_window_s=600) as client:
        account = await new_account(client)
        bystander = await new_account(client)
        for ident in (
            account.username,
            account.email,
            account.username.upper(),
            f" {account.email.upper()} ",
        ):
            assert_problem(await _wrong(client, ident), 401)

        for ident in (account.email, account.username):
            refused = await _wrong(client, ident)
            body = assert_problem(refused, 429)
            assert body["type"].endswith("/rate-limited")
            assert body["limit"] == "login-per-account"
            assert int(refused.headers["retry-after"]) >= 1
            assert body["retry_after_s"] == int(refused.headers["retry-after"])

        # The right password does not get through while the budget is spent...
        right = await client.post("/login", json={"login": account.username, "password": PASSWORD})
        assert_problem(right, 429)
        # ...and another account's budget is its own.
        await login(client, bystander.email)


async def test_successful_logins_cost_nothing_and_the_budget_refills(
    users_app: AppFactory,
) -> None:
    async with users_app(login_per_account=1, login_window_s=1) as client:
        account = await new_account(client)
        for _ in range(3):
            await login(client, account.email)
        assert_problem(await _wrong(client, account.username), 401)
        refused = await _wrong(client, account.email)
        assert assert_problem(refused, 429)["retry_after_s"] == 1
        await asyncio.sleep(1.1)
        await login(client, account.username)


async def test_concurrent_guesses_cannot_overdraw_the_budget(users_app: AppFactory) -> None:
    async with users_app(login_per_account=3, login_window_s=600) as client:
        account = await new_account(client)
        idents = [account.username, account.email] * 4
        answers = await asyncio.gather(*(_wrong(client, ident) for ident in idents))
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [401] * 3 + [429] * 5
