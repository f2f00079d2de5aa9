"""Access tokens for tests: an Ed25519 key pair, the JWKS that publishes it, a
:class:`~medley_core.verification.TokenVerifier` that trusts it, and tokens in the users
service's shape (user, admin, service) that any claim of can be changed or dropped, for the
tests of what must be refused.

For every package's tests; production code never imports it (tokens are minted by the users
service only)::

    mint = TokenMint()
    app = create_app(settings, verifier=mint.verifier())
    await client.get("/me", headers=bearer(mint.user_token()))
    await client.get("/me", headers=bearer(mint.user_token(exp=0)))  # expired: 401
    await client.get("/me", headers=bearer(mint.user_token(exp=DROP)))  # no expiry: 401
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Final

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from jwt.algorithms import OKPAlgorithm

from medley_core.verification import StaticKeySource, TokenVerifier

ISSUER: Final = "medley-users"
AUDIENCE: Final = "medley"
KID: Final = "test-key"
LIFETIME_S: Final = 600


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


# A claim override of DROP leaves the claim out of the token.
DROP: Final = _Drop()


def access_claims(
    *, issuer: str = ISSUER, audience: str = AUDIENCE, **overrides: Any
) -> dict[str, Any]:
    """A user's access-token claims as the users service issues them (a random user with
    the ``user`` role, valid for :data:`LIFETIME_S`), with ``overrides`` applied; a claim
    set to :data:`DROP` is left out."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": str(uuid.uuid4()),
        "iat": now,
        "exp": now + LIFETIME_S,
        "jti": uuid.uuid4().hex,
        "roles": ["user"],
        "token_use": "access",
        **overrides,
    }
    return _without_dropped(claims)


def _without_dropped(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not DROP}


def bearer(token: str) -> dict[str, str]:
    """The ``Authorization`` header carrying ``token``."""
    return {"Authorization": f"Bearer {token}"}


def jwks(*mints: TokenMint) -> dict[str, Any]:
    """A JWKS publishing the public keys of ``mints`` (several: a key rotation)."""
    return {"keys": [m.jwk for m in mints]}


class TokenMint:
    """Signs tokens with one Ed25519 key under ``kid`` (a new key unless ``private_key``
    is given: the e2e tests sign with the running users service's own)."""

    def __init__(
        self,
        kid: str = KID,
        *,
        private_key: ed25519.Ed25519PrivateKey | None = None,
        issuer: str = ISSUER,
        audience: str = AUDIENCE,
    ) -> None:
        self.kid = kid
        self.private = private_key or ed25519.Ed25519PrivateKey.generate()
        self.public = self.private.public_key()
        self.issuer = issuer
        self.audience = audience

    # -- the public half -------------------------------------------------------------------

    @property
    def jwk(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(OKPAlgorithm.to_jwk(self.public))
        return {**data, "kid": self.kid, "use": "sig", "alg": "EdDSA"}

    @property
    def jwks(self) -> dict[str, Any]:
        return jwks(self)

    @property
    def public_raw(self) -> bytes:
        return self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @property
    def public_pem(self) -> bytes:
        return self.public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def verifier(self, **options: Any) -> TokenVerifier:
        """A verifier trusting this key alone, for this mint's issuer and audience."""
        return TokenVerifier(
            StaticKeySource(self.jwks), issuer=self.issuer, audience=self.audience, **options
        )

    # -- tokens ----------------------------------------------------------------------------

    def claims(self, **overrides: Any) -> dict[str, Any]:
        """:func:`access_claims` for this mint's issuer and audience."""
        return access_claims(issuer=self.issuer, audience=self.audience, **overrides)

    def sign(self, claims: Mapping[str, Any] | None = None, **header: Any) -> str:
        """``claims`` (default: :meth:`claims`) signed with EdDSA under this key's ``kid``;
        ``header`` adds or replaces header fields. A claim or header field set to
        :data:`DROP` is left out."""
        fields = {"kid": self.kid, "typ": "JWT", **header}
        return jwt.encode(
            _without_dropped(claims if claims is not None else self.claims()),
            self.private,
            algorithm="EdDSA",
            headers=_without_dropped(fields),
        )

    def user_token(
        self,
        user_id: uuid.UUID | str | None = None,
        *,
        roles: Iterable[str] = ("user",),
        **overrides: Any,
    ) -> str:
        """A user's access token (a random user unless ``user_id``); ``overrides`` change
        or (with :data:`DROP`) remove claims."""
        subject = str(user_id) if user_id is not None else str(uuid.uuid4())
        return self.sign(self.claims(sub=subject, roles=list(roles), **overrides))

    def admin_token(self, user_id: uuid.UUID | str | None = None, **overrides: Any) -> str:
        """An administrator's access token."""
        return self.user_token(user_id, roles=("user", "admin"), **overrides)

    def service_token(
        self,
        client_id: str = "ingestion",
        *,
        scopes: Iterable[str] = (),
        roles: Iterable[str] = (),
        **overrides: Any,
    ) -> str:
        """A service client's token (OAuth2 client credentials) holding ``scopes``."""
        return self.sign(
            self.claims(
                sub=client_id,
                token_use="service",  # noqa: S106 - a claim, not a password
                roles=list(roles),
                scope=" ".join(scopes),
                **overrides,
            )
        )
