"""Service tokens are fetched once, kept until shortly before they expire, fetched again
after a refusal (``invalidate``), and a users service that cannot give one is a 503."""

from __future__ import annotations

import httpx
import pytest

from medley_core.errors import ServiceUnavailable
from medley_core.service_tokens import ServiceTokens


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def users_service(asked: list[dict[str, str]], status: int = 200) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        form = dict(httpx.QueryParams(request.content.decode()))
        asked.append(form)
        if status != 200:
            return httpx.Response(status, json={"error": "invalid_client"})
        return httpx.Response(
            200,
            json={"access_token": f"token-{len(asked)}", "expires_in": 300, "token_type": "Bearer"},
        )

    return httpx.MockTransport(answer)


async def test_a_token_is_kept_until_shortly_before_it_expires() -> None:
    asked: list[dict[str, str]] = []
    clock = Clock()
    tokens = ServiceTokens(
        "http://users", "ingestion", "s3cret", scope="catalog:resolve",
        transport=users_service(asked), clock=clock,
    )  # fmt: skip
    try:
        assert await tokens.authorization() == "Bearer token-1"
        clock.now += 200
        assert await tokens.token() == "token-1"
        clock.now += 41  # past expires_in - 60 s
        assert await tokens.token() == "token-2"
        tokens.invalidate()
        assert await tokens.token() == "token-3"
    finally:
        await tokens.aclose()
    assert asked[0] == {
        "grant_type": "client_credentials",
        "client_id": "ingestion",
        "client_secret": "s3cret",
        "scope": "catalog:resolve",
    }
    assert len(asked) == 3


async def test_no_token_is_a_503() -> None:
    tokens = ServiceTokens("http://users", "x", "y", transport=users_service([], status=401))
    try:
        with pytest.raises(ServiceUnavailable, match="answered 401"):
            await tokens.token()
    finally:
        await tokens.aclose()
