"""The users service's settings: ``MEDLEY_USERS_<NAME>``, shared ones falling back to
``MEDLEY_<NAME>`` (database, NATS, data directory, issuer/audience…).

Secrets come as JSON in the environment:

* ``MEDLEY_USERS_SIGNING_KEYS``: ``["-----BEGIN PRIVATE KEY-----\\n…", …]`` Ed25519 PEM private
  keys. The first signs; the others are retired keys whose public parts stay in the JWKS
  until the tokens they signed have expired (remove them after ``access_token_ttl_s``).
  ``MEDLEY_USERS_SIGNING_KEY_FILES`` names PEM files instead (mounted secrets).
* ``MEDLEY_USERS_INTEGRATION_KEYS``: ``[{"id": "2025-06", "key": "<base64 of 32 bytes>"}, …]``
  AES-256-GCM keys for connected-integration tokens; the first encrypts, all decrypt.
* ``MEDLEY_USERS_SERVICE_CLIENTS``: ``{"gateway": {"secret": "…", "scopes": ["a", "b"]}, …}``:
  each client's secret and the only scopes it may be granted (what its entry in
  :mod:`medley_core.registry` lists; the launcher, compose and Koyeb pass exactly that).
  A bare ``{"gateway": "<secret>"}`` is a client with no scopes at all.

With neither signing keys nor integration keys configured and ``generate_dev_keys`` on (the
default, for development), keys are generated into ``<data_dir>/users/`` (mode 0600) and
reused across restarts. Production sets ``MEDLEY_USERS_GENERATE_DEV_KEYS=false`` so that a
missing key fails start-up instead.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from medley_core.registry import USERS
from medley_core.settings import ServiceSettings

DEFAULT_ERASURE_CONTEXTS = ("catalog", "ingestion", "playlists")
_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_CONTEXT = re.compile(r"^[a-z][a-z_]{0,62}$")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_SCOPE = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]{1,100}$")  # RFC 6749 scope-token


class IntegrationKey(BaseModel):
    """One AES-256-GCM key for integration tokens at rest, with the id stored beside
    every ciphertext it produced."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    key: SecretStr

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not _KEY_ID.match(value):
            raise ValueError("a key id is 1-64 of letters, digits, '.', '_' or '-'")
        return value

    @field_validator("key")
    @classmethod
    def _key_shape(cls, value: SecretStr) -> SecretStr:
        try:
            raw = base64.b64decode(value.get_secret_value(), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("an integration key is base64") from None
        if len(raw) != 32:
            raise ValueError("an integration key is 32 bytes (base64 of 32 random bytes)")
        return value

    @property
    def raw(self) -> bytes:
        return base64.b64decode(self.key.get_secret_value())


class ServiceClientSpec(BaseModel):
    """A service client: its secret and the only scopes it may be granted.

    No scopes (``None``, as a bare secret gives, or ``[]``) grants none: a client holds
    nothing it was not given.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    secret: SecretStr = Field(min_length=16)
    scopes: tuple[str, ...] | None = None

    @field_validator("scopes")
    @classmethod
    def _scope_shape(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and not all(_SCOPE.match(s) for s in value):
            raise ValueError("a scope is 1-100 printable characters without spaces or quotes")
        return value


class UsersSettings(ServiceSettings, service=USERS):
    port: int = USERS.dev_port

    # Token signing (Ed25519). Empty: generated into the data dir when generate_dev_keys.
    signing_keys: list[SecretStr] = Field(default_factory=list)
    signing_key_files: list[Path] = Field(default_factory=list)
    generate_dev_keys: bool = True

    access_token_ttl_s: int = Field(default=900, ge=30, le=86_400)
    refresh_token_ttl_s: int = Field(default=30 * 86_400, ge=60, le=365 * 86_400)
    service_token_ttl_s: int = Field(default=900, ge=30, le=86_400)

    # The username that gets the admin role, once, while no admin exists: when it registers
    # or at start-up. After that, admins hand the role on (medley_users.bootstrap).
    bootstrap_admin: str | None = None

    # Connected-integration tokens at rest. Empty: generated when generate_dev_keys.
    integration_keys: list[IntegrationKey] = Field(default_factory=list)

    # OAuth2 client-credentials clients: {client_id: {secret, scopes} | secret (no scopes)}.
    service_clients: dict[str, SecretStr | ServiceClientSpec] = Field(default_factory=dict)

    # Contexts that must confirm an erasure with "<context>.user_data.erased".
    erasure_contexts: list[str] = Field(default_factory=lambda: list(DEFAULT_ERASURE_CONTEXTS))

    # Argon2id cost (RFC 9106 second recommended option by default).
    argon2_time_cost: int = Field(default=3, ge=1, le=20)
    argon2_memory_cost_kib: int = Field(default=65_536, ge=8 * 1024, le=4 * 1024 * 1024)
    argon2_parallelism: int = Field(default=4, ge=1, le=64)

    # Failed logins an account may have per window, whether they named its username or its
    # email; kept in the database, so one budget for every replica (login_budget).
    login_per_account: int = Field(default=10, ge=1, le=10_000)
    login_window_s: float = Field(default=60.0, gt=0, le=86_400)

    max_api_tokens_per_user: int = Field(default=50, ge=1, le=10_000)

    @field_validator("erasure_contexts")
    @classmethod
    def _contexts(cls, value: list[str]) -> list[str]:
        seen: list[str] = []
        for context in value:
            if not _CONTEXT.match(context):
                raise ValueError(f"not a context name: {context!r}")
            if context == "users":
                raise ValueError("'users' erases its own data at once; do not list it")
            if context not in seen:
                seen.append(context)
        return seen

    @field_validator("integration_keys")
    @classmethod
    def _distinct_key_ids(cls, value: list[IntegrationKey]) -> list[IntegrationKey]:
        ids = [k.id for k in value]
        if len(set(ids)) != len(ids):
            raise ValueError("integration key ids must be distinct")
        return value

    @field_validator("service_clients")
    @classmethod
    def _client_ids(cls, value: dict[str, Any]) -> dict[str, Any]:
        for client_id, spec in value.items():
            if not _CLIENT_ID.match(client_id):
                raise ValueError(f"not a client id: {client_id!r}")
            secret = spec if isinstance(spec, SecretStr) else spec.secret
            if len(secret.get_secret_value()) < 16:
                raise ValueError(f"the secret of client {client_id!r} is shorter than 16")
        return value

    @field_validator("bootstrap_admin")
    @classmethod
    def _bootstrap_admin(cls, value: str | None) -> str | None:
        value = (value or "").strip().lower()
        if "@" in value:
            # Addresses are not verified: anyone could register (or move to) this one.
            raise ValueError(
                "the bootstrap admin is a username, not an email address (addresses are "
                "not verified, so anyone could claim one)"
            )
        return value or None

    @model_validator(mode="after")
    def _revocations_outlive_tokens(self) -> UsersSettings:
        # A verifier that starts reads revocations this far back; a longer-lived token
        # could outlive what it reads and be accepted after its session ended.
        if self.access_token_ttl_s > self.revocation_lookback_s:
            raise ValueError(
                "access_token_ttl_s must not exceed revocation_lookback_s "
                f"({self.access_token_ttl_s} > {self.revocation_lookback_s:g})"
            )
        return self

    def client_specs(self) -> dict[str, ServiceClientSpec]:
        """Every configured service client as ``{client_id: spec}``."""
        return {
            client_id: spec
            if isinstance(spec, ServiceClientSpec)
            else ServiceClientSpec(secret=spec)
            for client_id, spec in self.service_clients.items()
        }

    @property
    def keys_dir(self) -> Path:
        """Where development keys are generated: ``<data_dir>/users``."""
        return self.data_dir / "users"
