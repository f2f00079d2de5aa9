"""Tokens: Ed25519 signing keys and their JWKS, access and service JWTs, and refresh-token
families (opaque tokens, stored hashed, rotated on every use; reuse revokes the family).

The rules are pure and testable without a database: :func:`access_claims`,
:func:`service_claims` and :func:`judge_refresh`. :class:`RefreshTokens` applies them to the
``refresh_families`` / ``refresh_tokens`` tables.
"""

from __future__ import annotations

import base64
import contextlib
import enum
import hashlib
import json
import logging
import os
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_core.ids import new_id, utcnow
from medley_users.models import RefreshFamily, RefreshToken, User
from medley_users.settings import UsersSettings

log = logging.getLogger("medley.users.tokens")

ALGORITHM = "EdDSA"
DEV_KEY_FILE = "jwt-ed25519.pem"
REFRESH_TOKEN_BYTES = 32


# --- signing keys -------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public_key: Ed25519PublicKey) -> str:
    """The RFC 7638 JWK thumbprint: a ``kid`` that follows from the key itself."""
    canonical = json.dumps(
        {"crv": "Ed25519", "kty": "OKP", "x": _b64url(_raw_public(public_key))},
        separators=(",", ":"),
        sort_keys=True,
    )
    return _b64url(hashlib.sha256(canonical.encode()).digest())


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: Ed25519PrivateKey

    @classmethod
    def from_pem(cls, pem: str | bytes) -> SigningKey:
        data = pem.encode() if isinstance(pem, str) else pem
        key = serialization.load_pem_private_key(data, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("a signing key must be an Ed25519 private key (PEM, PKCS#8)")
        return cls(key_id(key.public_key()), key)

    @classmethod
    def generate(cls) -> SigningKey:
        key = Ed25519PrivateKey.generate()
        return cls(key_id(key.public_key()), key)

    def private_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def public_jwk(self) -> dict[str, str]:
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": _b64url(_raw_public(self.private_key.public_key())),
            "kid": self.kid,
            "alg": ALGORITHM,
            "use": "sig",
        }


class KeyRing:
    """The current signing key and the retired ones still published for verification."""

    def __init__(self, keys: Sequence[SigningKey]) -> None:
        if not keys:
            raise ValueError("a key ring needs at least one signing key")
        kids = [k.kid for k in keys]
        if len(set(kids)) != len(kids):
            raise ValueError("the same signing key is configured twice")
        self.keys = tuple(keys)

    @property
    def current(self) -> SigningKey:
        return self.keys[0]

    def jwks(self) -> dict[str, Any]:
        """The public JWKS document: every key, current first; never private parts."""
        return {"keys": [k.public_jwk() for k in self.keys]}

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(
            claims,
            self.current.private_key,
            algorithm=ALGORITHM,
            headers={"kid": self.current.kid, "typ": "JWT"},
        )


def write_private_file(path: Path, data: bytes) -> None:
    """Create ``path`` (0600) atomically; if another process won the race, keep theirs."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_dev_signing_key(directory: Path) -> SigningKey:
    """The development key in ``directory``, generated on first use and kept."""
    path = directory / DEV_KEY_FILE
    if not path.exists():
        write_private_file(path, SigningKey.generate().private_pem())
        log.info("generated a development signing key at %s", path)
    return SigningKey.from_pem(path.read_bytes())


def load_key_ring(settings: UsersSettings) -> KeyRing:
    """The signing keys from the settings (PEMs, then PEM files), else the dev key."""
    keys = [SigningKey.from_pem(pem.get_secret_value()) for pem in settings.signing_keys]
    keys += [SigningKey.from_pem(path.read_bytes()) for path in settings.signing_key_files]
    if keys:
        return KeyRing(keys)
    if not settings.generate_dev_keys:
        raise RuntimeError(
            "no signing key: set MEDLEY_USERS_SIGNING_KEYS (or _SIGNING_KEY_FILES), or allow "
            "development keys with MEDLEY_USERS_GENERATE_DEV_KEYS=true"
        )
    return KeyRing([load_dev_signing_key(settings.keys_dir)])


# --- access and service tokens ------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    token: str
    token_id: str
    expires_at: datetime
    expires_in: int


def _base_claims(
    *, subject: str, issuer: str, audience: str, now: datetime, ttl_s: int, jti: str
) -> dict[str, Any]:
    iat = int(now.timestamp())
    return {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "iat": iat,
        "exp": iat + ttl_s,
        "jti": jti,
    }


def access_claims(
    *,
    user_id: uuid.UUID,
    roles: Sequence[str],
    issuer: str,
    audience: str,
    now: datetime,
    ttl_s: int,
    jti: str | None = None,
) -> dict[str, Any]:
    """The claims of a user's access token; exactly these, nothing else."""
    claims = _base_claims(
        subject=str(user_id),
        issuer=issuer,
        audience=audience,
        now=now,
        ttl_s=ttl_s,
        jti=jti or str(new_id()),
    )
    claims["roles"] = sorted(set(roles))
    claims["token_use"] = "access"  # noqa: S105
    return claims


