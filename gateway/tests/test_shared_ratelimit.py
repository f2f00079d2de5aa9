"""Every request's rate limit, and the login and register budgets, shared by two gateway
apps on two ports through the real NATS.

Each app has its own NATS connection and its own local counts, as two replicas would; what
they share is the KV bucket. The budget of a user (or an address) is spent by the requests
to either, and the answers say so in the ``RateLimit-*`` fields.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx

from medley_core.testing.tokens import TokenMint
from medley_gateway.app import create_app
from medley_gateway.settings import GatewaySettings
from medley_gateway.upstreams import UPSTREAMS

WINDOW_S = 3600  # one window for the whole test: no reset in the middle


@asynccontextmanager
async def two_gateways(
    serve: Any, users_url: str, **settings: Any
) -> AsyncIterator[list[httpx.AsyncClient]]:
    config = GatewaySettings(
        users_url=users_url,
        upstream_urls={spec.name: users_url for spec in UPSTREAMS},
        log_json=False,
        log_level="WARNING",
        rate_limit_window_s=WINDOW_S,
        # The counts outlive the test in NATS KV: budgets of its own.
        event_prefix=f"rl{uuid.uuid4().hex[:10]}",
        **settings,
    )
    async with AsyncExitStack() as stack:
        clients = []
        for _ in range(2):
            url = await stack.enter_async_context(serve(create_app(config), lifespan="on"))
            clients.append(
                await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=10))
            )
        yield clients


async def test_two_gateways_share_one_budget_per_user(
    serve: Any, fake_users: Any, keys: TokenMint
) -> None:
    _, users_url = fake_users
    token = {"Authorization": f"Bearer {keys.user_token(uuid.uuid4())}"}
    async with two_gateways(serve, users_url, rate_limit_per_user=10) as (first, second):
        answers = [
            await (first if i % 2 == 0 else second).get("/api/v1/me", headers=token)
            for i in range(14)
        ]
    statuses = [answer.status_code for answer in answers]
    # Ten in all, not ten per gateway.
    assert statuses == [200] * 10 + [429] * 4
    for answer in answers:
        assert answer.headers["RateLimit-Limit"] == "10"
        assert answer.headers["RateLimit-Policy"] == f"10;w={WINDOW_S}"
        assert 0 < int(answer.headers["RateLimit-Reset"]) <= WINDOW_S
    assert [int(a.headers["RateLimit-Remaining"]) for a in answers[8:11]] == [1, 0, 0]

    refused = answers[-1]
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["status"] == 429
    retry_after = int(refused.headers["Retry-After"])
    assert 0 < retry_after <= WINDOW_S
    assert abs(retry_after - int(refused.headers["RateLimit-Reset"])) <= 1


async def test_users_have_budgets_of_their_own(
    serve: Any, fake_users: Any, keys: TokenMint
) -> None:
    _, users_url = fake_users
    spender = {"Authorization": f"Bearer {keys.user_token(uuid.uuid4())}"}
    other = {"Authorization": f"Bearer {keys.user_token(uuid.uuid4())}"}
    async with two_gateways(serve, users_url, rate_limit_per_user=3) as (first, second):
        for _ in range(3):
            assert (await first.get("/api/v1/me", headers=spender)).status_code == 200
        assert (await second.get("/api/v1/me", headers=spender)).status_code == 429
        fresh = await second.get("/api/v1/me", headers=other)
    assert fresh.status_code == 200
    assert fresh.headers["RateLimit-Remaining"] == "2"


async def test_anonymous_requests_share_their_address_budget(serve: Any, fake_users: Any) -> None:
    _, users_url = fake_users
    # One trusted proxy in front: the address is the one it saw (a fresh one for this run).
    address = {"X-Forwarded-For": f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"}
    async with two_gateways(serve, users_url, rate_limit_per_address=4, forwarded_for_depth=1) as (
        first,
        second,
    ):
        answers = [
            await (first if i % 2 == 0 else second).get("/api/v1/me", headers=address)
            for i in range(6)
        ]
        health = await first.get("/health/live", headers=address)
    # Refused as anonymous by the route (401) while the budget lasts, then 429.
    assert [a.status_code for a in answers] == [401] * 4 + [429] * 2
    assert answers[0].headers["RateLimit-Limit"] == "4"
    assert answers[0].headers["RateLimit-Remaining"] == "3"
    assert "Retry-After" in answers[-1].headers
    assert "RateLimit-Limit" not in health.headers  # health checks do not count


async def test_two_gateways_share_one_login_budget(serve: Any, fake_users: Any) -> None:
    fake, users_url = fake_users
    async with two_gateways(
        serve, users_url, login_per_account=3, login_per_address=100, login_window_s=600
    ) as (first, second):
        answers = [
            await (first if i % 2 == 0 else second).post(
                "/api/v1/auth/login", json={"login": "Ada", "password": "wrong"}
            )
            for i in range(5)
        ]
        # A successful login does not count, on either replica.
        for i in range(4):
            other = first if i % 2 == 0 else second
            ok = await other.post("/api/v1/auth/login", json={"login": "bob", "password": "right"})
            assert ok.status_code == 200
    # Three failed attempts in all, not three per gateway.
    assert [a.status_code for a in answers] == [401] * 3 + [429] * 2
    assert fake.hits["/login"] == 3 + 4  # the refused ones never reached the users service
    refused = answers[-1]
    body = refused.json()
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert body["limit"] == "login-per-account"
    assert 0 < int(refused.headers["Retry-After"]) <= 600
    # The budget that refused it, in the RateLimit-* fields.
    assert refused.headers["RateLimit-Policy"] == "3;w=600"
    assert refused.headers["RateLimit-Remaining"] == "0"


async def test_two_gateways_share_one_login_budget_per_address(serve: Any, fake_users: Any) -> None:
    _, users_url = fake_users
    async with two_gateways(serve, users_url, login_per_account=100, login_per_address=2) as (
        first,
        second,
    ):
        statuses = [
            (
                await (first if i % 2 == 0 else second).post(
                    "/api/v1/auth/login", json={"login": f"user{i}", "password": "wrong"}
                )
            ).status_code
            for i in range(4)
        ]
    assert statuses == [401, 401, 429, 429]


async def test_two_gateways_share_one_registration_budget(serve: Any, fake_users: Any) -> None:
    _, users_url = fake_users
    async with two_gateways(serve, users_url, register_per_account=1, register_per_address=100) as (
        first,
        second,
    ):
        created = await first.post("/api/v1/auth/register", json=_registration("ada"))
        again = await second.post(
            "/api/v1/auth/register", json=_registration("ada2", email="ADA@example.com")
        )
    assert created.status_code == 201
    assert again.status_code == 429
    assert again.json()["limit"] == "register-per-account"


def _registration(username: str, email: str | None = None) -> dict[str, str]:
    return {
        "username": username,
        "email": email or f"{username}@example.com",
        "password": "correct horse battery staple",
    }
