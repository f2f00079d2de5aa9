"""What the controllers share: the users upstream's name and the documented responses."""

from __future__ import annotations

from typing import Any

from litestar.openapi import ResponseSpec

from medley_core.problems import PROBLEM_MEDIA_TYPE
from medley_gateway.schemas import ProblemDetails

USERS = "users"
CATALOG = "catalog"

_PROBLEMS = {
    400: "Malformed request (not JSON, wrong types).",
    401: "Missing, invalid or expired credentials.",
    403: "Authenticated, but not allowed.",
    404: "No such resource.",
    409: "Conflicts with the current state (already taken, say).",
    413: "The body is too large.",
    422: "Well-formed, but a value breaks a rule.",
    429: "Too many attempts; see Retry-After.",
    503: "An upstream service is unavailable (named in `upstream`).",
    504: "An upstream service did not answer in time (named in `upstream`).",
}

# Every proxied route can meet these.
_ALWAYS = (503, 504)


def responses(success: tuple[int, Any | None, str], *problems: int) -> dict[int, ResponseSpec]:
    """OpenAPI responses: the success shape and the problems the route can answer."""
    status, container, description = success
    specs: dict[int, ResponseSpec] = {
        status: ResponseSpec(
            data_container=container, description=description, generate_examples=False
        )
    }
    for code in (*problems, *_ALWAYS):
        specs[code] = ResponseSpec(
            data_container=ProblemDetails,
            description=_PROBLEMS[code],
            media_type=PROBLEM_MEDIA_TYPE,
            generate_examples=False,
        )
    return specs
