"""Parsing what a path or query names (until medley_core.params lands)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar.params import PathParameter

from medley_core.errors import Unprocessable

# Documented as a UUID; parsed by parse_uuid, so a malformed id is a 422 naming the field
# rather than a bare "no such route".
UuidPath = Annotated[str, PathParameter(format="uuid", max_length=64)]


def parse_uuid(value: str | None, field: str) -> uuid.UUID | None:
    if value is None:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Unprocessable(f"{field} must be a UUID", field=field) from None


def require_uuid(value: str, field: str) -> uuid.UUID:
    parsed = parse_uuid(value, field)
    assert parsed is not None
    return parsed
