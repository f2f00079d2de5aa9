"""The gateway's OpenAPI document shows, for every public route, what it takes and answers.

The document is the one the gateway serves (``/docs/openapi.json``): Litestar's, completed
with the upstreams' shapes recorded in the checked-in contracts.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
from litestar.testing import AsyncTestClient

from medley_core.testing.tokens import TokenMint
from medley_gateway.app import create_app
from medley_gateway.routes import ROUTES
from medley_gateway.settings import GatewaySettings
from medley_gateway.upstreams import UPSTREAMS
from medley_local.openapi_shapes import (
    documented_operations,
    untyped_answers,
    untyped_requests,
)


async def served_document(keys: TokenMint) -> dict[str, Any]:
    settings = GatewaySettings(
        users_url="http://users.test",
        upstream_urls={spec.name: f"http://{spec.name}.test" for spec in UPSTREAMS},
        log_json=False,
    )
    app = create_app(
        settings,
        verifier=keys.verifier(),
        transports={
            spec.name: httpx.MockTransport(lambda _: httpx.Response(503)) for spec in UPSTREAMS
        },
    )
    async with AsyncTestClient(app) as client:
        response = await client.get("/docs/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def takes_a_body(method: str, path: str) -> bool:
    """A declared route says; any other POST, PUT or PATCH takes one."""
    for declared in ROUTES:
        if declared.method.lower() == method and declared.doc_path == path:
            return declared.has_body
    return method in ("post", "put", "patch")


def undocumented(document: dict[str, Any]) -> list[str]:
    """Every request and answer shape the document leaves out."""
    return untyped_requests(document, takes_a_body) + untyped_answers(document)


async def test_every_public_route_shows_its_request_and_answer_shapes(keys: TokenMint) -> None:
    document = await served_document(keys)
    # Every declared route is in the document (and the walk below is not over nothing).
    assert {r.key for r in ROUTES} <= documented_operations(document)
    gaps = undocumented(document)
    assert not gaps, "\n".join(gaps)


async def test_the_walk_finds_a_route_without_its_shapes(keys: TokenMint) -> None:
    """The check above can fail: each way of leaving a shape out is found."""
    served = await served_document(keys)
    document = copy.deepcopy(served)
    paths = document["paths"]
    del paths["/api/v1/me"]["patch"]["requestBody"]
    del paths["/api/v1/me"]["get"]["responses"]["200"]["content"]
    free_form = {"type": "object", "additionalProperties": {}}
    paths["/api/v1/me/api-tokens"]["get"]["responses"]["200"]["content"] = {
        "application/json": {"schema": {"type": "array", "items": free_form}}
    }
    paths["/api/v1/auth/token"]["post"]["requestBody"]["content"]["application/json"] = {
        "schema": {}
    }
    assert sorted(set(undocumented(document)) - set(undocumented(served))) == [
        "GET /api/v1/me 200: no body",
        "GET /api/v1/me/api-tokens 200 (application/json): [] has no declared shape "
        "({'type': 'object', 'additionalProperties': {}})",
        "PATCH /api/v1/me: no request body",
        "POST /api/v1/auth/token (application/json): the answer has no declared shape "
        "(an empty schema)",
    ]


async def test_shapes_come_from_the_upstreams_documents(keys: TokenMint) -> None:
    """A pass-through route shows the upstream's own types (named after it), its query
    parameters too; schemas the gateway only decodes with are not listed."""
    document = await served_document(keys)
    paths, schemas = document["paths"], document["components"]["schemas"]
    patch_me = paths["/api/v1/me"]["patch"]
    body = patch_me["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/users.ProfilePatch"}
    answer = patch_me["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer == {"$ref": "#/components/schemas/users.UserOut"}
    assert "users.UserOut" in schemas
    assert "UpdateMeRequest" not in schemas
    listing = paths["/api/v1/admin/users"]["get"]
    assert {"limit", "q"} <= {p["name"] for p in listing["parameters"] if p["in"] == "query"}
    create_track = paths["/api/v1/admin/catalog/tracks"]["post"]["requestBody"]
    assert create_track["content"]["application/json"]["schema"]["$ref"].endswith(
        "/catalog.TrackIn"
    )


async def test_the_listenbrainz_routes_are_in_the_document_with_their_shapes(
    keys: TokenMint,
) -> None:
    """``/1/…`` (one catch-all handler) shows each operation, shaped by ingestion's document."""
    from medley_gateway.routes import DOCUMENT_ONLY

    document = await served_document(keys)
    assert {r.key for r in DOCUMENT_ONLY} <= documented_operations(document)
    submit = document["paths"]["/1/submit-listens"]["post"]
    assert submit["tags"] == ["listenbrainz"]
    assert "$ref" in json.dumps(submit["requestBody"]["content"])
    listens = document["paths"]["/1/user/{user_name}/listens"]["get"]
    assert {p["name"] for p in listens["parameters"]} >= {"user_name", "min_ts", "count"}
    assert listens["responses"]["200"]["content"]["application/json"]["schema"]
    # Nothing of the document is left without its shapes by them.
    assert not [gap for gap in undocumented(document) if gap.split()[1].startswith("/1/")]
