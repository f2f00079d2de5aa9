"""The users context's tables, all in PostgreSQL schema ``users`` (and in no other metadata).

Rules the database keeps itself: unique usernames and emails, one integration per provider
per user, username/role/provider shapes (check constraints), and cascades so that deleting a
user row deletes its credentials, sessions, API tokens and integrations in one statement.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Double,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlmodel import Field, SQLModel

from medley_core.db import schema_metadata
from medley_core.events.tables import event_tables
from medley_core.ids import new_id, utcnow
from medley_core.models import uuid_fk

ROLE_USER = "user"
ROLE_ADMIN = "admin"
ROLES = (ROLE_USER, ROLE_ADMIN)
PROVIDERS = ("spotify", "lastfm", "roon", "listenbrainz")


class UsersModel(SQLModel):
    """Base of every users table: its own metadata, schema ``users``."""

    metadata = schema_metadata("users")


def _ts(*, nullable: bool = False, server_now: bool = False) -> Column[datetime]:
    return Column(
        DateTime(timezone=True),
        nullable=nullable,
        server_default=func.now() if server_now else None,
    )


def _user_fk(*, primary_key: bool = False) -> Column[uuid.UUID]:
    return uuid_fk(
        "users.users.id", ondelete="CASCADE", primary_key=primary_key, index=not primary_key
    )


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class User(UsersModel, table=True):
    """An account. Deleting it (account deletion) cascades to everything below."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("username ~ '^[a-z0-9_-]{3,32}$'", name="username_format"),
        CheckConstraint(
            "email = lower(btrim(email)) AND strpos(email, '@') > 1", name="email_form"
        ),
        # Stored in the normal form it is compared in, so the unique key also holds for
        # look-alikes (accounts.normalise_email).
        CheckConstraint("email IS NFKC NORMALIZED", name="email_nfkc"),
        CheckConstraint(
            f"roles <@ ARRAY[{_quoted(ROLES)}]::text[] AND cardinality(roles) > 0",
            name="known_roles",
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    username: str = Field(sa_column=Column(String(32), nullable=False, unique=True))
    email: str = Field(sa_column=Column(String(254), nullable=False, unique=True))
    display_name: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    roles: list[str] = Field(
        default_factory=lambda: [ROLE_USER],
        sa_column=Column(ARRAY(Text), nullable=False, server_default="{user}"),
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(server_now=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts(server_now=True))
    disabled_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    # The last revocation of its access tokens (disable, password change, admin role taken):
    # a token issued in that same second is stamped with the next one (see tokens.py).
    tokens_revoked_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class BootstrapGrant(UsersModel, table=True):
    """That the bootstrap admin was granted (at most one row, ever): once it exists, neither
    a restart, a re-registered username nor a changed setting grants admin again."""

    __tablename__ = "bootstrap_grant"
    __table_args__ = (CheckConstraint("singleton", name="one_row"),)

    singleton: bool = Field(
        default=True, sa_column=Column(Boolean, primary_key=True, server_default="true")
    )
    # No foreign key: the grant stays used when that account is deleted.
    user_id: uuid.UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), nullable=False))
    username: str = Field(sa_column=Column(String(32), nullable=False))
    granted_at: datetime = Field(default_factory=utcnow, sa_column=_ts(server_now=True))


class Credential(UsersModel, table=True):
    """A user's password (Argon2id hash), and the failed logins counted against it."""

    __tablename__ = "credentials"
    __table_args__ = (CheckConstraint("failed_logins >= 0", name="failed_logins_not_negative"),)

    user_id: uuid.UUID = Field(sa_column=_user_fk(primary_key=True))
    password_hash: str = Field(sa_column=Column(Text, nullable=False))
    changed_at: datetime = Field(default_factory=utcnow, sa_column=_ts(server_now=True))
    # The account's failed-login bucket (medley_users.login_budget): failures still counted,
    # draining evenly over the window, as of ``failed_logins_at``.
    failed_logins: float = Field(
        default=0.0, sa_column=Column(Double, nullable=False, server_default="0")
    )
    failed_logins_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class RefreshFamily(UsersModel, table=True):
    """One login session: every refresh token rotated from one login belongs to it."""

    __tablename__ = "refresh_families"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(sa_column=_user_fk())
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(server_now=True))
    last_used_at: datetime = Field(default_factory=utcnow, sa_column=_ts(server_now=True))
    revoked_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    revoked_reason: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))


