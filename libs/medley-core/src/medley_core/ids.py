"""Identifiers and clocks shared by every service."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import uuid_utils


def new_id() -> uuid.UUID:
    """A time-ordered UUIDv7: index-friendly for rows inserted in bulk."""
    return uuid.UUID(bytes=uuid_utils.uuid7().bytes)


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)
