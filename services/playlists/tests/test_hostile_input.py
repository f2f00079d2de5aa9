"""Hostile input to every documented route answers a 4xx problem, never a 500.

The routes come from the OpenAPI document, so a new route is swept without a test of its
own; see :mod:`medley_local.hostile` for the classes of input.
"""

from __future__ import annotations

from medley_local.hostile import sweep

from .conftest import Client, People


async def test_every_route_refuses_hostile_input(client: Client, people: People) -> None:
    report = await sweep(client, "/schema/openapi.json", people.alice.headers)
    # Discovery found the routes it is meant to cover (a sweep of nothing would pass).
    assert {
        "POST /playlists",
        "PATCH /playlists/{playlist_id}/items",
        "DELETE /playlists/{playlist_id}/items",
        "GET /users/{user_id}/playlists",
        "POST /smart-playlists",
        "GET /smart-playlists/{smart_id}/tracks",
        "GET /me/collections/{kinds}/contains",
    } <= report.operations
    assert not report.failures, "\n".join(report.failures)
