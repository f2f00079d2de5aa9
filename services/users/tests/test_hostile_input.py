"""Hostile input to every documented route answers a 4xx problem, never a 500 (issue #11).

The routes come from the OpenAPI document, so a new route is swept without a test of its
own; see :mod:`medley_local.hostile` for the classes of input.
"""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from medley_local.hostile import sweep

from .conftest import admin_account


async def test_every_route_refuses_hostile_input(client: AsyncTestClient[Any]) -> None:
    admin = await admin_account(client)
    # A provider the service knows, so integration bodies are stored, not refused first.
    report = await sweep(
        client, "/schema/openapi.json", admin.headers, path_values={"provider": "spotify"}
    )
    # Discovery found the routes the issue names (a sweep of nothing would pass).
    assert {
        "POST /login",
        "POST /register",
        "POST /me/api-tokens",
        "PATCH /me",
        "PUT /me/integrations/{provider}",
        "GET /admin/users",
    } <= report.operations
    assert not report.failures, "\n".join(report.failures)
