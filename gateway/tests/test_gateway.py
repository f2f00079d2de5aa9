"""The gateway in front of a real (fake) users service on a real port.

Tokens are verified by the gateway itself, with the JWKS it fetches from the upstream; the
upstream's answers are relayed; its failures become 503/504 problems naming it.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from medley_gateway.app import create_app
from medley_gateway.settings import GatewaySettings
from medley_gateway.upstreams import UPSTREAMS

PROBLEM = "application/problem+json"
Bearer = Callable[[str], dict[str, str]]


Gateway = Callable[..., Any]


@pytest.fixture
def gateway(serve: Any) -> Gateway:
    """``async with gateway(users_url, **settings) as client``: the gateway served by uvicorn on
    a free port (in this event loop, like its upstream), and a client for it."""

    @asynccontextmanager
    async def run(users_url: str, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
        # The fake stands for every upstream (its /health/ready too) unless a test says.
        settings.setdefault("upstream_urls", {spec.name: users_url for spec in UPSTREAMS})
        # The rate limits count in NATS KV, which outlives a test: budgets of their own.
        settings.setdefault("event_prefix", f"gw{uuid.uuid4().hex[:10]}")
        config = GatewaySettings(
            users_url=users_url, log_json=False, log_level="WARNING", **settings
        )
        async with (
            serve(create_app(config), lifespan="on") as url,
            httpx.AsyncClient(base_url=url, timeout=10) as client,
        ):
            yield client

    return run


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    # The gateway's own problems carry the request id; relayed ones carry the upstream's.
    assert (
        body.get("request_id", response.headers["x-request-id"])
        == (response.headers["x-request-id"])
    )
    return body


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# -- relaying -----------------------------------------------------------------------------------


async def test_login_body_is_forwarded_as_sent_and_tokens_relayed(
    gateway: Gateway, fake_users: Any
) -> None:
    fake, url = fake_users
    raw = b'{"login": "ada",  "password": "right"}'
    async with gateway(url) as client:
        response = await client.post(
            "/api/v1/auth/login", content=raw, headers={"content-type": "application/json"}
        )
    assert response.status_code == 200
    assert response.json()["token_type"] == "Bearer"
    seen = fake.seen[-1]
    assert seen["path"] == "/login"
    assert seen["body"] == raw
    assert "authorization" not in seen["headers"]


async def test_upstream_problems_pass_through(gateway: Gateway, fake_users: Any) -> None:
    _, url = fake_users
    async with gateway(url) as client:
        response = await client.post("/api/v1/auth/login", json={"login": "a", "password": "no"})
        body = assert_problem(response, 401)
        assert body["type"].endswith("/invalid-credentials")
        assert body["detail"] == "the login or the password is wrong"

        response = await client.post(
            "/api/v1/auth/register",
            json={"username": "taken", "email": "t@example.com", "password": "x" * 12},
        )
        assert response.status_code == 409
        assert response.headers["content-type"].startswith(PROBLEM)
        assert response.json()["field"] == "username"


async def test_logout_relays_no_content(gateway: Gateway, fake_users: Any) -> None:
    _, url = fake_users
    async with gateway(url) as client:
        response = await client.post("/api/v1/auth/logout", json={"refresh_token": "r1"})
    assert response.status_code == 204
    assert response.content == b""


async def test_jwks_is_relayed_and_cacheable(gateway: Gateway, fake_users: Any, keys: Any) -> None:
    _, url = fake_users
    async with gateway(url) as client:
        response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.json() == keys.jwks
    assert "max-age" in response.headers["cache-control"]


# -- authentication happens at the gateway ------------------------------------------------------


async def test_me_needs_a_valid_token_before_the_upstream_is_called(
    gateway: Gateway, fake_users: Any, keys: Any, bearer: Bearer
) -> None:
    fake, url = fake_users
    now = int(time.time())
    header = b64(json.dumps({"alg": "none", "kid": keys.kid, "typ": "JWT"}).encode())
    payload = b64(json.dumps({"sub": str(uuid.uuid4()), "token_use": "access"}).encode())
    forged_key = type(keys)(keys.kid)  # same kid, another key
    refused = {
        "no token": {},
        "garbage": bearer("garbage"),
        "alg none": bearer(f"{header}.{payload}."),
        "forged": bearer(forged_key.user_token()),
        "expired": bearer(keys.user_token(iat=now - 3600, exp=now - 600)),
        "wrong audience": bearer(keys.user_token(aud="someone-else")),
        "wrong issuer": bearer(keys.user_token(iss="evil")),
        "basic": {"Authorization": "Basic YTpi"},
    }
    async with gateway(url) as client:
        for case, headers in refused.items():
            response = await client.get("/api/v1/me", headers=headers)
            assert_problem(response, 401)
            assert response.headers["www-authenticate"].startswith("Bearer"), case
        assert fake.hits.get("/me") is None

        token = keys.user_token()
        response = await client.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 200
    assert fake.seen[-1]["headers"]["authorization"] == f"Bearer {token}"


async def test_service_tokens_cannot_act_as_users(
    gateway: Gateway, fake_users: Any, keys: Any, bearer: Bearer
) -> None:
    fake, url = fake_users
    service = keys.service_token("catalog", roles=("service",))
    async with gateway(url) as client:
        assert_problem(await client.get("/api/v1/me", headers=bearer(service)), 403)
    assert fake.hits.get("/me") is None


async def test_admin_routes_need_the_admin_role(
    gateway: Gateway, fake_users: Any, keys: Any, bearer: Bearer
) -> None:
    fake, url = fake_users
    async with gateway(url) as client:
        assert_problem(await client.get("/api/v1/admin/users"), 401)
        response = await client.get("/api/v1/admin/users", headers=bearer(keys.user_token()))
        assert_problem(response, 403)
        assert fake.hits.get("/admin/users") is None

        admin = keys.user_token(roles=("user", "admin"))
        response = await client.get("/api/v1/admin/users?limit=5&q=ad%20a", headers=bearer(admin))
    assert response.status_code == 200
    assert fake.seen[-1]["query"] == "limit=5&q=ad%20a"


async def test_admins_grant_and_revoke_admin_through_the_gateway(
    gateway: Gateway, fake_users: Any, keys: Any, bearer: Bearer
) -> None:
    fake, url = fake_users
    user_id = uuid.uuid4()
    path = f"/api/v1/admin/users/{user_id}/roles/admin"
    async with gateway(url) as client:
        assert_problem(await client.put(path, headers=bearer(keys.user_token())), 403)
        assert fake.hits.get(f"/admin/users/{user_id}/roles/admin") is None

        admin = bearer(keys.user_token(roles=("user", "admin")))
        granted = await client.put(path, headers=admin)
        assert granted.status_code == 200
        assert granted.json()["roles"] == ["admin", "user"]
        assert (fake.seen[-1]["method"], fake.seen[-1]["path"]) == (
            "PUT",
            f"/admin/users/{user_id}/roles/admin",
        )
        revoked = await client.delete(path, headers=admin)
        assert revoked.status_code == 200
        assert fake.seen[-1]["method"] == "DELETE"


async def test_request_id_and_trace_context_reach_the_upstream(
    gateway: Gateway, fake_users: Any, keys: Any, bearer: Bearer
) -> None:
    fake, url = fake_users
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    headers = {
        **bearer(keys.user_token()),
        "X-Request-ID": "client-req-42",
        "traceparent": f"00-{trace_id}-b7ad6b7169203331-01",
    }
    async with gateway(url) as client:
        response = await client.get("/api/v1/me", headers=headers)
    assert response.headers["x-request-id"] == "client-req-42"
    upstream_headers = fake.seen[-1]["headers"]
    assert upstream_headers["x-request-id"] == "client-req-42"
    assert upstream_headers["traceparent"].startswith(f"00-{trace_id}-")


# -- upstream failures --------------------------------------------------------------------------


async def test_upstream_down_is_a_503_naming_it(gateway: Gateway, unreachable_url: str) -> None:
    async with gateway(unreachable_url, upstream_retries=0) as client:
        response = await client.post("/api/v1/auth/login", json={"login": "a", "password": "b"})
    body = assert_problem(response, 503)
    assert body["upstream"] == "users"
    assert "users" in body["detail"]


async def test_circuit_opens_after_repeated_failures(
    gateway: Gateway, unreachable_url: str
) -> None:
    async with gateway(
        unreachable_url, upstream_retries=0, circuit_failure_threshold=2, circuit_reset_s=60
    ) as client:
        for _ in range(2):
            body = assert_problem(
                await client.post("/api/v1/auth/register", json=_registration()), 503
            )
            assert "circuit" not in body["detail"]
        response = await client.post("/api/v1/auth/register", json=_registration())
    body = assert_problem(response, 503)
    assert "circuit open" in body["detail"]
    assert body["upstream"] == "users"
    assert int(response.headers["retry-after"]) > 0


async def test_upstream_timeout_is_a_504(
    gateway: Gateway, fake_users: Any, keys: Any, bearer: Bearer
) -> None:
    fake, url = fake_users
    fake.me_mode = "hang"
    async with gateway(url, upstream_timeout_s=0.3, upstream_retries=0) as client:
        response = await client.get("/api/v1/me", headers=bearer(keys.user_token()))
    body = assert_problem(response, 504)
    assert body["upstream"] == "users"


async def test_non_json_upstream_error_becomes_a_503(
    gateway: Gateway, fake_users: Any, keys: Any, bearer: Bearer
) -> None:
    fake, url = fake_users
    fake.me_mode = "html-502"
    async with gateway(url, upstream_retries=0) as client:
        response = await client.get("/api/v1/me", headers=bearer(keys.user_token()))
    assert assert_problem(response, 503)["upstream"] == "users"


async def test_upstream_5xx_problem_is_relayed(
    gateway: Gateway, fake_users: Any, keys: Any, bearer: Bearer
) -> None:
    fake, url = fake_users
    fake.me_mode = "503"
    async with gateway(url, upstream_retries=1) as client:
        response = await client.get("/api/v1/me", headers=bearer(keys.user_token()))
    body = assert_problem(response, 503)
    assert body["detail"] == "database down"
    assert fake.hits["/me"] == 2  # a read: retried once


# -- health -------------------------------------------------------------------------------------


async def test_health_is_200_only_when_every_upstream_is_ready(
    gateway: Gateway, fake_users: Any
) -> None:
    fake, url = fake_users
    async with gateway(url, metrics_token=SCRAPER_TOKEN) as client:
        response = await client.get("/health")
        assert response.status_code == 200
        users = response.json()["upstreams"]["users"]
        assert users["status"] == "up"
        assert users["circuit"] == "closed"

        fake.ready = False
        response = await client.get("/health")
        body = assert_problem(response, 503)
        assert body["upstreams"]["users"]["status"] == "down"
        assert body["upstreams"]["users"]["checks"] == {"database": "down"}

        assert (await client.get("/health/live")).status_code == 200
        metrics = await client.get("/metrics", headers=SCRAPER)
        assert metrics.status_code == 200
        assert "medley" in metrics.text


SCRAPER_TOKEN = "scrape-0123456789abcdef"
SCRAPER = {"Authorization": f"Bearer {SCRAPER_TOKEN}"}


async def test_metrics_are_not_public(gateway: Gateway, fake_users: Any) -> None:
    """The gateway is the public surface: metrics only with the scraper's token, and not at
    all when none is configured."""
    _, url = fake_users
    async with gateway(url) as client:
        assert_problem(await client.get("/metrics"), 404)
        assert_problem(await client.get("/metrics", headers=SCRAPER), 404)
    async with gateway(url, metrics_token=SCRAPER_TOKEN) as client:
        assert_problem(await client.get("/metrics"), 401)
        assert_problem(
            await client.get("/metrics", headers={"Authorization": "Bearer scrape-wrong-0000000"}),
            401,
        )
        assert (await client.get("/metrics", headers=SCRAPER)).status_code == 200


async def test_health_with_an_unreachable_upstream(
    gateway: Gateway, fake_users: Any, unreachable_url: str
) -> None:
    _, ready_url = fake_users
    urls = {"users": unreachable_url, "catalog": ready_url}
    async with gateway(unreachable_url, upstream_urls=urls) as client:
        body = assert_problem(await client.get("/health"), 503)
    # One upstream down is enough to fail, and the body says which.
    assert body["upstreams"]["users"]["status"] == "down"
    assert body["upstreams"]["users"]["error"]
    assert body["upstreams"]["catalog"]["status"] == "up"


# -- rate limits --------------------------------------------------------------------------------


async def test_login_is_limited_per_account(gateway: Gateway, fake_users: Any) -> None:
    fake, url = fake_users
    async with gateway(url, login_per_account=2, login_per_address=100) as client:
        for _ in range(2):
            response = await client.post(
                "/api/v1/auth/login", json={"login": "Ada", "password": "wrong"}
            )
            assert response.status_code == 401
        response = await client.post(
            "/api/v1/auth/login", json={"login": " ada ", "password": "wrong"}
        )
        body = assert_problem(response, 429)
        assert int(response.headers["retry-after"]) >= 1
        assert body["limit"] == "login-per-account"
        assert fake.hits["/login"] == 2  # the refused attempt never reached the upstream

        other = await client.post("/api/v1/auth/login", json={"login": "bob", "password": "x"})
        assert other.status_code == 401


async def test_the_users_services_account_budget_comes_back_as_it_is(
    gateway: Gateway, fake_users: Any
) -> None:
    """The users service keeps each account's failed-login budget (by account id, username
    and email alike); its 429 reaches the caller with its Retry-After."""
    _, url = fake_users
    async with gateway(url) as client:
        response = await client.post(
            "/api/v1/auth/login", json={"login": "ada@example.com", "password": "locked"}
        )
    assert assert_problem(response, 429)["type"].endswith("/rate-limited")
    assert response.headers["retry-after"] == "42"


async def test_login_is_limited_per_address(gateway: Gateway, fake_users: Any) -> None:
    _, url = fake_users
    async with gateway(url, login_per_account=100, login_per_address=3) as client:
        for i in range(3):
            response = await client.post(
                "/api/v1/auth/login", json={"login": f"user{i}", "password": "wrong"}
            )
            assert response.status_code == 401
        response = await client.post(
            "/api/v1/auth/login", json={"login": "someone-else", "password": "wrong"}
        )
    assert assert_problem(response, 429)["limit"] == "login-per-address"


async def test_successful_logins_do_not_count(gateway: Gateway, fake_users: Any) -> None:
    _, url = fake_users
    async with gateway(url, login_per_account=1, login_per_address=1) as client:
        for _ in range(5):
            response = await client.post(
                "/api/v1/auth/login", json={"login": "ada", "password": "right"}
            )
            assert response.status_code == 200


async def test_register_answers_where_the_account_is_read(
    gateway: Gateway, fake_users: Any
) -> None:
    _, url = fake_users
    async with gateway(url) as client:
        created = await client.post("/api/v1/auth/register", json=_registration("ada"))
    assert created.status_code == 201
    # The users service's /me, at the gateway's path.
    assert created.headers["location"] == "/api/v1/me"


async def test_register_is_limited_per_account(gateway: Gateway, fake_users: Any) -> None:
    _, url = fake_users
    async with gateway(url, register_per_account=1, register_per_address=100) as client:
        first = await client.post("/api/v1/auth/register", json=_registration("ada"))
        assert first.status_code == 201
        again = await client.post(
            "/api/v1/auth/register", json=_registration("ada2", email="ADA@example.com")
        )
        assert_problem(again, 429)


# -- what never reaches the upstream ------------------------------------------------------------


async def test_bad_requests_are_problems_not_500s(gateway: Gateway, fake_users: Any) -> None:
    fake, url = fake_users
    async with gateway(url, max_body_bytes=2048) as client:
        post = client.post
        malformed = await post(
            "/api/v1/auth/login",
            content=b'{"login": ',
            headers={"content-type": "application/json"},
        )
        assert_problem(malformed, 400)
        wrong_type = await post("/api/v1/auth/login", json={"login": 42, "password": "x"})
        assert wrong_type.status_code in (400, 422)
        assert_problem(wrong_type, wrong_type.status_code)
        not_an_object = await post("/api/v1/auth/login", json=["login", "password"])
        assert 400 <= not_an_object.status_code < 500
        missing = await post("/api/v1/auth/refresh", json={})
        assert 400 <= missing.status_code < 500
        too_big = await post(
            "/api/v1/auth/register", json={**_registration(), "display_name": "x" * 4096}
        )
        assert_problem(too_big, 413)
        assert_problem(await client.get("/api/v1/nowhere"), 404)
        assert_problem(await client.get("/api/v1/auth/login"), 405)
        assert_problem(await client.delete("/api/v1/me/api-tokens/not-a-uuid"), 404)
    assert fake.hits.get("/login") is None
    assert fake.hits.get("/register") is None


# -- docs ---------------------------------------------------------------------------------------


async def test_docs_page_uses_only_assets_the_gateway_serves(
    gateway: Gateway, fake_users: Any
) -> None:
    _, url = fake_users
    async with gateway(url) as client:
        page = await client.get("/docs")
        assert page.status_code == 200
        assert "text/html" in page.headers["content-type"]
        html = page.text
        assert not re.search(r"https?://", html), "the docs page must work offline"
        assets = re.findall(r'(?:src|href)=["\']([^"\']+)["\']', html)
        assert len(assets) >= 4  # bundle, preset, css, favicon
        for asset in assets:
            response = await client.get(asset)
            assert response.status_code == 200, asset
            assert len(response.content) > 100
        schema = (await client.get("/docs/openapi.json")).json()

    paths = schema["paths"]
    for path in (
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/auth/token",
        "/api/v1/me",
        "/api/v1/me/password",
        "/api/v1/me/api-tokens",
        "/api/v1/me/api-tokens/{token_id}",
        "/api/v1/me/integrations",
        "/api/v1/me/integrations/{provider}",
        "/api/v1/admin/users",
        "/api/v1/admin/users/{user_id}/disable",
        "/api/v1/admin/users/{user_id}/enable",
        "/api/v1/admin/users/{user_id}/roles/{role}",
        "/api/v1/admin/erasures/{user_id}",
        "/.well-known/jwks.json",
        "/health",
    ):
        assert path in paths, path
    login = paths["/api/v1/auth/login"]["post"]
    assert login["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/LoginRequest"
    )
    assert login["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/TokenPair"
    )
    assert "429" in login["responses"]
    assert paths["/api/v1/me"]["get"]["security"] == [{"BearerToken": []}]
    assert "/metrics" not in paths


def _registration(username: str = "ada", email: str | None = None) -> dict[str, str]:
    return {
        "username": username,
        "email": email or f"{username}@example.com",
        "password": "correct horse battery",
    }


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Proxies from the environment must not stand between the gateway and 127.0.0.1."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
