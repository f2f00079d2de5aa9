"""``/1/…``: ListenBrainz's API, as ListenBrainz documents it (the gateway serves it at the
root of its host, so clients that build ``<base>/1/…`` work unchanged).

Who a request acts for: a Medley user token (``Authorization: Bearer``), or the gateway's
service token holding ``listens:on-behalf`` with the user it resolved from the client's API
token in ``X-Medley-User-Id`` / ``X-Medley-Username``. Errors are ListenBrainz's
``{"code": …, "error": …}``, and every answer carries its ``X-RateLimit-*`` headers (429
past the limit, per user, or per address without a user).
"""

from __future__ import annotations

import contextvars
import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, Router, get, post
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException, ValidationException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import PathParameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from medley_core.app import ServiceRuntime
from medley_core.auth import authenticate
from medley_core.db import transaction
from medley_core.errors import Problem
from medley_core.ratelimit import SharedLimiter
from medley_core.registry import LISTENS_ON_BEHALF
from medley_ingestion import listenbrainz_api as lb
from medley_ingestion import projection
from medley_ingestion.api.answers import (
    LBFeedbackPage,
    LBLatestImport,
    LBListenCount,
    LBListens,
    LBPlayingNow,
    LBStats,
    LBTokenValidity,
    answer,
)
from medley_ingestion.api.deps import Runtime, ServiceRt, Session, Settings
from medley_ingestion.listenbrainz_api import LBError, Listener
from medley_ingestion.ratelimit import listenbrainz_headers, listenbrainz_limiter
from medley_ingestion.settings import IngestionSettings

USER_HEADER = "x-medley-user-id"
USERNAME_HEADER = "x-medley-username"
LISTENER_STATE = "lb_listener"

_rate_headers: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "lb_rate_headers", default=None
)

Count = Annotated[int | None, QueryParameter(ge=0)]
UserName = Annotated[str, PathParameter(max_length=200, description="a Medley username")]
StatKind = Annotated[
    str,
    PathParameter(
        max_length=40,
        description="artists, releases, recordings, listening-activity or daily-activity",
    ),
]


def _runtime(connection: ASGIConnection[Any, Any, Any, Any]) -> ServiceRuntime:
    runtime: ServiceRuntime = connection.app.state.runtime
    return runtime


async def _identify(connection: ASGIConnection[Any, Any, Any, Any]) -> Listener | None:
    header = connection.headers.get("authorization")
    if not header:
        return None
    scheme = header.strip().partition(" ")[0].lower()
    if scheme != "bearer":
        raise LBError(401, "Invalid authorization token.")
    try:
        principal = await authenticate(connection)
    except Problem:
        raise LBError(401, "Invalid authorization token.") from None
    if principal.kind == "user":
        async with transaction(_runtime(connection).sessions) as session:
            name = await projection.listener_name(session, principal.user_id)
        return Listener(principal.user_id, name or str(principal.user_id))
    if not principal.has_scope(LISTENS_ON_BEHALF):
        raise LBError(403, "This service token may not act for users.")
    try:
        user_id = uuid.UUID(connection.headers.get(USER_HEADER, ""))
    except ValueError:
        raise LBError(401, "Invalid authorization token.") from None
    username = connection.headers.get(USERNAME_HEADER) or str(user_id)
    async with transaction(_runtime(connection).sessions) as session:
        await projection.remember_listener(session, user_id, username)
    return Listener(user_id, username)


def _limiter(connection: ASGIConnection[Any, Any, Any, Any]) -> SharedLimiter:
    limiter = connection.app.state.get("lb_limiter")
    if limiter is None:
        runtime = _runtime(connection)
        assert isinstance(runtime.settings, IngestionSettings)
        limiter = listenbrainz_limiter(runtime.settings, runtime.events.nc)
        connection.app.state["lb_limiter"] = limiter
    assert isinstance(limiter, SharedLimiter)
    return limiter