def service_claims(
    *,
    client_id: str,
    scopes: Sequence[str],
    issuer: str,
    audience: str,
    now: datetime,
    ttl_s: int,
    jti: str | None = None,
) -> dict[str, Any]:
    """The claims of a service (client-credentials) token."""
    claims = _base_claims(
        subject=client_id,
        issuer=issuer,
        audience=audience,
        now=now,
        ttl_s=ttl_s,
        jti=jti or str(new_id()),
    )
    claims["roles"] = ["service"]
    claims["token_use"] = "service"  # noqa: S105
    claims["scope"] = " ".join(scopes)
    return claims


def next_whole_second(moment: datetime) -> datetime:
    """``moment`` if it is a whole second, else the next whole second."""
    whole = moment.replace(microsecond=0)
    return whole if whole == moment else whole + timedelta(seconds=1)


class TokenIssuer:
    """Signs access and service tokens with the key ring's current key."""

    def __init__(self, keys: KeyRing, settings: UsersSettings) -> None:
        self.keys = keys
        self.issuer = settings.jwt_issuer
        self.audience = settings.jwt_audience
        self.access_ttl_s = settings.access_token_ttl_s
        self.service_ttl_s = settings.service_token_ttl_s

    def _issue(self, claims: dict[str, Any]) -> IssuedToken:
        expires_at = datetime.fromtimestamp(claims["exp"], UTC)
        return IssuedToken(
            token=self.keys.sign(claims),
            token_id=claims["jti"],
            expires_at=expires_at,
            expires_in=claims["exp"] - claims["iat"],
        )

    def access_token(
        self, user: User, *, now: datetime | None = None, not_before: datetime | None = None
    ) -> IssuedToken:
        """``not_before``: verifiers refuse this user's tokens issued before that instant
        (a revocation); ``iat`` has whole seconds, so a token made in the same second
        counts as issued at the next one, which its ``exp`` follows."""
        now = now or utcnow()
        if not_before is not None:
            now = max(now, next_whole_second(not_before))
        return self._issue(
            access_claims(
                user_id=user.id,
                roles=user.roles,
                issuer=self.issuer,
                audience=self.audience,
                now=now,
                ttl_s=self.access_ttl_s,
            )
        )

    def service_token(
        self, client_id: str, scopes: Sequence[str], *, now: datetime | None = None
    ) -> IssuedToken:
        return self._issue(
            service_claims(
                client_id=client_id,
                scopes=scopes,
                issuer=self.issuer,
                audience=self.audience,
                now=now or utcnow(),
                ttl_s=self.service_ttl_s,
            )
        )


# --- refresh tokens: the rules ------------------------------------------------------------


