"""Errors the domain raises: framework-free, each one an RFC 9457 problem waiting to be sent.

Domain code (capability modules, importers, resolution…) raises a :class:`Problem` subclass
(``NotFound``, ``Conflict``…) and imports nothing from the web framework; the app factory's
handlers (:mod:`medley_core.problems`) turn each into ``application/problem+json`` with its
status, stable ``type`` slug, detail and extensions.
"""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_TYPE_BASE = "https://medley.dev/problems/"


TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    413: "Content Too Large",
    414: "URI Too Long",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class Problem(Exception):
    """An error the client should see, with a stable machine-readable ``type`` slug."""

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"

    def __init__(
        self,
        detail: str,
        *,
        slug: str | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.slug_override = slug
        self.title = title or TITLES.get(self.status, "Error")
        self.headers = headers or {}
        self.extensions = extensions

    @property
    def type_uri(self) -> str:
        return PROBLEM_TYPE_BASE + (self.slug_override or self.slug)


class BadRequest(Problem):
    status = 400
    slug = "bad-request"


class Unauthorized(Problem):
    status = 401
    slug = "unauthorized"

    def __init__(self, detail: str = "missing or invalid credentials", **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": 'Bearer realm="medley"'})
        super().__init__(detail, **kwargs)


class Forbidden(Problem):
    status = 403
    slug = "forbidden"


class NotFound(Problem):
    status = 404
    slug = "not-found"


class Conflict(Problem):
    status = 409
    slug = "conflict"


class PreconditionFailed(Problem):
    """A conditional change (``If-Match``, or a version the body names) was sent against a
    state that is no longer current: nothing was changed."""

    status = 412
    slug = "precondition-failed"


class ContentTooLarge(Problem):
    status = 413
    slug = "content-too-large"


class Unprocessable(Problem):
    status = 422
    slug = "validation-failed"


class TooManyRequests(Problem):
    status = 429
    slug = "rate-limited"

    def __init__(self, detail: str, *, retry_after_s: int, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"Retry-After": str(max(1, retry_after_s))})
        super().__init__(detail, retry_after_s=max(1, retry_after_s), **kwargs)


class ServiceUnavailable(Problem):
    status = 503
    slug = "service-unavailable"
