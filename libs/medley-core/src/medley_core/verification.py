"""Verifying Medley access tokens, locally, with cached public keys.

The users service signs short-lived JWTs (EdDSA/Ed25519, ``kid`` in the header) and
publishes its public keys at ``/.well-known/jwks.json``. Everyone else verifies them here:
the algorithm is pinned (never taken from the token), ``iss``/``aud``/``exp`` are checked,
and an unknown ``kid`` triggers one (rate-limited) JWKS refresh, so key rotation needs no
restart. The users service is not on the path of every request.

The token the users service issues (the contract both sides keep):

* header ``{"alg": "EdDSA", "kid": "<key id>", "typ": "JWT"}``
* claims ``iss``, ``aud``, ``sub`` (the user id, a UUID, for user tokens; the client id for
  service tokens), ``iat``, ``exp``, ``jti``, ``roles`` (list of strings),
  ``token_use`` (``"access"`` for user tokens, ``"service"`` for client-credentials tokens)
  and, on service tokens only, ``scope`` (space-separated).

This module knows nothing of the web framework: the Litestar guards and the ``principal``
dependency that use it are in :mod:`medley_core.auth`.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, Protocol

import httpx
import jwt

from medley_core.errors import Forbidden, ServiceUnavailable, Unauthorized
from medley_core.revocation import RevocationList
from medley_core.tracing import propagation_headers

if TYPE_CHECKING:
    from medley_core.settings import ServiceSettings

ALGORITHMS: tuple[str, ...] = ("EdDSA",)
TokenKind = Literal["user", "service"]

REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub", "jti")
_TOKEN_USE_KINDS: dict[str, TokenKind] = {"access": "user", "service": "service"}
_ACCEPTED_TYP = frozenset({"jwt", "at+jwt"})
# How long a verified token's principal is reused without decoding it again, and how many
# are kept. Short: a key withdrawn from the JWKS stops being accepted within this time.
VERIFIED_CACHE_TTL_S = 30.0
VERIFIED_CACHE_SIZE = 10_000

log = logging.getLogger("medley.verification")


class InvalidToken(Unauthorized):
    """A token that is not acceptable; the detail says why (never which key would work)."""

    slug = "invalid-token"

    def __init__(self, detail: str = "the token is invalid", **kwargs: Any) -> None:
        kwargs.setdefault(
            "headers", {"WWW-Authenticate": 'Bearer realm="medley", error="invalid_token"'}
        )
        super().__init__(detail, **kwargs)


class TokenExpired(InvalidToken):
    slug = "token-expired"


class TokenRevoked(InvalidToken):
    """The token's sessions ended before it expired (account disabled or deleted, password
    changed): see :mod:`medley_core.revocation`."""

    slug = "token-revoked"


class KeysUnavailable(ServiceUnavailable):
    """No verification keys could be had at all (the JWKS endpoint never answered)."""

    slug = "verification-keys-unavailable"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user (``sub`` = user id) or a service client (``sub`` = client id)."""

    subject: str
    kind: TokenKind
    roles: frozenset[str]
    scopes: frozenset[str]
    token_id: str
    expires_at: datetime
    token: str
    issued_at: datetime

    @cached_property
    def user_id(self) -> uuid.UUID:
        """The caller's user id; only for user tokens (a service token gets a 403 problem).
        Parsed once per principal (a verified token's principal is reused while cached)."""
        if self.kind != "user":
            raise Forbidden("this operation needs a user token, not a service token")
        return uuid.UUID(self.subject)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def is_service(self) -> bool:
        return self.kind == "service"

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def __repr__(self) -> str:  # never print the token itself
        return (
            f"Principal(subject={self.subject!r}, kind={self.kind!r}, "
            f"roles={sorted(self.roles)!r}, scopes={sorted(self.scopes)!r}, "
            f"token_id={self.token_id!r})"
        )


class KeySource(Protocol):
    """Where verification keys come from."""

    async def key_for(self, kid: str) -> Any: ...


def parse_jwks(jwks: Mapping[str, Any]) -> dict[str, jwt.PyJWK]:
    """The signing keys of a JWKS document by ``kid``; keys it cannot use are skipped."""
    keys: dict[str, jwt.PyJWK] = {}
    entries = jwks.get("keys")
    if not isinstance(entries, list):
        raise ValueError("a JWKS document needs a 'keys' list")
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        kid = entry.get("kid")
        if not isinstance(kid, str) or not kid:
            log.warning("JWKS key without a kid skipped")
            continue
        if entry.get("use", "sig") != "sig":
            continue
        if "d" in entry:
            # A private key published by mistake: use nothing from it, and say so loudly.
            log.error("JWKS key %s contains private material; skipped", kid)
            continue
        try:
            keys[kid] = jwt.PyJWK(entry)
        except jwt.PyJWTError as exc:
            log.warning("JWKS key %s skipped: %s", kid, exc)
    return keys


