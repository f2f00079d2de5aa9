"""Parsing what a request names: ids, text parameters. Framework-free.

Each helper answers bad input with a 422 problem naming the parameter
(:class:`~medley_core.errors.Unprocessable` with ``field``), so a controller parses in one
line and domain code can use the same checks outside a request.
"""

from __future__ import annotations

import uuid
from typing import Any, overload

from medley_core.errors import Unprocessable

# How much of a refused value a problem quotes back.
QUOTED_MAX = 100


def storable(text: str) -> bool:
    """Whether PostgreSQL can hold ``text``: no NUL character, no lone surrogate."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@overload
def text_param(value: str, name: str, *, max_length: int | None = None) -> str: ...
@overload
def text_param(value: None, name: str, *, max_length: int | None = None) -> None: ...
@overload
def text_param(value: str | None, name: str, *, max_length: int | None = None) -> str | None: ...
def text_param(value: str | None, name: str, *, max_length: int | None = None) -> str | None:
    """``value`` when it is text PostgreSQL can store (and at most ``max_length``
    characters); else a 422 naming ``name``. None passes through (an absent parameter)."""
    if value is None:
        return None
    if not storable(value):
        raise Unprocessable(f"{name} contains characters that cannot be stored", field=name)
    if max_length is not None and len(value) > max_length:
        raise Unprocessable(f"{name} is longer than {max_length} characters", field=name)
    return value


def parse_id(value: str, name: str = "id") -> uuid.UUID:
    """An id given as text (a path or query parameter): a 422 naming ``name`` when it is not
    a UUID, so a malformed id is told apart from an unknown one (a 404, later)."""
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        raise Unprocessable(
            f"{value[:QUOTED_MAX]!r} is not a valid {name} (a UUID)", field=name
        ) from None


def as_uuid(value: Any) -> uuid.UUID:
    """A driver's UUID (asyncpg's subclass) as the standard library's; a stdlib UUID as is."""
    return value if type(value) is uuid.UUID else uuid.UUID(bytes=value.bytes)