async def listenbrainz_guard(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Identify the caller (if any), then spend one request of its rate-limit window (an
    unidentified one spends its address's, and is then refused)."""
    refused: LBError | None = None
    try:
        listener = await _identify(connection)
    except LBError as exc:
        listener, refused = None, exc
    connection.state[LISTENER_STATE] = listener
    address = connection.client.host if connection.client else "-"
    key = f"user:{listener.user_id}" if listener else f"addr:{address}"
    decision = await _limiter(connection).hit(key)
    headers = listenbrainz_headers(decision)
    _rate_headers.set(headers)
    if refused is not None:
        raise refused
    if not decision.allowed:
        raise LBError(429, "Too many requests. Please wait and try again.", headers=dict(headers))


def _with_rate_headers(response: Response[Any]) -> Response[Any]:
    for key, value in (_rate_headers.get() or {}).items():
        response.headers.setdefault(key, value)
    return response


def _lb_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """Every error as ListenBrainz writes it."""
    if isinstance(exc, LBError):
        status, message, headers = exc.code, exc.detail, exc.headers
    elif isinstance(exc, Problem):
        status, message, headers = exc.status, exc.detail, exc.headers
    elif isinstance(exc, ValidationException):
        status, message, headers = 400, _validation_message(exc), {}
    elif isinstance(exc, HTTPException):
        status, message, headers = exc.status_code, str(exc.detail), dict(exc.headers or {})
    else:
        raise exc
    response = Response({"code": status, "error": message}, status_code=status, headers=headers)
    return _with_rate_headers(response)


def _validation_message(exc: ValidationException) -> str:
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if isinstance(item, dict) and item.get("key"):
            return f"Invalid value for {item['key']}: {item.get('message')}"
    return str(exc.detail)


def listenbrainz_router() -> Router:
    """The controller, with its rate-limit headers on every answer."""
    return Router(
        path="/", route_handlers=[ListenBrainzController], after_request=_with_rate_headers
    )


def _listener(request: Request[Any, Any, Any]) -> Listener:
    found = request.state.get(LISTENER_STATE)
    if not isinstance(found, Listener):
        raise LBError(401, "You need to provide an Authorization header.")
    return found


async def _named(db_session: Session, user_name: str) -> Listener:
    try:
        user_id = await projection.listener_id(db_session, user_name)
    except Problem:
        raise LBError(404, f"Cannot find user: {user_name}") from None
    return Listener(user_id, user_name)


def _or_no_content(body: dict[str, Any] | None) -> Response[LBStats | None]:
    """The statistics, or 204 when the range holds nothing (as ListenBrainz answers)."""
    if body is None:
        return Response(content=None, status_code=HTTP_204_NO_CONTENT)
    return Response(answer(body, LBStats))


class ListenBrainzController(Controller):
    path = "/1"
    tags = ["listenbrainz"]
    guards = [listenbrainz_guard]
    # The same keys as the app's handlers, so these win for every error on these routes.
    exception_handlers = {
        Problem: _lb_error,
        ValidationException: _lb_error,
        HTTPException: _lb_error,
    }

    @post("/submit-listens", status_code=HTTP_200_OK, summary="Submit listens (ListenBrainz)")
    async def submit_listens(
        self,
        request: Request[Any, Any, Any],
        db_session: Session,
        runtime: ServiceRt,
        ingestion: Runtime,
        ingestion_settings: Settings,
    ) -> dict[str, str]:
        # JSON whatever the Content-Type says: clients often send none.
        return await lb.submit(
            db_session,
            runtime.sessions,
            ingestion.catalog_client(),
            ingestion_settings,
            _listener(request),
            await request.body(),
        )

    @get("/validate-token", summary="Whether the request's token is valid (ListenBrainz)")
    async def validate_token(
        self,
        request: Request[Any, Any, Any],
        token: Annotated[str | None, QueryParameter(max_length=256)] = None,
    ) -> LBTokenValidity:
        del token  # resolved by the gateway, which forwards the user it names
        listener = request.state.get(LISTENER_STATE)
        if isinstance(listener, Listener):
            return LBTokenValidity(
                code=200, message="Token valid.", valid=True, user_name=listener.username
            )
        return LBTokenValidity(code=200, message="Token invalid.", valid=False)

    @get("/user/{user_name:str}/listens", summary="A user's listens, newest first (ListenBrainz)")
    async def user_listens(
        self,
        db_session: Session,
        user_name: UserName,
        min_ts: Annotated[int | None, QueryParameter(ge=0)] = None,
        max_ts: Annotated[int | None, QueryParameter(ge=0)] = None,
        count: Count = None,
    ) -> LBListens:
        found = await lb.user_listens(
            db_session,
            await _named(db_session, user_name),
            min_ts=min_ts,
            max_ts=max_ts,
            count=count,
        )
        return answer(found, LBListens)

    @get("/user/{user_name:str}/listen-count", summary="How many listens a user has")
    async def listen_count(self, db_session: Session, user_name: UserName) -> LBListenCount:
        found = await lb.listen_count(db_session, await _named(db_session, user_name))
        return answer(found, LBListenCount)

    @get("/user/{user_name:str}/playing-now", summary="What a user is playing now")
    async def playing_now(self, db_session: Session, user_name: UserName) -> LBPlayingNow:
        found = await lb.playing_now(db_session, await _named(db_session, user_name))
        return answer(found, LBPlayingNow)

    @post("/delete-listen", status_code=HTTP_200_OK, summary="Delete one of my listens")
    async def delete_listen(
        self, request: Request[Any, Any, Any], db_session: Session
    ) -> dict[str, str]:
        return await lb.delete_listen(db_session, _listener(request), await request.body())

    @get("/latest-import", summary="When a user's last import ended (ListenBrainz)")
    async def get_latest_import(
        self, db_session: Session, user_name: Annotated[str, QueryParameter(max_length=200)]
    ) -> LBLatestImport:
        found = await lb.latest_import(db_session, await _named(db_session, user_name))
        return answer(found, LBLatestImport)

    @post("/latest-import", status_code=HTTP_200_OK, summary="Record when my last import ended")
    async def set_latest_import(
        self, request: Request[Any, Any, Any], db_session: Session
    ) -> dict[str, str]:
        return await lb.set_latest_import(db_session, _listener(request), await request.body())

    @post(
        "/feedback/recording-feedback",
        status_code=HTTP_200_OK,
        summary="Love (1), hate (-1) or forget (0) a recording",
    )
    async def recording_feedback(
        self, request: Request[Any, Any, Any], db_session: Session
    ) -> dict[str, str]:
        return await lb.recording_feedback(db_session, _listener(request), await request.body())

    @get("/feedback/user/{user_name:str}/get-feedback", summary="A user's loves and hates")
    async def get_feedback(
        self,
        db_session: Session,
        user_name: UserName,
        score: Annotated[int | None, QueryParameter(ge=-1, le=1)] = None,
        count: Annotated[int, QueryParameter(ge=0)] = 100,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> LBFeedbackPage:
        found = await lb.get_feedback(
            db_session, await _named(db_session, user_name), score=score, count=count, offset=offset
        )
        return answer(found, LBFeedbackPage)

    @get(
        "/stats/user/{user_name:str}/{kind:str}",
        summary="A user's top artists, releases or recordings, or activity",
    )
    async def user_stats(
        self,
        db_session: Session,
        user_name: UserName,
        kind: StatKind,
        range: Annotated[str, QueryParameter(max_length=20)] = "all_time",
        count: Annotated[int, QueryParameter(ge=0)] = 25,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> Response[LBStats | None]:
        listener = await _named(db_session, user_name)
        if kind in lb.STAT_ENTITIES:
            return _or_no_content(
                await lb.entity_stats(
                    db_session, listener, kind, range_name=range, count=count, offset=offset
                )
            )
        if kind == "listening-activity":
            return _or_no_content(
                await lb.listening_activity(db_session, listener, range_name=range)
            )
        if kind == "daily-activity":
            return _or_no_content(await lb.daily_activity(db_session, listener, range_name=range))
        raise LBError(404, "Not found")
