"""The composed reads' shapes in the OpenAPI document, tied to the upstreams' own.

A composed answer is mostly what the services answer (a catalog album, a playlist's items):
rather than copy those shapes into the gateway, :func:`link_contract_shapes` points the
document at the upstreams' schemas the contracts record (``catalog.AlbumDetail``): each
composed shape (:mod:`medley_gateway.compose.shapes`) is the upstream's shape (``allOf``)
with what the composition adds, and the fields one part fills refer to that part's shape;
the query parameters a composed read takes are listed here too.
It runs before :func:`medley_gateway.contracts.compose`, which adds the schemas referred to.
"""

from __future__ import annotations

import copy
from typing import Any

from medley_gateway.contracts import SCHEMA_REF

# Composed shape → (the upstream shape it extends, or None; {field: (upstream shape, list?)})
LINKS: dict[str, tuple[str | None, dict[str, tuple[str, bool]]]] = {
    "ComposedPlaylist": ("playlists.PlaylistOut", {}),
    "PlaylistItem": (
        "playlists.ItemOut",
        {"details": ("catalog.TrackOut", False), "track": ("playlists.TrackShown", False)},
    ),
    "ComposedAlbum": ("catalog.AlbumDetail", {}),
    "AlbumTrack": ("catalog.TrackOfAlbum", {}),
    "ComposedArtist": ("catalog.ArtistDetail", {"albums": ("catalog.AlbumRow", True)}),
    "ComposedListens": (None, {}),
    "Listen": (
        "ingestion.ListenOut",
        {"details": ("catalog.TrackOut", False), "track": ("ingestion.ListenTrack", False)},
    ),
    "Home": (
        None,
        {
            "profile": ("users.UserOut", False),
            "top_artists": ("ingestion.TopItem", True),
            "recent_playlists": ("playlists.PlaylistOut", True),
            "running_imports": ("ingestion.ImportOut", True),
        },
    ),
}


def _query(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"type": "string", **schema}}  # fmt: skip


# The query parameters a composed read takes (its handler reads the query itself).
QUERY_PARAMETERS: dict[str, list[dict[str, Any]]] = {
    "/api/v1/playlists/{playlist_id}": [
        _query("expand", "``tracks``: compose the items, details and plays", enum=["tracks"])
    ],
    "/api/v1/me/listens": [
        _query("since", "from (inclusive)", format="date-time"),
        _query("until", "to (exclusive)", format="date-time"),
        _query("track_id", "one track's listens", format="uuid"),
        {
            **_query("limit", "page size"),
            "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
        },
        _query("cursor", "the previous page's ``next_cursor``"),
    ],
}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": SCHEMA_REF + name}


def _linked(schema: dict[str, Any], shape: str, many: bool) -> dict[str, Any]:
    """``schema`` (a field's) pointing at ``shape``, keeping its description and null."""
    target: dict[str, Any] = {"type": "array", "items": _ref(shape)} if many else _ref(shape)
    options = schema.get("oneOf") or [schema]
    nullable = any(option.get("type") == "null" for option in options)
    linked: dict[str, Any] = {"oneOf": [target, {"type": "null"}]} if nullable else target
    if "description" in schema:
        linked = {**linked, "description": schema["description"]}
    return linked


def link_contract_shapes(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with the composed shapes tied to the upstreams' (see the module)."""
    linked = copy.deepcopy(document)
    schemas: dict[str, Any] = linked.get("components", {}).get("schemas", {})
    for key, schema in schemas.items():
        name = key.rsplit(".", 1)[-1]
        if name not in LINKS or "properties" not in schema:
            continue
        base, fields = LINKS[name]
        for field, (shape, many) in fields.items():
            if field in schema["properties"]:
                schema["properties"][field] = _linked(schema["properties"][field], shape, many)
        if base is not None:
            schemas[key] = {"allOf": [_ref(base), schema]}
    for path, parameters in QUERY_PARAMETERS.items():
        operation = linked.get("paths", {}).get(path, {}).get("get")
        if operation is not None:
            operation["parameters"] = [*operation.get("parameters", []), *parameters]
    return linked
