"""Every route the catalog documents says what it answers (the gateway composes from these
shapes): no success answer without a declared schema, except 204s."""

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
        "GET /tracks",
        "GET /albums/{entity_id}",
        "POST /artists/batch",
        "POST /tracks/{entity_id}/merge",
        "GET /search",
        "GET /genres",
        "POST /internal/resolve",
        "GET /health/ready",
    } <= operations
    assert untyped_answers(document) == []


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