class RefreshToken(UsersModel, table=True):
    """One opaque refresh token (SHA-256 of it). ``used_at`` is set when it is rotated."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (CheckConstraint("octet_length(token_hash) = 32", name="hash_length"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    family_id: uuid.UUID = Field(
        sa_column=uuid_fk("users.refresh_families.id", ondelete="CASCADE", index=True)
    )
    token_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False, unique=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(server_now=True))
    expires_at: datetime = Field(sa_column=_ts())
    used_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class ApiToken(UsersModel, table=True):
    """A long-lived token for a scrobbling client (SHA-256 of it; shown once)."""

    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint("octet_length(token_hash) = 32", name="hash_length"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(sa_column=_user_fk())
    name: str = Field(sa_column=Column(String(100), nullable=False))
    prefix: str = Field(sa_column=Column(String(16), nullable=False))
    token_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False, unique=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(server_now=True))
    last_used_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class Integration(UsersModel, table=True):
    """A connected account at a provider; its tokens are AES-GCM ciphertexts made with
    the integration key ``key_id``."""

    __tablename__ = "integrations"
    __table_args__ = (
        UniqueConstraint("user_id", "provider"),
        CheckConstraint(f"provider IN ({_quoted(PROVIDERS)})", name="known_provider"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(sa_column=uuid_fk("users.users.id", ondelete="CASCADE"))
    provider: str = Field(sa_column=Column(String(32), nullable=False))
    external_user_id: str = Field(sa_column=Column(String(255), nullable=False))
    scopes: list[str] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(Text), nullable=False, server_default="{}"),
    )
    key_id: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    access_token_ciphertext: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    refresh_token_ciphertext: bytes | None = Field(
        default=None, sa_column=Column(LargeBinary, nullable=True)
    )
    expires_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(server_now=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts(server_now=True))


class ServiceClient(UsersModel, table=True):
    """An OAuth2 client-credentials client, registered from the settings at start-up."""

    __tablename__ = "service_clients"
    __table_args__ = (CheckConstraint("octet_length(secret_hash) = 32", name="hash_length"),)

    client_id: str = Field(sa_column=Column(String(100), primary_key=True))
    secret_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # The only scopes it may be granted. Start-up writes a list for every client; None (a
    # row from before that) grants nothing.
    allowed_scopes: list[str] | None = Field(
        default=None, sa_column=Column(ARRAY(Text), nullable=True)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(server_now=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts(server_now=True))


class Erasure(UsersModel, table=True):
    """An account erasure in progress (or done): the saga's state."""

    __tablename__ = "erasures"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    # No foreign key: the user row is gone the moment the erasure starts.
    user_id: uuid.UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), nullable=False, unique=True))
    requested_at: datetime = Field(default_factory=utcnow, sa_column=_ts(server_now=True))
    completed_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class ErasureStep(UsersModel, table=True):
    """One context's part of an erasure; done when ``completed_at`` is set."""

    __tablename__ = "erasure_steps"

    erasure_id: uuid.UUID = Field(
        sa_column=uuid_fk("users.erasures.id", ondelete="CASCADE", primary_key=True)
    )
    context: str = Field(sa_column=Column(String(64), primary_key=True))
    completed_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


# The outbox, inbox and dead letters of this service, in the same schema.
EVENT_TABLES = event_tables(UsersModel.metadata)
