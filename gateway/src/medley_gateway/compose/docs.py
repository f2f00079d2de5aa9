"""The composed reads' shapes in the OpenAPI document, tied to the upstreams' own.

A composed answer is mostly what the services answer (a catalog album, a playlist's items):
rather than copy those shapes into the gateway, :func:`link_contract_shapes` points the
document at the upstreams' schemas the contracts record (``catalog.AlbumDetail``): each
composed shape (:mod:`medley_gateway.compose.shapes`) is the upstream's shape (``allOf``)
with what the composition adds, and the fields one part fills refer to that part's shape.
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
    return linked
