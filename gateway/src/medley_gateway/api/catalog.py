"""``/api/v1/catalog`` (public reads) and ``/api/v1/admin/catalog`` (admin writes).

Reads need no token. Writes need the ``admin`` role, checked here before the catalog is
called; the catalog checks it again. Bodies, query strings and the catalog's answers
(problem details included) pass through as they are: the catalog owns their rules.
"""

from __future__ import annotations

from typing import Any, cast

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.params import FromPath

from medley_core.auth import require_roles
from medley_core.errors import NotFound
from medley_gateway.api.common import CATALOG, responses
from medley_gateway.docs import BEARER
from medley_gateway.upstreams import forward, path_segment

ENTITY_KINDS = ("tracks", "albums", "artists")
_AUTH = (401, 403)
_WRITE_PROBLEMS = (*_AUTH, 400, 404, 409, 413, 422)


def _kind(kind: str) -> str:
    if kind not in ENTITY_KINDS:
        raise NotFound(f"the catalog has tracks, albums and artists, not {kind!r}")
    return kind


def _entity(kind: str, entity_id: str, *rest: str) -> str:
    return "/".join(("", _kind(kind), path_segment(entity_id), *map(path_segment, rest)))


class CatalogController(Controller):
    path = "/api/v1/catalog"
    tags = ["catalog"]

    @get(
        "/search",
        summary="Search tracks, albums and artists",
        responses=responses((200, None, "Ranked hits with type facets and a cursor."), 400, 422),
    )
    async def search(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Typo-tolerant and accent-insensitive: ``q``, ``type`` (comma list of
        ``track,album,artist``), ``genre``, ``year``, ``limit``, ``cursor``."""
        return await forward(request, CATALOG, "/search", authorize=False)

    @get(
        "/genres",
        summary="Genres",
        responses=responses((200, None, "A page of genres with counts."), 400, 422),
    )
    async def genres(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        return await forward(request, CATALOG, "/genres", authorize=False)

    @get(
        "/{kind:str}",
        summary="List tracks, albums or artists",
        responses=responses((200, None, "A keyset page: `items`, `next_cursor`."), 404, 422),
    )
    async def list_entities(
        self, request: Request[Any, Any, Any], kind: FromPath[str]
    ) -> Response[bytes]:
        """Filters: ``artist``, ``album``, ``genre``, ``year``, ``type``, ``source``; ``sort``
        (``popularity`` for tracks); ``limit`` and the previous page's ``cursor``."""
        return await forward(request, CATALOG, f"/{_kind(kind)}", authorize=False)

    @get(
        "/{kind:str}/lookup",
        summary="Find by external id",
        responses=responses((200, None, "The entity carrying the id."), 404, 422),
    )
    async def lookup(self, request: Request[Any, Any, Any], kind: FromPath[str]) -> Response[bytes]:
        """``namespace`` (``isrc``, ``mbid``, ``spotify``, ``discogs``, ``lastfm``,
        ``local``) and ``value``."""
        return await forward(request, CATALOG, f"/{_kind(kind)}/lookup", authorize=False)

    @post(
        "/{kind:str}/batch",
        status_code=200,
        summary="Get up to 1,000 by id",
        responses=responses(
            (200, None, "`items`, `redirects` (merged ids), `missing`."), 400, 404, 413, 422
        ),
    )
    async def batch(self, request: Request[Any, Any, Any], kind: FromPath[str]) -> Response[bytes]:
        return await forward(request, CATALOG, f"/{_kind(kind)}/batch", authorize=False)

    @get(
        "/{kind:str}/{entity_id:str}",
        summary="One track, album or artist",
        responses=responses(
            (200, None, "The entity; a merged id answers with its survivor."), 404, 422
        ),
    )
    async def get_entity(
        self, request: Request[Any, Any, Any], kind: FromPath[str], entity_id: FromPath[str]
    ) -> Response[bytes]:
        return await forward(request, CATALOG, _entity(kind, entity_id), authorize=False)


class CatalogAdminController(Controller):
    path = "/api/v1/admin/catalog"
    tags = ["admin", "catalog"]
    guards = [require_roles("admin")]
    security = BEARER

    @post(
        "/genres",
        summary="Create a genre",
        responses=responses((201, None, "The genre."), *_WRITE_PROBLEMS),
    )
    async def create_genre(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        return await forward(request, CATALOG, "/genres")

    @post(
        "/{kind:str}",
        summary="Create a track, album or artist",
        responses=responses((201, None, "The entity."), *_WRITE_PROBLEMS),
    )
    async def create(self, request: Request[Any, Any, Any], kind: FromPath[str]) -> Response[bytes]:
        return await forward(request, CATALOG, f"/{_kind(kind)}")

    @patch(
        "/{kind:str}/{entity_id:str}",
        summary="Update (only the fields given)",
        responses=responses((200, None, "The entity."), *_WRITE_PROBLEMS),
    )
    async def update(
        self, request: Request[Any, Any, Any], kind: FromPath[str], entity_id: FromPath[str]
    ) -> Response[bytes]:
        return await forward(request, CATALOG, _entity(kind, entity_id))

    @delete(
        "/{kind:str}/{entity_id:str}",
        summary="Delete (soft; restorable)",
        responses=responses((204, None, "Deleted."), *_AUTH, 404, 422),
    )
    async def remove(
        self, request: Request[Any, Any, Any], kind: FromPath[str], entity_id: FromPath[str]
    ) -> Response[None]:
        return cast("Response[None]", await forward(request, CATALOG, _entity(kind, entity_id)))

    @post(
        "/{kind:str}/{entity_id:str}/{action:str}",
        status_code=200,
        summary="Restore, tag, add an external id, image or description, or merge",
        responses=responses((200, None, "The entity, or the merge's outcome."), *_WRITE_PROBLEMS),
    )
    async def act(
        self,
        request: Request[Any, Any, Any],
        kind: FromPath[str],
        entity_id: FromPath[str],
        action: FromPath[str],
    ) -> Response[bytes]:
        """``action`` is ``restore``, ``genres`` (add), ``external-ids``, ``images``,
        ``descriptions`` or ``merge`` (body ``{"into": id}``; a loop answers 409)."""
        if action not in _ACTIONS:
            raise NotFound(f"no catalog action {action!r}; one of {', '.join(_ACTIONS)}")
        return await forward(request, CATALOG, _entity(kind, entity_id, action))

    @put(
        "/{kind:str}/{entity_id:str}/genres",
        summary="Replace the genres",
        responses=responses((200, None, "The entity."), *_WRITE_PROBLEMS),
    )
    async def set_genres(
        self, request: Request[Any, Any, Any], kind: FromPath[str], entity_id: FromPath[str]
    ) -> Response[bytes]:
        return await forward(request, CATALOG, _entity(kind, entity_id, "genres"))

    @delete(
        "/{kind:str}/{entity_id:str}/external-ids/{namespace:str}/{value:str}",
        summary="Detach an external id",
        responses=responses((204, None, "Detached."), *_AUTH, 404, 422),
    )
    async def detach_external_id(
        self,
        request: Request[Any, Any, Any],
        kind: FromPath[str],
        entity_id: FromPath[str],
        namespace: FromPath[str],
        value: FromPath[str],
    ) -> Response[None]:
        path = _entity(kind, entity_id, "external-ids", namespace, value)
        return cast("Response[None]", await forward(request, CATALOG, path))


_ACTIONS = ("restore", "genres", "external-ids", "images", "descriptions", "merge")
