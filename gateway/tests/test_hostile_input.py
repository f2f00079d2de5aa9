"""Hostile input to every documented gateway route answers a 4xx problem, never a 500.

The gateway decodes bodies itself (rate limits read the login) before it forwards them, so
its own decoding is what is swept: in-process, with the fake users service standing for
every upstream. The routes come from the OpenAPI document (``/docs/openapi.json``).
"""

from __future__ import annotations

import httpx
from litestar.testing import AsyncTestClient

from medley_core.auth import StaticKeySource, TokenVerifier
from medley_gateway.app import create_app
from medley_gateway.settings import GatewaySettings
from medley_gateway.upstreams import UPSTREAMS
from medley_local.hostile import sweep

from .conftest import AUDIENCE, ISSUER, FakeUsers, Keys


async def test_every_route_refuses_hostile_input(keys: Keys) -> None:
    fake = FakeUsers(keys)
    upstream = fake.app()
    settings = GatewaySettings(
        users_url="http://users.test",
        upstream_urls={spec.name: f"http://{spec.name}.test" for spec in UPSTREAMS},
        log_json=False,
    )
    app = create_app(
        settings,
        verifier=TokenVerifier(StaticKeySource(keys.jwks), issuer=ISSUER, audience=AUDIENCE),
        transports={spec.name: httpx.ASGITransport(app=upstream) for spec in UPSTREAMS},
    )
    admin = {"Authorization": f"Bearer {keys.token(roles=('user', 'admin'))}"}
    async with AsyncTestClient(app) as client:
        report = await sweep(
            client, "/docs/openapi.json", admin, path_values={"provider": "spotify"}
        )
    # Discovery found the routes it is meant to cover (a sweep of nothing would pass).
    assert {
        "POST /api/v1/auth/login",
        "POST /api/v1/me/api-tokens",
        "PUT /api/v1/me/integrations/{provider}",
        "GET /api/v1/admin/users",
    } <= report.operations
    assert not report.failures, "\n".join(report.failures)
