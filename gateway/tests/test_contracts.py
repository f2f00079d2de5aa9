"""The checked-in contracts: current with the services, and built by the rules they state."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import msgspec
import pytest

from medley_gateway.contracts import REGENERATE
from medley_gateway.contracts.build import ContractError, build
from medley_gateway.routing import ADMIN, PUBLIC, Group


def test_the_checked_in_contracts_are_current() -> None:
    """Rebuilt from the services' own documents, nothing differs: a service that changed a
    shape the gateway shows, or a route added to a table, needs the contracts regenerated."""
    done = subprocess.run(
        [sys.executable, "-m", "medley_gateway.contracts", "--check"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, f"run `{REGENERATE}`:\n{done.stdout}\n{done.stderr}"


# --- the rules, on a made-up upstream --------------------------------------------------------

REF = "#/components/schemas/"


def upstream_document() -> dict[str, Any]:
    item = {
        "type": "object",
        "properties": {"id": {"type": "string"}, "tags": {"$ref": REF + "Tags"}},
    }
    return {
        "paths": {
            "/items": {
                "get": {
                    "parameters": [
                        {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                        {"name": "x-trace", "in": "header", "schema": {"type": "string"}},
                    ],
                    "responses": {
                        "200": {"content": {"application/json": {"schema": {"$ref": REF + "Page"}}}}
                    },
                },
                "post": {
                    "requestBody": {
                        "content": {"application/json": {"schema": {"$ref": REF + "ItemIn"}}}
                    },
                    "responses": {"201": {"content": {"application/json": {"schema": {}}}}},
                },
            },
            "/items/{item_id}": {
                "delete": {"responses": {"204": {"description": "gone"}}},
                "put": {
                    "requestBody": {
                        "content": {"application/json": {"schema": {"$ref": REF + "ItemIn"}}}
                    },
                    "responses": {
                        "200": {"content": {"application/json": {"schema": {"$ref": REF + "Item"}}}}
                    },
                },
            },
        },
        "components": {
            "schemas": {
                "Page": {
                    "type": "object",
                    "properties": {"items": {"type": "array", "items": {"$ref": REF + "Item"}}},
                },
                "Item": item,
                "Tags": {"type": "array", "items": {"type": "string"}},
                "ItemIn": {"type": "object", "properties": {"name": {"type": "string"}}},
                "Unused": {"type": "object", "properties": {"x": {"type": "string"}}},
            }
        },
    }


class Created(msgspec.Struct):
    id: str


items = Group("/api/v1/items", "shop", "/items", PUBLIC)


def test_the_upstreams_shapes_are_copied_under_its_name_with_what_they_refer_to() -> None:
    built = build([items.get("", summary="s", answer="a")], {"shop": upstream_document()})
    contract = built.files["shop"]
    operation = contract["operations"]["GET /items"]
    assert operation["response"] == {"$ref": REF + "shop.Page"}
    assert operation["request"] is None
    # Query parameters only: the gateway documents its own path parameters and headers.
    assert [p["name"] for p in operation["parameters"]] == ["limit"]
    assert sorted(contract["schemas"]) == ["shop.Item", "shop.Page", "shop.Tags"]
    assert contract["schemas"]["shop.Item"]["properties"]["tags"] == {"$ref": REF + "shop.Tags"}
    assert built.shadowed == []


def test_a_stand_in_fills_what_the_upstream_does_not_declare_and_only_that() -> None:
    routes = [
        items.post("", status=201, summary="s", answer="a", response=Created),
        items.put("/{item_id:str}", caller=ADMIN, summary="s", answer="a", response=Created),
    ]
    built = build(routes, {"shop": upstream_document()})
    operations = built.files["shop"]["operations"]
    # POST answers {} upstream: the stand-in is documented, as the gateway's own type.
    assert operations["POST /items"]["response"] == {"$ref": REF + "gateway.Created"}
    assert operations["POST /items"]["request"] == {
        "application/json": {"$ref": REF + "shop.ItemIn"}
    }
    assert "gateway.Created" in built.files["shop"]["schemas"]
    # PUT declares its answer: the upstream's wins, and the stand-in is reported for removal.
    assert operations["PUT /items/{item_id}"]["response"] == {"$ref": REF + "shop.Item"}
    assert built.shadowed == ["PUT /api/v1/items/{item_id}: response=Created"]


def test_a_table_that_disagrees_with_the_upstream_is_an_error() -> None:
    routes = [
        items.get("/{item_id:str}", summary="s", answer="a"),
        items.patch("/{item_id:str}", summary="s", answer="a"),
        items.put("/{item_id:str}", takes_body=False, summary="s", answer="a"),
        items.delete("/{item_id:str}", status=204, summary="s", answer="a"),
    ]
    with pytest.raises(ContractError) as raised:
        build(routes, {"shop": upstream_document()})
    assert str(raised.value).splitlines() == [
        "GET /api/v1/items/{item_id}: shop has no GET /items/{item_id}",
        "PATCH /api/v1/items/{item_id}: shop has no PATCH /items/{item_id}",
        "PUT /api/v1/items/{item_id}: PUT /items/{item_id} takes a body; say takes_body",
    ]
