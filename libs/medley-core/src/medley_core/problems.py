"""RFC 9457 problem details: the one error shape every Medley endpoint answers with.

Domain code raises a :class:`~medley_core.errors.Problem` subclass (``NotFound``,
``Conflict``…, framework-free, in :mod:`medley_core.errors`); this module turns those,
framework errors (validation, unknown route, wrong method) and unexpected exceptions into the
same shape with :func:`exception_handlers`, so a client never sees anything else.
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from medley_core.errors import PROBLEM_TYPE_BASE, TITLES, Problem
from medley_core.tracing import current_request_id, new_request_id

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("medley.problems")


def problem_response(
    request: Request[Any, Any, Any] | None,
    *,
    status: int,
    type_uri: str,
    title: str,
    detail: str | None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {"type": type_uri, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if request is not None:
        body["instance"] = request.url.path
    # Errors raised before routing (unknown path, wrong method) never passed the request
    # context middleware; give them an id all the same so they can be quoted.
    request_id = current_request_id() or new_request_id()
    body["request_id"] = request_id
    body.update(extensions or {})
    headers = {"X-Request-ID": request_id, **(headers or {})}
    return Response(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _from_problem(request: Request[Any, Any, Any], exc: Problem) -> Response[dict[str, Any]]:
    return problem_response(
        request,
        status=exc.status,
        type_uri=exc.type_uri,
        title=exc.title,
        detail=exc.detail,
        headers=exc.headers,
        extensions=exc.extensions,
    )


def _validation_errors(extra: Any) -> list[dict[str, Any]]:
    """Litestar's validation details as ``[{"field": "body.email", "message": …}]``."""
    errors: list[dict[str, Any]] = []
    if isinstance(extra, list):
        for item in extra:
            if isinstance(item, dict):
                field = item.get("key") or item.get("loc") or item.get("source")
                errors.append({"field": field, "message": str(item.get("message", item))})
            else:
                errors.append({"field": None, "message": str(item)})
    elif isinstance(extra, dict):
        errors.extend({"field": k, "message": str(v)} for k, v in extra.items())
    return errors


def _from_validation(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, Any]]:
    errors = _validation_errors(exc.extra)
    # A body that is not JSON at all is a malformed request (400); a well-formed body
    # with wrong or missing fields is unprocessable (422).
    malformed = not errors or any("JSON" in e["message"] and not e["field"] for e in errors)
    status = 400 if malformed else 422
    return problem_response(
        request,
        status=status,
        type_uri=PROBLEM_TYPE_BASE + ("malformed-request" if malformed else "validation-failed"),
        title=TITLES[status],
        detail=exc.detail if malformed else "the request has invalid or missing fields",
        extensions={"errors": errors} if errors else None,
    )


def _from_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    title = TITLES.get(status, "Error")
    slug = title.lower().replace(" ", "-")
    extensions = {"errors": _validation_errors(exc.extra)} if exc.extra else None
    return problem_response(
        request,
        status=status,
        type_uri=PROBLEM_TYPE_BASE + slug,
        title=title,
        detail=exc.detail if exc.detail != title else None,
        headers=exc.headers,
        extensions=extensions,
    )


# What the database driver raises when the server cannot take a request now (refused, full,
# starting or stopping) or the pool had no connection in time: the client may retry.
_DATABASE_UNAVAILABLE: tuple[type[BaseException], ...] = (
    ConnectionRefusedError,
    asyncpg.TooManyConnectionsError,
    asyncpg.CannotConnectNowError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.AdminShutdownError,
    PoolTimeoutError,
)


def _database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it wraps: SQLAlchemy wraps the driver's error) says the
    database is out of reach for now, not that the request or the code is wrong."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, _DATABASE_UNAVAILABLE):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _from_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    if _database_unavailable(exc):
        # Not a bug to report: a 503 the client can retry, as readiness would say.
        log.warning("database unavailable on %s %s: %r", request.method, request.url.path, exc)
        return problem_response(
            request,
            status=503,
            type_uri=PROBLEM_TYPE_BASE + "service-unavailable",
            title=TITLES[503],
            detail="the database cannot take the request now; retry shortly",
            headers={"Retry-After": "1"},
        )
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        request,
        status=HTTP_500_INTERNAL_SERVER_ERROR,
        type_uri=PROBLEM_TYPE_BASE + "internal-error",
        title=TITLES[500],
        detail="an unexpected error occurred; quote the request id when reporting it",
    )


def exception_handlers() -> ExceptionHandlersMap:
    """Every error as problem details; install on every Litestar app."""
    return {
        Problem: _from_problem,
        ValidationException: _from_validation,
        HTTPException: _from_http,
        Exception: _from_unexpected,
    }