def new_refresh_token() -> str:
    """An opaque refresh token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(REFRESH_TOKEN_BYTES)


def token_hash(token: str) -> bytes:
    """How opaque tokens are stored and looked up: SHA-256 of the token."""
    return hashlib.sha256(token.encode("utf-8")).digest()


@dataclass(frozen=True)
class RefreshState:
    """What is known about a presented refresh token, its family and its user."""

    token_id: uuid.UUID
    family_id: uuid.UUID
    user_id: uuid.UUID
    expires_at: datetime
    used_at: datetime | None
    family_revoked_at: datetime | None
    user_disabled: bool


class RefreshVerdict(enum.Enum):
    ROTATE = "rotate"  # good: issue the next token of the family
    UNKNOWN = "unknown"  # never issued (or long purged)
    REVOKED = "revoked"  # its family was revoked (logout, reuse, password change, disable)
    REUSED = "reused"  # already rotated: stolen or replayed; the family must be revoked
    EXPIRED = "expired"
    DISABLED = "disabled"  # the account is disabled: no new tokens

    @property
    def revokes_family(self) -> bool:
        return self in (RefreshVerdict.REUSED, RefreshVerdict.DISABLED)

    @property
    def detail(self) -> str:
        return _VERDICT_DETAIL[self]


_VERDICT_DETAIL = {
    RefreshVerdict.ROTATE: "ok",
    RefreshVerdict.UNKNOWN: "the refresh token is invalid",
    RefreshVerdict.REVOKED: "the refresh token has been revoked; log in again",
    RefreshVerdict.REUSED: "the refresh token was already used; every session of this login "
    "has been revoked, log in again",
    RefreshVerdict.EXPIRED: "the refresh token has expired; log in again",
    RefreshVerdict.DISABLED: "the account is disabled",
}


def judge_refresh(state: RefreshState | None, now: datetime) -> RefreshVerdict:
    """What to do with a presented refresh token. Order matters: a revoked family stays
    revoked; an already-rotated token is reuse even when it has expired since."""
    if state is None:
        return RefreshVerdict.UNKNOWN
    if state.family_revoked_at is not None:
        return RefreshVerdict.REVOKED
    if state.used_at is not None:
        return RefreshVerdict.REUSED
    if state.user_disabled:
        return RefreshVerdict.DISABLED
    if state.expires_at <= now:
        return RefreshVerdict.EXPIRED
    return RefreshVerdict.ROTATE


# --- refresh tokens: storage --------------------------------------------------------------


@dataclass(frozen=True)
class RefreshOutcome:
    verdict: RefreshVerdict
    user_id: uuid.UUID | None = None
    family_id: uuid.UUID | None = None
    refresh_token: str | None = None  # the next token, when the verdict is ROTATE


class RefreshTokens:
    """Refresh-token families in the database."""

    def __init__(self, ttl_s: int) -> None:
        self.ttl = timedelta(seconds=ttl_s)

    async def start_family(self, session: AsyncSession, user_id: uuid.UUID) -> str:
        """A new login: a new family and its first token (returned, never stored)."""
        now = utcnow()
        family = RefreshFamily(user_id=user_id, created_at=now, last_used_at=now)
        session.add(family)
        await session.flush()
        return await self._add_token(session, family.id, now)

    async def _add_token(self, session: AsyncSession, family_id: uuid.UUID, now: datetime) -> str:
        token = new_refresh_token()
        session.add(
            RefreshToken(
                family_id=family_id,
                token_hash=token_hash(token),
                created_at=now,
                expires_at=now + self.ttl,
            )
        )
        await session.flush()
        return token

    async def _state(self, session: AsyncSession, token: str) -> RefreshState | None:
        # The token row is locked, so two concurrent uses of one token are serialised: the
        # second sees it used and is treated as reuse.
        row = (
            await session.exec(
                select(
                    RefreshToken, RefreshFamily.user_id, RefreshFamily.revoked_at, User.disabled_at
                )
                .join(RefreshFamily, col(RefreshFamily.id) == col(RefreshToken.family_id))
                .join(User, col(User.id) == col(RefreshFamily.user_id))
                .where(col(RefreshToken.token_hash) == token_hash(token))
                .with_for_update(of=RefreshToken)
            )
        ).one_or_none()
        if row is None:
            return None
        stored, user_id, family_revoked_at, user_disabled_at = row
        return RefreshState(
            token_id=stored.id,
            family_id=stored.family_id,
            expires_at=stored.expires_at,
            used_at=stored.used_at,
            user_id=user_id,
            family_revoked_at=family_revoked_at,
            user_disabled=user_disabled_at is not None,
        )

    async def rotate(self, session: AsyncSession, token: str) -> RefreshOutcome:
        """Use a refresh token: the next one of its family, or why not. A verdict that
        revokes the family has done so when this returns (commit it even though the
        caller answers 401)."""
        now = utcnow()
        state = await self._state(session, token)
        verdict = judge_refresh(state, now)
        if state is None:
            return RefreshOutcome(verdict)
        if verdict.revokes_family:
            await self.revoke_family(session, state.family_id, reason=verdict.value)
            log.warning(
                "refresh family %s revoked (%s) for user %s",
                state.family_id,
                verdict.value,
                state.user_id,
            )
        if verdict is not RefreshVerdict.ROTATE:
            return RefreshOutcome(verdict, state.user_id, state.family_id)
        await session.exec(
            update(RefreshToken).where(col(RefreshToken.id) == state.token_id).values(used_at=now)
        )
        await session.exec(
            update(RefreshFamily)
            .where(col(RefreshFamily.id) == state.family_id)
            .values(last_used_at=now)
        )
        # Tokens of this family past their expiry can no longer be used nor reused: purge.
        await session.exec(
            delete(RefreshToken).where(
                col(RefreshToken.family_id) == state.family_id,
                col(RefreshToken.expires_at) < now,
            )
        )
        next_token = await self._add_token(session, state.family_id, now)
        return RefreshOutcome(verdict, state.user_id, state.family_id, next_token)

    async def revoke_family(
        self, session: AsyncSession, family_id: uuid.UUID, *, reason: str
    ) -> None:
        await session.exec(
            update(RefreshFamily)
            .where(col(RefreshFamily.id) == family_id, col(RefreshFamily.revoked_at).is_(None))
            .values(revoked_at=utcnow(), revoked_reason=reason)
        )

    async def revoke_by_token(self, session: AsyncSession, token: str, *, reason: str) -> bool:
        """Revoke the family of ``token`` (logout); False when the token is unknown."""
        family_id = (
            await session.exec(
                select(RefreshToken.family_id).where(
                    col(RefreshToken.token_hash) == token_hash(token)
                )
            )
        ).one_or_none()
        if family_id is None:
            return False
        await self.revoke_family(session, family_id, reason=reason)
        return True

    async def revoke_all(self, session: AsyncSession, user_id: uuid.UUID, *, reason: str) -> int:
        """Revoke every live family of a user; how many were live."""
        result = await session.exec(
            update(RefreshFamily)
            .where(col(RefreshFamily.user_id) == user_id, col(RefreshFamily.revoked_at).is_(None))
            .values(revoked_at=utcnow(), revoked_reason=reason)
        )
        return int(result.rowcount or 0)