class JwksKeySource:
    """Keys fetched from a JWKS URL, cached, refreshed on an unknown ``kid``.

    * Keys are cached for ``cache_ttl_s``; after that the next lookup refetches.
    * An unknown ``kid`` refetches at once (a key was rotated in), but at most once every
      ``min_refresh_s``, so tokens with made-up kids cannot hammer the users service.
    * Concurrent lookups share one fetch.
    * If a refetch fails, the cached keys keep being served (the endpoint being briefly
      down must not log everybody out). Only when no keys were ever fetched does a lookup
      fail with a 503 problem (:class:`KeysUnavailable`); until then a fetch is retried at
      most once a second.
    """

    def __init__(
        self,
        url: str,
        *,
        cache_ttl_s: float = 300.0,
        min_refresh_s: float = 5.0,
        timeout_s: float = 5.0,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.url = url
        self.cache_ttl_s = cache_ttl_s
        self.min_refresh_s = min_refresh_s
        self.first_fetch_retry_s = 1.0
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=timeout_s)
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._attempted_at: float | None = None  # last attempt, successful or not
        self._lock = asyncio.Lock()

    @property
    def kids(self) -> frozenset[str]:
        return frozenset(self._keys)

    def _fresh(self, now: float) -> bool:
        return self._fetched_at is not None and now - self._fetched_at < self.cache_ttl_s

    def _may_refresh(self, now: float) -> bool:
        # Until the first success (the users service still starting), retry sooner.
        interval = (
            self.min_refresh_s
            if self._fetched_at is not None
            else min(self.min_refresh_s, self.first_fetch_retry_s)
        )
        return self._attempted_at is None or now - self._attempted_at >= interval

    async def key_for(self, kid: str) -> Any:
        now = self._clock()
        if kid in self._keys and self._fresh(now):
            return self._keys[kid]
        async with self._lock:
            # Someone else may have refreshed while this lookup waited for the lock.
            now = self._clock()
            needed = kid not in self._keys or not self._fresh(now)
            if needed and self._may_refresh(now):
                await self._refresh(now)
        key = self._keys.get(kid)
        if key is not None:
            return key
        if self._fetched_at is None:
            raise KeysUnavailable("the token signing keys cannot be fetched; try again shortly")
        raise InvalidToken("the token is signed with an unknown key")

    async def refresh(self) -> None:
        """Fetch the keys now (at start-up, say), whatever the cache holds."""
        async with self._lock:
            await self._refresh(self._clock())

    async def _refresh(self, now: float) -> None:
        self._attempted_at = now
        try:
            response = await self._client.get(
                self.url, headers={"Accept": "application/json", **propagation_headers()}
            )
            response.raise_for_status()
            keys = parse_jwks(response.json())
        except (httpx.HTTPError, ValueError) as exc:
            log.warning(
                "JWKS fetch from %s failed (%s); serving %d cached keys",
                self.url,
                exc,
                len(self._keys),
            )
            return
        self._keys = keys
        self._fetched_at = now

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()


class StaticKeySource:
    """Keys from a JWKS document in memory (the users service verifies its own tokens)."""

    def __init__(self, jwks: Mapping[str, Any]):
        self._keys = parse_jwks(jwks)

    @property
    def kids(self) -> frozenset[str]:
        return frozenset(self._keys)

    async def key_for(self, kid: str) -> Any:
        key = self._keys.get(kid)
        if key is None:
            raise InvalidToken("the token is signed with an unknown key")
        return key


