"""Every route the users service documents says what it answers (the gateway composes from
these shapes): no success answer without a declared schema, except 204s."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from medley_local.openapi_shapes import untyped_answers


async def test_every_route_documents_its_answer_shape(client: AsyncTestClient[Any]) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    operations = {
        f"{method.upper()} {path}" for path, ops in document["paths"].items() for method in ops
    }
    # The walk found the routes (a walk of nothing would pass).
    assert {
        "POST /login",
        "GET /me",
        "GET /me/api-tokens",
        "GET /admin/users",
        "POST /oauth/token",
        "GET /.well-known/jwks.json",
        "GET /health/ready",
    } <= operations
    assert untyped_answers(document) == []
