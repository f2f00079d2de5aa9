"""The public request and response shapes, as the OpenAPI document shows them.

The users service owns the rules (username pattern, password strength, unknown fields…) and
answers problems when they are broken; the gateway forwards the caller's body unchanged.
Request bodies are decoded here only for their *shape* (JSON object, field types), so a
malformed body is refused before it costs an upstream call, and login/register can read the
account name their rate limits are keyed on. Response shapes are documentation only.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec


class RegisterRequest(msgspec.Struct, kw_only=True):
    username: str
    email: str
    password: str
    display_name: str | None = None


class LoginRequest(msgspec.Struct, kw_only=True):
    login: str
    """A username or an email address."""
    password: str


class RefreshRequest(msgspec.Struct, kw_only=True):
    refresh_token: str


class TokenPair(msgspec.Struct, kw_only=True):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"  # noqa: S105 (a scheme name, not a secret)
    expires_in: int


class ServiceToken(msgspec.Struct, kw_only=True):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 (a scheme name, not a secret)
    expires_in: int
    scope: str


class User(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    username: str
    email: str
    display_name: str | None
    roles: list[str]
    created_at: datetime


class AdminUser(User, kw_only=True):
    status: str
    """``active`` or ``disabled``."""
    disabled_at: datetime | None
    updated_at: datetime


class UserPage(msgspec.Struct, kw_only=True):
    items: list[AdminUser]
    next_after: uuid.UUID | None
    """Pass as ``?after=`` for the next page; null on the last page."""


class UpdateMeRequest(msgspec.Struct, kw_only=True):
    display_name: str | None = None
    email: str | None = None


class ChangePasswordRequest(msgspec.Struct, kw_only=True):
    current_password: str
    new_password: str


class DeleteMeRequest(msgspec.Struct, kw_only=True):
    password: str
    """The current password, to confirm."""


class ErasureStarted(msgspec.Struct, kw_only=True):
    erasure_id: uuid.UUID
    status: str
    """``pending`` until every context has erased the user's data, then ``completed``."""


class ApiTokenRequest(msgspec.Struct, kw_only=True):
    name: str


class ApiToken(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None


class ApiTokenCreated(ApiToken, kw_only=True):
    token: str
    """Shown once: only its hash is kept."""


class IntegrationRequest(msgspec.Struct, kw_only=True):
    external_user_id: str
    access_token: str
    refresh_token: str | None = None
    expires_at: datetime | None = None
    scopes: list[str] = msgspec.field(default_factory=list)


class Integration(msgspec.Struct, kw_only=True):
    provider: str
    external_user_id: str
    scopes: list[str]
    expires_at: datetime | None
    has_refresh_token: bool
    created_at: datetime
    updated_at: datetime


class Erasure(msgspec.Struct, kw_only=True):
    erasure_id: uuid.UUID
    user_id: uuid.UUID
    status: str
    """``pending`` or ``completed``."""
    requested_at: datetime
    completed_at: datetime | None
    contexts_done: list[str]
    contexts_missing: list[str]


class Jwks(msgspec.Struct, kw_only=True):
    keys: list[dict[str, Any]]


class ProblemDetails(msgspec.Struct, kw_only=True):
    """RFC 9457 problem details, plus the request id to quote."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None


class UpstreamHealth(msgspec.Struct, kw_only=True):
    status: str
    url: str
    circuit: str
    latency_ms: float
    error: str | None = None


class GatewayHealth(msgspec.Struct, kw_only=True):
    status: str
    upstreams: dict[str, UpstreamHealth]