class TokenVerifier:
    """Checks a token's signature (pinned algorithm), issuer, audience, lifetime and shape."""

    def __init__(
        self,
        keys: KeySource,
        *,
        issuer: str,
        audience: str,
        algorithms: Sequence[str] = ALGORITHMS,
        leeway_s: float = 10.0,
        revocations: RevocationList | None = None,
        cache_ttl_s: float = VERIFIED_CACHE_TTL_S,
        cache_size: int = VERIFIED_CACHE_SIZE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not algorithms or any(alg.lower() == "none" for alg in algorithms):
            raise ValueError("pin at least one real signing algorithm")
        if any(alg.startswith("HS") for alg in algorithms):
            raise ValueError("symmetric algorithms cannot be verified with public keys")
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.algorithms = tuple(algorithms)
        self.leeway_s = leeway_s
        # Without a list (a unit test, a tool) tokens are good until they expire.
        self.revocations = revocations
        self.cache_ttl_s = cache_ttl_s
        self.cache_size = cache_size
        self._clock = clock
        # token -> (its principal, until when that verdict may be reused): see verify().
        self._verified: dict[str, tuple[Principal, float]] = {}

    async def verify(self, token: str) -> Principal:
        """The token's principal; raises ``medley_core.problems.Unauthorized`` otherwise.

        A token verified in the last ``cache_ttl_s`` seconds is not decoded and its signature
        not checked again (that is most of a request's CPU): its principal is reused until the
        token expires (with the same leeway) or the TTL ends, whichever comes first. The
        revocation check is not cached: it runs on every call.
        """
        now = self._clock()
        cached = self._verified.get(token)
        if cached is not None:
            principal, until = cached
            if now < until:
                self._check_revocation(principal)
                return principal
            del self._verified[token]
            if now >= principal.expires_at.timestamp() + self.leeway_s:
                raise TokenExpired("the token has expired")
        principal = await self._decode(token)
        self._check_revocation(principal)
        if self.cache_ttl_s > 0:
            self._remember(token, principal, now)
        return principal

    def _check_revocation(self, principal: Principal) -> None:
        if (
            principal.kind == "user"
            and self.revocations is not None
            and self.revocations.is_revoked(principal.subject, principal.issued_at)
        ):
            raise TokenRevoked("the token's session has ended; log in again")

    def _remember(self, token: str, principal: Principal, now: float) -> None:
        expires = principal.expires_at.timestamp() + self.leeway_s
        if len(self._verified) >= self.cache_size:
            # Oldest first (dicts keep insertion order): bounded whatever the callers send.
            for stale in list(self._verified)[: max(1, self.cache_size // 10)]:
                del self._verified[stale]
        self._verified[token] = (principal, min(expires, now + self.cache_ttl_s))

    async def _decode(self, token: str) -> Principal:
        """Every check but revocation, from the token's bytes."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("the token is not a well-formed JWT") from None
        alg = header.get("alg")
        # Checked before any key is looked up: "none", HS256-with-the-public-key and every
        # other algorithm than the pinned ones are refused here, whatever the key.
        if alg not in self.algorithms:
            raise InvalidToken("the token's signing algorithm is not accepted")
        typ = header.get("typ")
        if typ is not None and (not isinstance(typ, str) or typ.lower() not in _ACCEPTED_TYP):
            raise InvalidToken("the token is not an access token")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("the token names no signing key")
        key = await self.keys.key_for(kid)
        if isinstance(key, jwt.PyJWK) and key.algorithm_name != alg:
            raise InvalidToken("the token's signing algorithm does not match its key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=list(self.algorithms),
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.ExpiredSignatureError:
            raise TokenExpired("the token has expired") from None
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidToken(f"the token lacks the {exc.claim!r} claim") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("the token is not meant for this audience") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("the token is from an unknown issuer") from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken("the token is not valid yet") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("the token's signature is invalid") from None
        except jwt.PyJWTError:
            raise InvalidToken("the token is invalid") from None
        return _principal(claims, token)

    async def aclose(self) -> None:
        close = getattr(self.keys, "aclose", None)
        if close is not None:
            await close()


def _principal(claims: Mapping[str, Any], token: str) -> Principal:
    kind = _TOKEN_USE_KINDS.get(claims.get("token_use"))  # type: ignore[arg-type]
    if kind is None:
        raise InvalidToken("the token is not an access or service token")
    subject, jti, exp = claims["sub"], claims["jti"], claims["exp"]
    if not isinstance(subject, str) or not subject:
        raise InvalidToken("the token's subject is malformed")
    if kind == "user":
        try:
            uuid.UUID(subject)
        except ValueError:
            raise InvalidToken("the token's subject is not a user id") from None
    if not isinstance(jti, str) or not jti:
        raise InvalidToken("the token's id is malformed")
    roles = claims.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise InvalidToken("the token's roles are malformed")
    iat = claims["iat"]
    if not isinstance(iat, int | float):
        raise InvalidToken("the token's issue time is malformed")
    scope = claims.get("scope", "")
    if not isinstance(scope, str):
        raise InvalidToken("the token's scope is malformed")
    return Principal(
        subject=subject,
        kind=kind,
        roles=frozenset(roles),
        scopes=frozenset(scope.split()),
        token_id=jti,
        expires_at=datetime.fromtimestamp(exp, UTC),
        token=token,
        issued_at=datetime.fromtimestamp(iat, UTC),
    )


def default_jwks_url(settings: ServiceSettings) -> str:
    """``MEDLEY_JWKS_URL`` if set, else the users service's well-known JWKS document."""
    return settings.jwks_url or f"{settings.users_url.rstrip('/')}/.well-known/jwks.json"


def follow_revocations(verifier: TokenVerifier, settings: ServiceSettings) -> RevocationList:
    """The revocation list ``verifier`` checks, giving it one sized by the settings if it has
    none (a verifier built for a test, say), so every app's verifier refuses revoked tokens."""
    if verifier.revocations is None:
        verifier.revocations = RevocationList(keep_s=settings.revocation_lookback_s)
    return verifier.revocations


def verifier_from_settings(
    settings: ServiceSettings, revocations: RevocationList | None = None
) -> TokenVerifier:
    """A verifier over the users service's JWKS, as the settings describe it."""
    return TokenVerifier(
        JwksKeySource(default_jwks_url(settings)),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        revocations=revocations,
    )
