"""Hostile input to every documented route answers a 4xx, never a 500 (issue #11).

The routes come from the OpenAPI document, so a new route is swept without a test of its
own; see :mod:`medley_local.hostile` for the classes of input. ListenBrainz's routes answer
its own error shape, so only the app's routes are held to problem details.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import AsyncTestClient

from medley_local.hostile import sweep

from .conftest import Headers


async def test_every_route_refuses_hostile_input(
    client: AsyncTestClient[Any], as_user: Headers
) -> None:
    report = await sweep(
        client, "/schema/openapi.json", as_user(uuid.uuid4()), own_error_shape=("/1/",)
    )
    assert {
        "GET /api/v1/me/listens",
        "GET /api/v1/me/stats/top-artists",
        "GET /1/user/{user_name}/listens",
    } <= report.operations
    assert not report.failures, "\n".join(report.failures)


async def test_hostile_submissions_are_listenbrainz_400s(
    client: AsyncTestClient[Any], as_user: Headers
) -> None:
    """submit-listens reads its body as JSON whatever the Content-Type, so the request guard
    does not see it: its own parser refuses what the guard would."""
    headers = as_user(uuid.uuid4())

    def single(track_name: bytes) -> bytes:
        return (
            b'{"listen_type": "single", "payload": [{"listened_at": 1700000000, '
            b'"track_metadata": {"artist_name": "A", "track_name": "' + track_name + b'"}}]}'
        )

    for body in (
        single(b"\xff\xfe"),  # not UTF-8
        b"[" * 100_000 + b"]" * 100_000,  # nested past any parser's depth
        single(rb"nul \u0000"),  # a NUL character, escaped
        single(rb"half \ud800"),  # a lone surrogate, escaped
    ):
        response = await client.post("/1/submit-listens", content=body, headers=headers)
        assert response.status_code == 400, (body[:80], response.text)
        assert response.json()["code"] == 400
