"""Hostile input to every documented gateway route answers a 4xx problem, never a 500.

The gateway decodes bodies itself (rate limits read the login) before it forwards them, so
its own decoding is what is swept: in-process, with the fake users service standing for
every upstream. The routes come from the OpenAPI document (``/docs/openapi.json``).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from medley_core.decoding import MAX_QUERY_BYTES
from medley_core.logs import MAX_LOG_MESSAGE_CHARS
from medley_core.testing.tokens import TokenMint, bearer
from medley_gateway.app import create_app
from medley_gateway.settings import GatewaySettings
from medley_gateway.upstreams import UPSTREAMS
from medley_local.hostile import sweep

from .conftest import FakeUsers


def in_process_gateway(keys: TokenMint, fake: FakeUsers, **settings: Any) -> Litestar:
    """The gateway with the fake users service for every upstream, over ASGI (no sockets)."""
    config = GatewaySettings(
        users_url="http://users.test",
        upstream_urls={spec.name: f"http://{spec.name}.test" for spec in UPSTREAMS},
        **settings,
    )
    upstream = fake.app()
    return create_app(
        config,
        verifier=keys.verifier(),
        transports={spec.name: httpx.ASGITransport(app=upstream) for spec in UPSTREAMS},
    )


def admin_headers(keys: TokenMint) -> dict[str, str]:
    return bearer(keys.admin_token())


async def test_every_route_refuses_hostile_input(keys: TokenMint) -> None:
    app = in_process_gateway(keys, FakeUsers(keys), log_json=False)
    admin = admin_headers(keys)
    async with AsyncTestClient(app) as client:
        # ListenBrainz's /1/ routes answer in ListenBrainz's shape (as ingestion's sweep
        # judges them): a 4xx, whatever its shape, and no error logged.
        report = await sweep(
            client,
            "/docs/openapi.json",
            admin,
            path_values={"provider": "spotify"},
            own_error_shape=("/1/",),
        )
    # Discovery found the routes it is meant to cover (a sweep of nothing would pass).
    assert {
        "POST /api/v1/auth/login",
        "POST /api/v1/me/api-tokens",
        "PUT /api/v1/me/integrations/{provider}",
        "GET /api/v1/admin/users",
        "POST /1/submit-listens",
    } <= report.operations
    assert not report.failures, "\n".join(report.failures)


async def test_long_query_strings_do_not_become_long_log_lines(
    keys: TokenMint, capsys: pytest.CaptureFixture[str]
) -> None:
    """A query string as long as the gateway accepts is forwarded, but no log line repeats
    it: an upstream URL is not logged whole, and no log message is unbounded."""
    fake = FakeUsers(keys)
    # Logs go to stderr as in production (created here, the handler writes to capsys's).
    app = in_process_gateway(keys, fake, log_json=True, log_level="DEBUG")
    query = "q" * (MAX_QUERY_BYTES - 100)
    async with AsyncTestClient(app) as client:
        response = await client.get(
            "/api/v1/admin/users", params={"q": query}, headers=admin_headers(keys)
        )
        assert response.status_code == 200, response.text
        assert fake.seen[-1]["query"] == f"q={query}"  # forwarded whole, all the same
        refused = await client.get(
            "/api/v1/admin/users", params={"q": query * 3}, headers=admin_headers(keys)
        )
        assert refused.status_code == 414
    lines = capsys.readouterr().err.splitlines()
    assert lines, "the gateway logged nothing: the test would prove nothing"
    assert not [line for line in lines if query[:2000] in line]
    assert max(len(line) for line in lines) < MAX_LOG_MESSAGE_CHARS + 2000
