"""Pass-through routes as data: one :class:`Route` per public operation, and the Litestar
handlers made from them.

A route says what a client calls (method, public path with typed parameters), where it goes
(upstream service and path, the public path's parameters filled in by name), who may call it
(:data:`PUBLIC`, :data:`USER`, :data:`ADMIN`, :func:`service`), how large a body it takes,
which body the gateway checks before an upstream call, and what the document says of it.
Everything else is one mechanism for every route: the caller's guard, then
:func:`~medley_gateway.upstreams.forward` (pooled clients, timeouts, retries of reads,
circuit breakers, the relayed headers, 503/504 problems naming the upstream).

The request and answer shapes the OpenAPI document shows come from the upstream's own
document, found by the route's upstream operation (:mod:`medley_gateway.contracts`);
``request`` and ``response`` are stand-ins only for where the upstream declares none.
The tables live in :mod:`medley_gateway.routes`, one module per upstream.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.enums import RequestEncodingType
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec
from litestar.params import BodyKwarg
from litestar.types import Empty, Guard

from medley_core.auth import require_roles, require_service, require_user
from medley_gateway.docs import BEARER, answer, problem_responses
from medley_gateway.upstreams import UPSTREAMS, forward, path_segment

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
JSON = "application/json"
_PARAMETER = re.compile(r"\{(\w+)(?::\w+)?\}")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_NO_CONTENT = frozenset({204, 304})


@dataclass(frozen=True, eq=False)
class Caller:
    """Who may call a route: the guards the gateway applies before any upstream call, the
    problems they answer, and whether the caller's ``Authorization`` goes on upstream."""

    name: str
    guards: tuple[Guard, ...] = ()
    forwards_authorization: bool = True

    @property
    def problems(self) -> tuple[int, ...]:
        return (401, 403) if self.guards else ()


#: Anyone: no token checked here, and none forwarded unless the route says so.
PUBLIC = Caller("public", forwards_authorization=False)
#: A user's access token (a service token is a 403).
USER = Caller("user", (require_user(),))
#: A token carrying the ``admin`` role.
ADMIN = Caller("admin", (require_roles("admin"),))


def service(scope: str) -> Caller:
    """A service token holding ``scope`` (a user token is a 403)."""
    return Caller(f"service:{scope}", (require_service(scope),))


def public_template(path: str) -> str:
    """``/me/api-tokens/{token_id:uuid}`` → ``/me/api-tokens/{token_id}`` (as documented)."""
    return _PARAMETER.sub(r"{\1}", path)


@dataclass(frozen=True, eq=False, kw_only=True)
class Route:
    """One public operation that passes through to one upstream operation.

    ``body``: a type the gateway decodes the body into before the upstream call (a
    malformed body is refused here; the upstream still receives the bytes as sent).
    ``request`` / ``response``: stand-in shapes for the document where the upstream's own
    document declares none (its own, when declared, take precedence). ``takes_body`` is
    whether the operation has a request body (by default: POST, PUT and PATCH do);
    the contract generator checks it against the upstream.
    """

    method: Method
    path: str
    upstream: str
    upstream_path: str
    caller: Caller
    summary: str
    answer: str
    status: int = 200
    also: Mapping[int, str] = field(default_factory=dict)
    problems: tuple[int, ...] = ()
    description: str | None = None
    tags: tuple[str, ...] = ()
    body: type[Any] | None = None
    takes_body: bool | None = None
    request: type[Any] | None = None
    request_media_types: tuple[str, ...] = (JSON,)
    response: type[Any] | None = None
    max_body_bytes: int | None = None
    # The body goes on to the upstream as it arrives, never held here, with no limit of the
    # gateway's (uploads: the upstream enforces its own).
    streams: bool = False
    forward_authorization: bool | None = None
    default_headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        wanted = set(_PARAMETER.findall(self.upstream_path))
        missing = wanted - set(self.parameters)
        if missing:
            raise ValueError(f"{self.key}: {self.upstream_path} needs {sorted(missing)}")

    @property
    def parameters(self) -> list[str]:
        """The public path's parameters, in order."""
        return _PARAMETER.findall(self.path)

    @property
    def doc_path(self) -> str:
        return public_template(self.path)

    @property
    def key(self) -> str:
        """``PATCH /api/v1/me``: the operation as the gateway's document names it."""
        return f"{self.method} {self.doc_path}"

    @property
    def upstream_operation(self) -> str:
        """``PATCH /me``: the operation as the upstream's document names it."""
        return f"{self.method} {self.upstream_path}"

    @property
    def has_body(self) -> bool:
        if self.takes_body is not None:
            return self.takes_body
        return self.body is not None or self.request is not None or self.method in _BODY_METHODS

    @property
    def answers(self) -> dict[int, str]:
        """The success statuses and what each means."""
        return {self.status: self.answer, **self.also}

    @property
    def answers_with_content(self) -> list[int]:
        return [status for status in self.answers if status not in _NO_CONTENT]

    @property
    def authorizes(self) -> bool:
        if self.forward_authorization is not None:
            return self.forward_authorization
        return self.caller.forwards_authorization

    def target(self, path_params: Mapping[str, Any]) -> str:
        """The upstream path, each parameter made safe to put in a path."""
        return self.upstream_path.format_map(
            {name: path_segment(str(path_params[name])) for name in self.parameters}
        )


