"""The response class of every service: the headers every read gets alike.

* ``Link: <…>; rel="next"`` on an answer with a ``next_cursor`` (a page of a listing),
  built from the request's path and query (:func:`medley_core.pagination.next_link`);
* ``ETag`` on a successful ``GET`` whose handler set none, a digest of the bytes answered
  (:func:`medley_core.conditional.body_tag`), and ``304 Not Modified`` (no body) when the
  request's ``If-None-Match`` names it;
* ``Location`` on a ``POST`` that created something (201, or 202 for a job) whose answer has
  an ``id``, when ``<the POST's path>/<id>`` is a route that reads it (the resource's own
  address, as the collection it was posted to names it).

It applies to what handlers return as data (Litestar wraps it in the app's response class);
a handler that builds its own ``Response`` sets its own headers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from litestar import Response
from litestar.exceptions import HTTPException
from litestar.response.base import ASGIResponse

from medley_core.conditional import body_tag, if_none_match_hits
from medley_core.pagination import next_cursor_of, next_link

if TYPE_CHECKING:
    from litestar import Litestar, Request

# What a 304 keeps of the 200 it stands for (RFC 9110 §15.4.5).
_KEPT_ON_304 = ("cache-control", "content-location", "expires", "vary", "link")


_CREATED = frozenset({201, 202})


def _id_of(content: Any) -> str | None:
    found = content.get("id") if isinstance(content, Mapping) else getattr(content, "id", None)
    return str(found) if found is not None and not isinstance(found, bool) else None


def created_location(request: Request[Any, Any, Any], content: Any) -> str | None:
    """``<path>/<id>`` of what a POST to ``path`` created, if a GET route serves it."""
    ident = _id_of(content)
    if ident is None:
        return None
    location = f"{request.url.path.rstrip('/')}/{ident}"
    try:
        request.app.asgi_router.handle_routing(location, "GET")
    except HTTPException:  # no such route, or none that reads
        return None
    return location


# Whether an answer of a type may carry a ``next_cursor``, by type: a model or struct that
# declares no such field never does (and asking a pydantic model for a missing attribute
# raises and catches an AttributeError inside ``getattr``, on every read).
_MAY_CARRY_CURSOR: dict[type, bool] = {}


def _may_carry_cursor(kind: type) -> bool:
    found = _MAY_CARRY_CURSOR.get(kind)
    if found is None:
        declared = getattr(kind, "__struct_fields__", None)  # a msgspec Struct
        if declared is None:
            fields = getattr(kind, "model_fields", None)  # a pydantic model
            declared = tuple(fields) if isinstance(fields, Mapping) else None
        found = declared is None or "next_cursor" in declared or hasattr(kind, "next_cursor")
        _MAY_CARRY_CURSOR[kind] = found
    return found


def _cursor_of(content: Any) -> str | None:
    if content is None or (
        not isinstance(content, Mapping) and not _may_carry_cursor(type(content))
    ):
        return None
    return next_cursor_of(content)


class ServiceResponse(Response[Any]):
    def __init__(self, content: Any, *, next_cursor: str | None = None, **kwargs: Any) -> None:
        """``next_cursor`` names the next page of a ``content`` given as bytes (encoded
        already), whose cursor the response cannot read."""
        super().__init__(content, **kwargs)
        self.next_cursor = next_cursor

    def to_asgi_response(
        self, app: Litestar | None, request: Request[Any, Any, Any], **kwargs: Any
    ) -> ASGIResponse:
        status = self.status_code or kwargs.get("status_code")
        present = {name.lower() for name in self.headers}
        if (
            request.method == "POST"
            and status in _CREATED
            and "location" not in present
            and (location := created_location(request, self.content)) is not None
        ):
            self.headers["Location"] = location
        reads = request.method == "GET" and status == 200
        if (
            reads
            and "link" not in present
            and (cursor := self.next_cursor or _cursor_of(self.content))
        ):
            self.headers["Link"] = next_link(request.url.path, request.url.query, cursor)
        answer = super().to_asgi_response(app, request, **kwargs)
        if not reads or "etag" in answer.headers:
            return answer
        tag = body_tag(answer.body)
        if not if_none_match_hits(request.headers.get("if-none-match"), tag.strip('"')):
            answer.headers["ETag"] = tag
            return answer
        kept = {name: value for name in _KEPT_ON_304 if (value := answer.headers.get(name))}
        return ASGIResponse(status_code=304, headers={**kept, "ETag": tag}, body=b"")
