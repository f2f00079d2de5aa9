"""The entity routes share one controller, yet each documents its own entity's answer (the
check that every route declares a shape runs over every registered service in
``deploy/local/tests/test_openapi_shapes.py``)."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient


async def test_each_entity_route_documents_its_own_entity(client: AsyncTestClient[Any]) -> None:
    document = (await client.get("/schema/openapi.json")).json()

    def answer(path: str, method: str = "get") -> Any:
        responses = document["paths"][path][method]["responses"]
        success = next(r for status, r in responses.items() if status.startswith("2"))
        return success["content"]["application/json"]["schema"]

    assert answer("/tracks/{entity_id}") == {"$ref": "#/components/schemas/TrackDetail"}
    assert answer("/albums/{entity_id}") == {"$ref": "#/components/schemas/AlbumDetail"}
    assert answer("/artists/lookup") == {"$ref": "#/components/schemas/ArtistDetail"}
    batch = document["components"]["schemas"][answer("/albums/batch", "post")["$ref"][21:]]
    assert batch["properties"]["items"]["items"] == {"$ref": "#/components/schemas/AlbumOut"}