@dataclass(frozen=True, eq=False)
class Group:
    """Routes sharing a public prefix, an upstream (and its own prefix), a caller and tags.

    ``group.get("/api-tokens")`` is ``GET <prefix>/api-tokens`` forwarded to
    ``GET <upstream prefix>/api-tokens``; ``to=`` names another upstream path.
    """

    prefix: str
    upstream: str
    upstream_prefix: str
    caller: Caller
    tags: tuple[str, ...] = ()

    def route(self, method: Method, path: str, *, to: str | None = None, **details: Any) -> Route:
        details.setdefault("caller", self.caller)
        details.setdefault("tags", self.tags)
        return Route(
            method=method,
            path=self.prefix + path,
            upstream=self.upstream,
            upstream_path=to or self.upstream_prefix + public_template(path),
            **details,
        )

    def get(self, path: str, **details: Any) -> Route:
        return self.route("GET", path, **details)

    def post(self, path: str, **details: Any) -> Route:
        return self.route("POST", path, **details)

    def put(self, path: str, **details: Any) -> Route:
        return self.route("PUT", path, **details)

    def patch(self, path: str, **details: Any) -> Route:
        return self.route("PATCH", path, **details)

    def delete(self, path: str, **details: Any) -> Route:
        return self.route("DELETE", path, **details)


