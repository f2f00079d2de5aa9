"""Keyset pages: what a listing answers and the opaque cursor of where it stopped.

A cursor is the listing's name and the sort key of the last row served, as URL-safe
base64 of JSON; the next page starts strictly after it. A cursor made for another listing
or tampered with is a 422 naming ``cursor``.

(Stands in for ``medley_core.pagination`` until that lands; then this module goes.)
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from medley_core.errors import Unprocessable

# What a cursor may hold, each as JSON writes it.
KeyType = type[str] | type[int] | type[uuid.UUID] | type[datetime]


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None
    extra: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {"items": self.items, "next_cursor": self.next_cursor, **self.extra}


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def encode_cursor(listing: str, key: Sequence[Any]) -> str:
    raw = json.dumps([listing, [_plain(k) for k in key]], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _typed(value: Any, expected: KeyType) -> Any:
    if expected is uuid.UUID:
        return uuid.UUID(value)
    if expected is datetime:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError(value)
        return parsed
    if expected is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(value)
    if expected is str and not isinstance(value, str):
        raise ValueError(value)
    return value


def decode_cursor(cursor: str, listing: str, types: Sequence[KeyType]) -> list[Any]:
    """The key ``cursor`` holds, each part of the expected type; 422 otherwise."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        found, key = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if found != listing or not isinstance(key, list) or len(key) != len(types):
            raise ValueError(found)
        return [_typed(value, expected) for value, expected in zip(key, types, strict=True)]
    except (ValueError, TypeError, AttributeError, binascii.Error, UnicodeDecodeError):
        raise Unprocessable(
            "the cursor is not valid for this listing (pass next_cursor as given, with the "
            "same sort)",
            field="cursor",
        ) from None
