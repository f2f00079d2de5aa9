"""The request-decoding guard: hostile input is a 4xx problem before any handler sees it.

Litestar decodes JSON with msgspec and hands strings on as they came; some inputs then fail
far from the request, as 500s with a traceback per request:

* invalid UTF-8 inside a JSON string (msgspec raises ``UnicodeDecodeError``, which Litestar
  does not turn into a validation error);
* JSON nested deeper than the interpreter's recursion limit (``RecursionError``);
* a NUL character in a string (PostgreSQL refuses it in ``text``, at commit time);
* a timestamp whose UTC conversion leaves ``datetime``'s range
  (``0001-01-01T00:00:00+23:59``: ``OverflowError`` wherever it is converted or stored).

:class:`DecodingGuardMiddleware` checks every JSON body, query string and path parameter
for these once, for every route of every app that installs it (the service app factory and
the gateway), and refuses them as problem details naming the field: a NUL or an
out-of-range timestamp is a 422 like any other invalid field; a body that is not UTF-8 or
nests too deep is a malformed request (400). Multipart and other non-JSON bodies (uploads)
are not read here: they stream to their handlers untouched.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from litestar import Request
from litestar.enums import RequestEncodingType, ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from medley_core.errors import BadRequest, Problem, Unprocessable

# No Medley body nests more than a handful of levels; this bound keeps every decoder
# (msgspec, pydantic, our own walk) far from the interpreter's recursion limit.
MAX_JSON_DEPTH = 64
# A longer query string is no legitimate request; it would also make every URL built
# from it (upstream calls, logs) unbounded. httpx itself refuses URLs over 64 KiB.
MAX_QUERY_BYTES = 16 * 1024
# A problem lists at most this many fields: enough to fix a request, bounded for a hostile one.
MAX_FIELD_ERRORS = 20

NUL_MESSAGE = "must not contain a NUL character"
DATETIME_RANGE_MESSAGE = "is outside the representable range once converted to UTC"

# Only a timestamp on the first or last day datetime can hold may overflow on conversion.
_LIMIT_YEARS = ("0001-", "9999-")
_JSON_MEDIA = "application/json"


class UriTooLong(Problem):
    status = 414
    slug = "uri-too-long"


def out_of_range_datetime(value: str) -> bool:
    """Whether ``value`` is an ISO 8601 timestamp with an offset that has no UTC equivalent
    in ``datetime`` (``9999-12-31T23:59:59-23:59`` is in year 10000 in UTC)."""
    if not value.startswith(_LIMIT_YEARS):
        return False
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return False  # not a timestamp: the field's own validation decides
    if parsed.tzinfo is None:
        return False
    try:
        parsed.astimezone(UTC)
    except OverflowError:
        return True
    return False


def _string_error(value: str) -> str | None:
    if "\x00" in value:
        return NUL_MESSAGE
    if out_of_range_datetime(value):
        return DATETIME_RANGE_MESSAGE
    return None


def _shown(key: str) -> str:
    # The field is named in the answer and in logs: never with the NUL itself in it.
    return key.replace("\x00", "\\u0000")


def _join(path: str, key: str | int) -> str:
    part = _shown(key) if isinstance(key, str) else str(key)
    return f"{path}.{part}" if path else part


def json_errors(value: Any) -> Iterator[dict[str, str]]:
    """Every field of a decoded JSON document that holds a NUL or an out-of-range timestamp,
    named by its path as validation errors name it (``items.0.name``); the document itself
    is ``body``. Raises :class:`BadRequest` past :data:`MAX_JSON_DEPTH`.

    Iterative, so a deep document cannot exhaust the stack here either.
    """
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, str):
            message = _string_error(node)
            if message:
                yield {"field": path or "body", "message": message}
        elif isinstance(node, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise BadRequest(
                    f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels",
                    slug="malformed-request",
                )
            if isinstance(node, dict):
                for key, item in node.items():
                    if "\x00" in key:
                        yield {"field": _join(path, key), "message": NUL_MESSAGE}
                    stack.append((item, _join(path, key), depth + 1))
            else:
                stack.extend((item, _join(path, i), depth + 1) for i, item in enumerate(node))


def _decode_json(body: bytes) -> Any:
    """The body decoded as Litestar will decode it, or :class:`BadRequest` for what Litestar
    would crash on. A body msgspec refuses outright is left for Litestar to answer (400)."""
    try:
        return msgspec.json.decode(body)
    except UnicodeDecodeError:
        raise BadRequest("the JSON body is not valid UTF-8", slug="malformed-request") from None
    except RecursionError:
        raise BadRequest(
            f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels", slug="malformed-request"
        ) from None
    except msgspec.DecodeError:
        return None


def check_json_body(body: bytes) -> None:
    """Refuse a JSON body that is not UTF-8, nests too deep, or carries a NUL or an
    out-of-range timestamp anywhere (raises the problem)."""
    if not body:
        return
    decoded = _decode_json(body)
    # Fast path: NUL can only be written as the escape \u0000, a limit-year timestamp only
    # as a quoted string (or with escapes), and depth needs that many brackets. Most bodies
    # have none of these and are not walked.
    if (
        b"\\u" not in body
        and b'"0001-' not in body
        and b'"9999-' not in body
        and body.count(b"[") + body.count(b"{") < MAX_JSON_DEPTH
    ):
        return
    errors = _bounded(json_errors(decoded))
    if errors:
        raise Unprocessable("the request has invalid or missing fields", errors=errors)


def check_query_string(query_string: bytes) -> None:
    """Refuse an overlong query string, or a parameter holding a NUL or an out-of-range
    timestamp (named by the parameter)."""
    if len(query_string) > MAX_QUERY_BYTES:
        raise UriTooLong(f"the query string is longer than {MAX_QUERY_BYTES} bytes")
    if not query_string:
        return
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    errors: list[dict[str, str]] = []
    for name, value in pairs:
        if "\x00" in name:
            errors.append({"field": _shown(name), "message": NUL_MESSAGE})
        elif message := _string_error(value):
            errors.append({"field": name, "message": message})
    if errors:
        raise Unprocessable(
            "the request has invalid or missing fields", errors=errors[:MAX_FIELD_ERRORS]
        )


def check_path_params(params: dict[str, Any]) -> None:
    """Refuse a string path parameter holding a NUL (``/me/integrations/%00``)."""
    errors = [
        {"field": name, "message": NUL_MESSAGE}
        for name, value in params.items()
        if isinstance(value, str) and "\x00" in value
    ]
    if errors:
        raise Unprocessable("the request has invalid or missing fields", errors=errors)


def _bounded(errors: Iterator[dict[str, str]]) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    for error in errors:
        found.append(error)
        if len(found) >= MAX_FIELD_ERRORS:
            break
    return found


def _media_type(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value.decode("latin-1").split(";", 1)[0].strip().lower()
    return ""


def _is_json_media(media_type: str) -> bool:
    return media_type == _JSON_MEDIA or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _expects_json_body(route_handler: Any) -> bool:
    """Whether the handler takes a ``data`` body Litestar decodes as JSON: then it does so
    whatever Content-Type the client sent, so the guard must look at the body too."""
    signature = getattr(route_handler, "parsed_fn_signature", None)
    field = signature.parameters.get("data") if signature is not None else None
    if field is None:
        return False
    media_type = getattr(field.kwarg_definition, "media_type", None)
    return media_type in (None, RequestEncodingType.JSON)


class DecodingGuardMiddleware:
    """Checks query strings, path parameters and JSON bodies (see the module docstring).

    Installed on every route by the app factory and the gateway; it runs after routing, so
    its problems are rendered like any handler's (problem details, request id). The body is
    read through Litestar's own :class:`Request`, which enforces the app's body size limit
    and keeps the bytes for the handler.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Whether each route handler takes a JSON ``data`` body, by handler: the routes are
        # fixed for the app's life, so the signature is looked at once, not per request.
        self._takes_json: dict[int, bool] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        query_string = scope.get("query_string", b"")
        if query_string:
            check_query_string(query_string)
        path_params = scope.get("path_params")
        if path_params:
            check_path_params(path_params)
        if _is_json_media(_media_type(scope)) or self._expects_json(scope.get("route_handler")):
            check_json_body(await Request[Any, Any, Any](scope, receive).body())
        await self.app(scope, receive, send)

    def _expects_json(self, route_handler: Any) -> bool:
        key = id(route_handler)
        takes = self._takes_json.get(key)
        if takes is None:
            takes = self._takes_json[key] = _expects_json_body(route_handler)
        return takes