class PublicPaths:
    """Where the gateway serves what an upstream names by its own path: a ``Location`` of
    an upstream (``/albums/3f…``) as the public path of the GET route reading it
    (``/api/v1/catalog/albums/3f…``)."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self._reads: dict[str, list[tuple[re.Pattern[str], str]]] = {}
        for route in routes:
            if route.method != "GET":
                continue
            pattern = "".join(
                f"(?P<{part}>[^/?#]+)" if i % 2 else re.escape(part)
                for i, part in enumerate(_PARAMETER.split(route.upstream_path))
            )
            self._reads.setdefault(route.upstream, []).append(
                (re.compile(f"^{pattern}/?$"), route.doc_path)
            )

    def of(self, upstream: str, location: str) -> str | None:
        """The public path of ``location`` (a path of ``upstream``), None if none reads it."""
        path, question, query = location.partition("?")
        for pattern, public in self._reads.get(upstream, ()):
            if (found := pattern.match(path)) is not None:
                return public.format_map(found.groupdict()) + question + query
        return None


class GuardedHandler(HTTPRouteHandler):
    """A route handler whose guards are given the handler itself: Litestar hands each guard
    a ``copy()`` of it (a tenth of a pass-through's CPU in the gateway), and the gateway's
    guards (:mod:`medley_core.auth`'s) do not even look at it."""

    async def authorize_connection(self, connection: ASGIConnection[Any, Any, Any, Any]) -> None:
        for guard in self.resolve_guards():
            await guard(connection, self)  # type: ignore[misc]


def handler(route: Route, public_paths: PublicPaths | None = None) -> HTTPRouteHandler:
    """The Litestar handler of ``route``: guard, (decode), forward, relay."""
    authorize = route.authorizes
    defaults = {name.lower(): value for name, value in route.default_headers.items()}

    async def pass_through(request: Request[Any, Any, Any], **_: Any) -> Response[bytes]:
        target = route.target(request.path_params)
        body = request.stream() if route.streams else None
        response = await forward(request, route.upstream, target, authorize=authorize, body=body)
        location = response.headers.get("location")
        if location is not None and public_paths is not None and location.startswith("/"):
            response.headers["location"] = public_paths.of(route.upstream, location) or location
        if defaults and 200 <= (response.status_code or 0) < 300:
            present = {name.lower() for name in response.headers}
            response.headers.update({k: v for k, v in defaults.items() if k not in present})
        return response

    _declare_signature(pass_through, route.body, empty=route.status in _NO_CONTENT)
    return GuardedHandler(
        path=route.path,
        http_method=route.method,
        status_code=route.status,
        name=route.key,
        operation_id=operation_id(route),
        summary=route.summary,
        description=route.description,
        tags=list(route.tags) or None,
        guards=list(route.caller.guards) or None,
        security=BEARER if route.caller.guards else None,
        responses=responses_of(route),
        request_max_body_size=None if route.streams else (route.max_body_bytes or Empty),
    )(pass_through)


def handlers(
    routes: Iterable[Route], public_paths: PublicPaths | None = None
) -> list[HTTPRouteHandler]:
    """One handler per route; refuses a table naming an unknown upstream or a route twice.
    ``public_paths`` (where a ``Location`` points publicly) defaults to these routes' reads;
    a gateway whose composed reads replaced some pass-throughs passes the whole table's."""
    known = {spec.name for spec in UPSTREAMS}
    seen: set[str] = set()
    made = []
    routes = list(routes)
    public_paths = public_paths or PublicPaths(routes)
    for route in routes:
        if route.upstream not in known:
            raise ValueError(f"{route.key}: no upstream named {route.upstream!r}")
        if route.key in seen:
            raise ValueError(f"{route.key} is declared twice")
        seen.add(route.key)
        made.append(handler(route, public_paths))
    return made


def _declare_signature(fn: Any, body: type[Any] | None, *, empty: bool) -> None:
    """What Litestar reads to know the handler's parameters: the request, and ``data`` when
    the gateway decodes the body. Path parameters are checked by the router (typed in the
    path) and read from ``request.path_params``. ``empty``: the answer has no body (204)."""
    annotations: dict[str, Any] = {"request": Request[Any, Any, Any]}
    if body is not None:
        annotations["data"] = Annotated[body, BodyKwarg(media_type=RequestEncodingType.JSON)]
    annotations["return"] = Response[None] if empty else Response[bytes]
    fn.__signature__ = inspect.Signature(
        [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation)
            for name, annotation in annotations.items()
            if name != "return"
        ],
        return_annotation=annotations["return"],
    )
    fn.__annotations__ = annotations


def operation_id(route: Route) -> str:
    words = re.findall(r"[A-Za-z0-9]+", route.doc_path)
    return route.method.title() + "".join(word[:1].upper() + word[1:] for word in words)


def responses_of(route: Route) -> dict[int, ResponseSpec]:
    """The statuses and problems; the answer's shape is filled in from the route's contract
    (:func:`medley_gateway.contracts.compose`)."""
    specs = {status: answer(None, text) for status, text in route.answers.items()}
    return {**specs, **problem_responses(*route.caller.problems, *route.problems)}
