"""Hostile input to every documented route answers a 4xx problem, never a 500 (issue #11).

The routes come from the OpenAPI document, so a new route is swept without a test of its
own; see :mod:`medley_local.hostile` for the classes of input.
"""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from medley_local.hostile import sweep

from .conftest import Headers


async def test_every_route_refuses_hostile_input(
    client: AsyncTestClient[Any], auth: Headers
) -> None:
    report = await sweep(client, "/schema/openapi.json", auth("admin"))
    # Discovery found the routes it is meant to cover (a sweep of nothing would pass).
    assert {"POST /artists", "PATCH /tracks/{entity_id}", "GET /search"} <= report.operations
    assert not report.failures, "\n".join(report.failures)
