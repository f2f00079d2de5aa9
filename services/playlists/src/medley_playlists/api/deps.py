"""What the playlists handlers share: the session, the caller, ids and conditional headers."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, TypeVar

from litestar import MediaType, Request, Response
from litestar.params import PathParameter
from litestar.status_codes import HTTP_304_NOT_MODIFIED

from medley_core.app import Session as Session
from medley_core.auth import authenticate, require_user
from medley_core.conditional import entity_tag
from medley_playlists.api.answers import shaped
from medley_playlists.playlists import Expected, Versioned

T = TypeVar("T")

# Documented as UUIDs; checked by medley_core.params.parse_id: a malformed id is a 422
# naming it.
PlaylistId = Annotated[str, PathParameter(format="uuid", description="the playlist's id")]
UserId = Annotated[str, PathParameter(format="uuid", description="a user's id")]

USERS = [require_user()]


async def caller(request: Request[Any, Any, Any]) -> uuid.UUID:
    """The calling user (a guard already refused anyone else)."""
    return (await authenticate(request)).user_id


async def reader(request: Request[Any, Any, Any]) -> uuid.UUID | None:
    """The calling user, or None for a request without a token (public reads)."""
    if request.headers.get("authorization") is None:
        return None
    return (await authenticate(request)).user_id


def expected(request: Request[Any, Any, Any], snapshot_id: str | None) -> Expected:
    """The snapshot a change was sent against: ``If-Match`` and/or the body's."""
    return Expected(if_match=request.headers.get("if-match"), snapshot_id=snapshot_id)


def versioned(result: Versioned, answer: type[T]) -> Response[T]:
    """A read's answer (shaped as ``answer``) with its ``ETag``, or 304 when
    ``If-None-Match`` still holds."""
    headers = {"ETag": entity_tag(result.snapshot_id)}
    if result.body is None:
        return Response(None, status_code=HTTP_304_NOT_MODIFIED, headers=headers)  # type: ignore[arg-type]
    if isinstance(result.body, bytes):
        # Encoded already (a page of 10,000 items): sent as is, documented as ``answer``.
        return Response(result.body, media_type=MediaType.JSON, headers=headers)  # type: ignore[arg-type]
    return Response(shaped(result.body, answer), headers=headers)


def changed(snapshot_id: str, body: T, status_code: int = 200) -> Response[T]:
    """A change's answer, with the ``ETag`` of the snapshot it left."""
    return Response(body, status_code=status_code, headers={"ETag": entity_tag(snapshot_id)})
