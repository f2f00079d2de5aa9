"""Request and response bodies. Requests forbid unknown fields and bound every string, so
bad input is a 4xx problem before any logic runs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from medley_core.pagination import Page
from medley_users.accounts import check_email, check_username, clean_display_name
from medley_users.api_tokens import NAME_MAX
from medley_users.erasure import ErasureStatus
from medley_users.models import ApiToken, Integration, User

# Generous bounds for secrets and free text: the domain applies the real policy.
SECRET_MAX = 1024
TOKEN_MAX = 512


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=8192)


def _non_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    return value


Username = Annotated[str, Field(max_length=32), AfterValidator(check_username)]
Email = Annotated[str, Field(max_length=320), AfterValidator(check_email)]
DisplayName = Annotated[str | None, Field(max_length=200), AfterValidator(clean_display_name)]
Password = Annotated[str, Field(min_length=1, max_length=SECRET_MAX)]
OpaqueToken = Annotated[str, Field(min_length=1, max_length=TOKEN_MAX)]


# --- accounts -----------------------------------------------------------------------------


class RegisterIn(Request):
    username: Username
    email: Email
    password: Password
    display_name: DisplayName = None


class LoginIn(Request):
    login: Annotated[str, Field(min_length=1, max_length=320)]
    password: Password


class RefreshIn(Request):
    refresh_token: OpaqueToken


class ProfilePatch(Request):
    """Only the fields present change; ``display_name: null`` clears it."""

    display_name: DisplayName = None
    email: Email | None = None


class PasswordChangeIn(Request):
    current_password: Password
    new_password: Password


class DeleteMeIn(Request):
    password: Password


class UserOut(BaseModel):
    id: uuid.UUID
    username: str
    email: str
    display_name: str | None
    roles: list[str]
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            username=user.username,
            email=user.email,
            display_name=user.display_name,
            roles=sorted(set(user.roles)),
            created_at=user.created_at,
        )


class TokenPairOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - a scheme name
    expires_in: int


class ErasureStartedOut(BaseModel):
    erasure_id: uuid.UUID
    status: Literal["pending", "completed"]


# --- API tokens ---------------------------------------------------------------------------


class ApiTokenIn(Request):
    name: Annotated[str, Field(max_length=NAME_MAX), AfterValidator(_non_blank)]


class ApiTokenOut(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None

    @classmethod
    def of(cls, row: ApiToken) -> ApiTokenOut:
        return cls.model_validate(row, from_attributes=True)


class ApiTokenCreatedOut(ApiTokenOut):
    token: str = Field(description="the token itself: shown this once, never again")


class ResolveIn(Request):
    token: OpaqueToken


class ResolvedOut(BaseModel):
    user_id: uuid.UUID
    username: str
    token_id: uuid.UUID


# --- integrations -------------------------------------------------------------------------


class IntegrationIn(Request):
    external_user_id: Annotated[str, Field(max_length=255), AfterValidator(_non_blank)]
    scopes: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=200)]], Field(max_length=100)
    ] = Field(default_factory=list)
    access_token: Annotated[str, Field(min_length=1, max_length=8192)]
    refresh_token: Annotated[str | None, Field(min_length=1, max_length=8192)] = None
    expires_at: AwareDatetime | None = None


class IntegrationOut(BaseModel):
    provider: str
    external_user_id: str
    scopes: list[str]
    expires_at: datetime | None
    has_refresh_token: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Integration) -> IntegrationOut:
        return cls(
            provider=row.provider,
            external_user_id=row.external_user_id,
            scopes=list(row.scopes),
            expires_at=row.expires_at,
            has_refresh_token=row.refresh_token_ciphertext is not None,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class IntegrationSecretsOut(BaseModel):
    """For services acting for the user (internal only): the tokens in clear."""

    user_id: uuid.UUID
    provider: str
    external_user_id: str
    scopes: list[str]
    access_token: str
    refresh_token: str | None
    expires_at: datetime | None


# --- service clients ----------------------------------------------------------------------


class ServiceTokenOut(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - a scheme name
    expires_in: int
    scope: str


# --- administration -----------------------------------------------------------------------


class AdminUserOut(UserOut):
    status: Literal["active", "disabled"]
    disabled_at: datetime | None
    updated_at: datetime

    @classmethod
    def of(cls, user: User) -> AdminUserOut:
        return cls(
            **UserOut.of(user).model_dump(),
            status="disabled" if user.disabled_at is not None else "active",
            disabled_at=user.disabled_at,
            updated_at=user.updated_at,
        )


class UserPageOut(Page[AdminUserOut], kw_only=True):
    """A page of accounts; ``next_after`` is the older form of ``next_cursor``."""

    items: list[AdminUserOut]  # named again: OpenAPI then shows the items' shape
    next_after: Annotated[
        uuid.UUID | None,
        msgspec.Meta(description="pass as ?after= for the next page; null on the last page"),
    ]

    @classmethod
    def of(cls, page: Page[AdminUserOut]) -> UserPageOut:
        return cls(items=page.items, next_cursor=page.next_cursor, next_after=page.next_after_id())


class ErasureStatusOut(BaseModel):
    erasure_id: uuid.UUID
    user_id: uuid.UUID
    status: Literal["pending", "completed"]
    requested_at: datetime
    completed_at: datetime | None
    contexts_done: list[str]
    contexts_missing: list[str]

    @classmethod
    def of(cls, status: ErasureStatus) -> ErasureStatusOut:
        return cls(
            erasure_id=status.erasure_id,
            user_id=status.user_id,
            status=status.status,
            requested_at=status.requested_at,
            completed_at=status.completed_at,
            contexts_done=status.contexts_done,
            contexts_missing=status.contexts_missing,
        )


class ReencryptedOut(BaseModel):
    reencrypted: int
    key_id: str


# --- public keys --------------------------------------------------------------------------


class JwkOut(BaseModel):
    """One public key (RFC 7517): Ed25519 (``OKP``), for verifying signatures."""

    kty: str
    crv: str
    x: str
    kid: str
    alg: str
    use: str


class JwksOut(BaseModel):
    keys: list[JwkOut] = Field(description="every published key, the current one first")
