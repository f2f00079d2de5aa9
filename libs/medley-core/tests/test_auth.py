"""Token verification: every way a token must be refused, key rotation, and the guards."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import OKPAlgorithm
from litestar import Litestar, get
from litestar.di import NamedDependency, Provide
from litestar.testing import AsyncTestClient

from medley_core.auth import (
    VERIFIER_STATE_KEY,
    provide_principal,
    require_roles,
    require_service,
    require_user,
)
from medley_core.errors import Forbidden, Unauthorized
from medley_core.problems import exception_handlers
from medley_core.revocation import RevocationList
from medley_core.testing.tokens import (
    AUDIENCE,
    DROP,
    ISSUER,
    TokenMint,
    bearer,
    jwks,
)
from medley_core.testing.tokens import access_claims as claims
from medley_core.verification import (
    InvalidToken,
    JwksKeySource,
    KeysUnavailable,
    Principal,
    StaticKeySource,
    TokenExpired,
    TokenRevoked,
    TokenVerifier,
)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict[str, Any], payload: dict[str, Any], sign: Callable[[bytes], bytes]) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    return f"{signing_input}.{b64(sign(signing_input.encode()))}"


@pytest.fixture
def key() -> TokenMint:
    return TokenMint("k1")


@pytest.fixture
def verifier(key: TokenMint) -> TokenVerifier:
    return TokenVerifier(StaticKeySource(jwks(key)), issuer=ISSUER, audience=AUDIENCE)


# -- what is accepted ------------------------------------------------------------------------


async def test_user_token_gives_its_principal(key: TokenMint, verifier: TokenVerifier) -> None:
    payload = claims(roles=["user", "admin"])
    token = key.sign(payload)
    principal = await verifier.verify(token)
    assert principal.kind == "user"
    assert principal.subject == payload["sub"]
    assert principal.user_id == uuid.UUID(payload["sub"])
    assert principal.roles == {"user", "admin"}
    assert principal.is_admin
    assert principal.scopes == frozenset()
    assert principal.token_id == payload["jti"]
    assert int(principal.expires_at.timestamp()) == payload["exp"]
    assert principal.token == token
    assert token not in repr(principal)


async def test_service_token_gives_a_service_principal(
    key: TokenMint, verifier: TokenVerifier
) -> None:
    token = key.sign(
        claims(sub="catalog", token_use="service", roles=[], scope="users:read events:replay"),
    )
    principal = await verifier.verify(token)
    assert principal.kind == "service"
    assert principal.is_service
    assert principal.subject == "catalog"
    assert principal.scopes == {"users:read", "events:replay"}
    assert principal.has_scope("users:read")
    with pytest.raises(Forbidden):
        _ = principal.user_id


async def test_small_clock_skew_is_tolerated(key: TokenMint, verifier: TokenVerifier) -> None:
    now = int(time.time())
    await verifier.verify(key.sign(claims(iat=now - 600, exp=now - 5)))


# -- what is refused ------------------------------------------------------------------------


async def test_alg_none_is_refused(key: TokenMint, verifier: TokenVerifier) -> None:
    for alg in ("none", "None", "NONE"):
        token = forge({"alg": alg, "kid": key.kid, "typ": "JWT"}, claims(), lambda _: b"")
        with pytest.raises(InvalidToken, match="algorithm"):
            await verifier.verify(token)
        with pytest.raises(InvalidToken):
            await verifier.verify(token.rstrip("."))


@pytest.mark.parametrize("encoding", ["raw", "pem", "jwk-x"])
async def test_hs256_signed_with_the_public_key_is_refused(
    key: TokenMint, verifier: TokenVerifier, encoding: str
) -> None:
    """The classic confusion attack: HMAC keyed with the (public) verification key."""
    secret = {
        "raw": key.public_raw,
        "pem": key.public_pem,
        "jwk-x": key.jwk["x"].encode(),
    }[encoding]
    token = forge(
        {"alg": "HS256", "kid": key.kid, "typ": "JWT"},
        claims(roles=["user", "admin"]),
        lambda data: hmac.new(secret, data, hashlib.sha256).digest(),
    )
    with pytest.raises(InvalidToken, match="algorithm"):
        await verifier.verify(token)


async def test_other_asymmetric_algorithm_is_refused(verifier: TokenVerifier) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode(claims(), ec_key, algorithm="ES256", headers={"kid": "k1"})
    with pytest.raises(InvalidToken, match="algorithm"):
        await verifier.verify(token)


async def test_pinned_algorithm_must_match_the_keys(key: TokenMint) -> None:
    """A JWKS key of another type than the pinned algorithm never verifies anything."""
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_jwk = {**jwt.algorithms.ECAlgorithm.to_jwk(ec_key.public_key(), as_dict=True)}
    ec_jwk.update(kid="ec1", alg="ES256")
    verifier = TokenVerifier(
        StaticKeySource({"keys": [ec_jwk, key.jwk]}), issuer=ISSUER, audience=AUDIENCE
    )
    token = forge({"alg": "EdDSA", "kid": "ec1"}, claims(), lambda _: b"x" * 64)
    with pytest.raises(InvalidToken, match="algorithm"):
        await verifier.verify(token)


def test_verifier_refuses_to_pin_none_or_symmetric_algorithms(key: TokenMint) -> None:
    source = StaticKeySource(jwks(key))
    for algorithms in ((), ("none",), ("EdDSA", "HS256")):
        with pytest.raises(ValueError, match="algorithm"):
            TokenVerifier(source, issuer=ISSUER, audience=AUDIENCE, algorithms=algorithms)


async def test_unknown_kid_is_refused(verifier: TokenVerifier) -> None:
    stranger = TokenMint("k-unknown")
    with pytest.raises(InvalidToken, match="unknown key"):
        await verifier.verify(stranger.sign())


async def test_missing_kid_is_refused(key: TokenMint, verifier: TokenVerifier) -> None:
    token = key.sign(kid=DROP)
    with pytest.raises(InvalidToken, match="key"):
        await verifier.verify(token)


async def test_signature_by_another_key_with_the_same_kid_is_refused(
    verifier: TokenVerifier,
) -> None:
    impostor = TokenMint("k1")
    with pytest.raises(InvalidToken, match="signature"):
        await verifier.verify(impostor.sign())


async def test_tampered_payload_is_refused(key: TokenMint, verifier: TokenVerifier) -> None:
    header, _, signature = key.sign().split(".")
    escalated = b64(json.dumps(claims(roles=["user", "admin"])).encode())
    with pytest.raises(InvalidToken, match="signature"):
        await verifier.verify(f"{header}.{escalated}.{signature}")


async def test_expired_token_is_refused(key: TokenMint, verifier: TokenVerifier) -> None:
    now = int(time.time())
    with pytest.raises(TokenExpired) as caught:
        await verifier.verify(key.sign(claims(iat=now - 3600, exp=now - 60)))
    assert caught.value.status == 401


async def test_token_from_the_future_is_refused(key: TokenMint, verifier: TokenVerifier) -> None:
    now = int(time.time())
    with pytest.raises(InvalidToken, match="not valid yet"):
        await verifier.verify(key.sign(claims(iat=now + 3600, exp=now + 7200)))


async def test_wrong_audience_is_refused(key: TokenMint, verifier: TokenVerifier) -> None:
    for aud in ("someone-else", ["someone-else", "other"]):
        with pytest.raises(InvalidToken, match="audience"):
            await verifier.verify(key.sign(claims(aud=aud)))


async def test_audience_list_including_ours_is_accepted(
    key: TokenMint, verifier: TokenVerifier
) -> None:
    await verifier.verify(key.sign(claims(aud=["other", AUDIENCE])))


async def test_wrong_issuer_is_refused(key: TokenMint, verifier: TokenVerifier) -> None:
    with pytest.raises(InvalidToken, match="issuer"):
        await verifier.verify(key.sign(claims(iss="https://evil.example")))


@pytest.mark.parametrize("claim", ["exp", "iat", "iss", "aud", "sub", "jti"])
async def test_missing_claim_is_refused(
    key: TokenMint, verifier: TokenVerifier, claim: str
) -> None:
    with pytest.raises(InvalidToken, match=claim):
        await verifier.verify(key.sign(claims(**{claim: DROP})))


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"token_use": DROP}, "access or service"),
        ({"token_use": "refresh"}, "access or service"),
        ({"token_use": "id"}, "access or service"),
        ({"sub": "not-a-uuid"}, "user id"),
        ({"sub": ""}, "subject"),
        ({"roles": "admin"}, "roles"),
        ({"roles": ["user", 1]}, "roles"),
        ({"token_use": "service", "scope": ["a", "b"]}, "scope"),
        ({"jti": 12}, "id"),
    ],
)
async def test_malformed_claims_are_refused(
    key: TokenMint, verifier: TokenVerifier, overrides: dict[str, Any], reason: str
) -> None:
    with pytest.raises(InvalidToken, match=reason):
        await verifier.verify(key.sign(claims(**overrides)))


async def test_wrong_typ_is_refused(key: TokenMint, verifier: TokenVerifier) -> None:
    with pytest.raises(InvalidToken, match="access token"):
        await verifier.verify(key.sign(typ="refresh+jwt"))


@pytest.mark.parametrize("token", ["", "abc", "a.b", "a.b.c", "....", "é.é.é"])
async def test_garbage_is_refused(verifier: TokenVerifier, token: str) -> None:
    with pytest.raises(InvalidToken):
        await verifier.verify(token)


def test_refusals_are_401_problems_with_www_authenticate() -> None:
    problem = InvalidToken("nope")
    assert isinstance(problem, Unauthorized)
    assert problem.status == 401
    assert "Bearer" in problem.headers["WWW-Authenticate"]
    assert 'error="invalid_token"' in problem.headers["WWW-Authenticate"]


def test_jwks_with_private_material_is_not_used(key: TokenMint) -> None:
    private_jwk = json.loads(OKPAlgorithm.to_jwk(key.private))
    source = StaticKeySource({"keys": [{**private_jwk, "kid": "leaked"}, key.jwk]})
    assert source.kids == {"k1"}


# -- the JWKS source: cache, rotation, outages ------------------------------------------------


class FakeJwksEndpoint:
    """A JWKS endpoint behind httpx.MockTransport, with a switch to take it down."""

    def __init__(self, *keys: TokenMint) -> None:
        self.keys = list(keys)
        self.fetches = 0
        self.down = False

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.fetches += 1
        if self.down:
            return httpx.Response(503, json={"status": 503})
        return httpx.Response(200, json=jwks(*self.keys))

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handler))


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def jwks_source(
    endpoint: FakeJwksEndpoint, clock: FakeClock, *, ttl: float = 300.0, min_refresh: float = 5.0
) -> JwksKeySource:
    return JwksKeySource(
        "http://users.test/.well-known/jwks.json",
        cache_ttl_s=ttl,
        min_refresh_s=min_refresh,
        client=endpoint.client(),
        clock=clock,
    )


async def test_jwks_keys_are_fetched_once_and_cached(key: TokenMint) -> None:
    endpoint, clock = FakeJwksEndpoint(key), FakeClock()
    verifier = TokenVerifier(jwks_source(endpoint, clock), issuer=ISSUER, audience=AUDIENCE)
    for _ in range(5):
        await verifier.verify(key.sign())
    assert endpoint.fetches == 1


async def test_rotated_key_is_picked_up_on_unknown_kid(key: TokenMint) -> None:
    endpoint, clock = FakeJwksEndpoint(key), FakeClock()
    verifier = TokenVerifier(jwks_source(endpoint, clock), issuer=ISSUER, audience=AUDIENCE)
    await verifier.verify(key.sign())

    rotated = TokenMint("k2")
    endpoint.keys = [rotated, key]  # the users service publishes the new key first
    clock.now += 10
    principal = await verifier.verify(rotated.sign())
    assert principal.kind == "user"
    assert endpoint.fetches == 2
    await verifier.verify(key.sign())  # the old key still verifies until it is withdrawn
    assert endpoint.fetches == 2


async def test_unknown_kids_refresh_at_most_once_per_interval(key: TokenMint) -> None:
    endpoint, clock = FakeJwksEndpoint(key), FakeClock()
    verifier = TokenVerifier(
        jwks_source(endpoint, clock, min_refresh=5.0), issuer=ISSUER, audience=AUDIENCE
    )
    await verifier.verify(key.sign())
    clock.now += 5
    for i in range(10):
        with pytest.raises(InvalidToken, match="unknown key"):
            await verifier.verify(TokenMint(f"made-up-{i}").sign())
    assert endpoint.fetches == 2  # the first made-up kid refreshed; the others waited

    late = TokenMint("k3")
    endpoint.keys = [late, key]
    with pytest.raises(InvalidToken, match="unknown key"):
        await verifier.verify(late.sign())  # still inside the interval
    clock.now += 5
    await verifier.verify(late.sign())
    assert endpoint.fetches == 3


async def test_cached_keys_are_served_while_the_endpoint_is_down(key: TokenMint) -> None:
    endpoint, clock = FakeJwksEndpoint(key), FakeClock()
    verifier = TokenVerifier(
        jwks_source(endpoint, clock, ttl=60.0), issuer=ISSUER, audience=AUDIENCE
    )
    await verifier.verify(key.sign())
    endpoint.down = True
    clock.now += 3600  # well past the TTL
    await verifier.verify(key.sign())
    await verifier.verify(key.sign())
    assert endpoint.fetches == 2  # one failed refresh, then the interval holds it back

    endpoint.down = False
    clock.now += 10
    await verifier.verify(key.sign())
    assert endpoint.fetches == 3


async def test_withdrawn_key_stops_verifying_after_the_ttl(key: TokenMint) -> None:
    endpoint, clock = FakeJwksEndpoint(key), FakeClock()
    verifier = TokenVerifier(
        jwks_source(endpoint, clock, ttl=60.0), issuer=ISSUER, audience=AUDIENCE
    )
    await verifier.verify(key.sign())
    endpoint.keys = [TokenMint("k9")]
    clock.now += 61
    with pytest.raises(InvalidToken, match="unknown key"):
        await verifier.verify(key.sign())


async def test_no_keys_ever_fetched_is_a_503_until_the_endpoint_answers(
    key: TokenMint,
) -> None:
    endpoint, clock = FakeJwksEndpoint(key), FakeClock()
    endpoint.down = True
    verifier = TokenVerifier(
        jwks_source(endpoint, clock, min_refresh=30), issuer=ISSUER, audience=AUDIENCE
    )
    with pytest.raises(KeysUnavailable) as caught:
        await verifier.verify(key.sign())
    assert caught.value.status == 503
    with pytest.raises(KeysUnavailable):
        await verifier.verify(key.sign())
    assert endpoint.fetches == 1  # not on every request...

    endpoint.down = False  # ...but the users service finished starting
    clock.now += 1
    await verifier.verify(key.sign())
    assert endpoint.fetches == 2


async def test_garbage_jwks_document_keeps_the_cache(key: TokenMint) -> None:
    clock = FakeClock()
    responses = iter([httpx.Response(200, json=jwks(key)), httpx.Response(200, text="<html>")])
    source = JwksKeySource(
        "http://users.test/jwks",
        cache_ttl_s=1,
        client=httpx.AsyncClient(transport=httpx.MockTransport(lambda _: next(responses))),
        clock=clock,
    )
    assert await source.key_for("k1") is not None
    clock.now += 10
    assert await source.key_for("k1") is not None
    await source.aclose()


# -- Litestar: the dependency and the guards ----------------------------------------------------


class CountingVerifier(TokenVerifier):
    calls = 0

    async def verify(self, token: str) -> Principal:
        type(self).calls += 1
        return await super().verify(token)


def guarded_app(verifier: TokenVerifier) -> Litestar:
    @get("/me", guards=[require_roles()], sync_to_thread=False)
    def me(principal: NamedDependency[Principal]) -> dict[str, Any]:
        return {"sub": principal.subject, "kind": principal.kind}

    @get("/open", sync_to_thread=False)
    def open_route(principal: NamedDependency[Principal]) -> dict[str, str]:
        return {"sub": principal.subject}

    @get("/admin", guards=[require_roles("admin")], sync_to_thread=False)
    def admin() -> dict[str, bool]:
        return {"ok": True}

    @get("/users-only", guards=[require_user()], sync_to_thread=False)
    def users_only() -> dict[str, bool]:
        return {"ok": True}

    @get("/internal", guards=[require_service()], sync_to_thread=False)
    def internal() -> dict[str, bool]:
        return {"ok": True}

    @get("/internal/replay", guards=[require_service("events:replay")], sync_to_thread=False)
    def replay() -> dict[str, bool]:
        return {"ok": True}

    app = Litestar(
        route_handlers=[me, open_route, admin, users_only, internal, replay],
        dependencies={"principal": Provide(provide_principal)},
        exception_handlers=exception_handlers(),
    )
    app.state[VERIFIER_STATE_KEY] = verifier
    return app


async def test_guards_and_principal_dependency(key: TokenMint) -> None:
    CountingVerifier.calls = 0
    verifier = CountingVerifier(StaticKeySource(jwks(key)), issuer=ISSUER, audience=AUDIENCE)
    user = key.sign()
    admin = key.sign(claims(roles=["user", "admin"]))
    service = key.sign(claims(sub="catalog", token_use="service", roles=[], scope="a b"))
    replayer = key.sign(claims(sub="ops", token_use="service", roles=[], scope="events:replay"))

    async with AsyncTestClient(app=guarded_app(verifier)) as client:
        response = await client.get("/me")
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["status"] == 401

        for header in ("Basic dXNlcjpwYXNz", "Bearer", "Bearer  ", "Token abc", user):
            response = await client.get("/me", headers={"Authorization": header})
            assert response.status_code == 401, header

        response = await client.get("/me", headers=bearer("not-a-token"))
        assert response.status_code == 401
        assert response.json()["type"].endswith("/invalid-token")

        CountingVerifier.calls = 0
        response = await client.get("/me", headers=bearer(user))
        assert response.status_code == 200
        assert response.json()["kind"] == "user"
        assert CountingVerifier.calls == 1  # the guard's principal was reused

        response = await client.get("/me", headers={"Authorization": f"bearer {user}"})
        assert response.status_code == 200

        assert (await client.get("/open")).status_code == 401
        assert (await client.get("/open", headers=bearer(user))).status_code == 200

        assert (await client.get("/admin")).status_code == 401
        response = await client.get("/admin", headers=bearer(user))
        assert response.status_code == 403
        assert response.json()["type"].endswith("/forbidden")
        assert (await client.get("/admin", headers=bearer(admin))).status_code == 200

        assert (await client.get("/users-only", headers=bearer(user))).status_code == 200
        assert (await client.get("/users-only", headers=bearer(service))).status_code == 403

        assert (await client.get("/internal")).status_code == 401
        assert (await client.get("/internal", headers=bearer(user))).status_code == 403
        assert (await client.get("/internal", headers=bearer(admin))).status_code == 403
        assert (await client.get("/internal", headers=bearer(service))).status_code == 200
        assert (await client.get("/internal/replay", headers=bearer(service))).status_code == 403
        assert (await client.get("/internal/replay", headers=bearer(replayer))).status_code == 200

        now = int(time.time())
        expired = key.sign(claims(iat=now - 3600, exp=now - 600))
        response = await client.get("/me", headers=bearer(expired))
        assert response.status_code == 401
        assert response.json()["type"].endswith("/token-expired")


# -- revocation ------------------------------------------------------------------------------


async def test_the_verifier_refuses_a_revoked_users_tokens_only(key: TokenMint) -> None:
    revocations = RevocationList(keep_s=3600)
    verifier = TokenVerifier(
        StaticKeySource(jwks(key)), issuer=ISSUER, audience=AUDIENCE, revocations=revocations
    )
    revoked, kept = claims(), claims()
    revocations.revoke(revoked["sub"], datetime.now(UTC) + timedelta(seconds=1))
    with pytest.raises(TokenRevoked) as refused:
        await verifier.verify(key.sign(revoked))
    assert refused.value.status == 401
    assert refused.value.type_uri.endswith("/token-revoked")
    assert (await verifier.verify(key.sign(kept))).subject == kept["sub"]
    # A service token's subject is a client id: revocations are about users only.
    service = claims(sub="catalog", token_use="service", roles=["service"])
    revocations.revoke("catalog", datetime.now(UTC) + timedelta(seconds=1))
    assert (await verifier.verify(key.sign(service))).kind == "service"


# -- verified tokens reused ------------------------------------------------------------------


class Clock:
    """A wall clock a test moves by hand."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def test_a_verified_token_is_not_decoded_again_within_the_ttl(
    key: TokenMint, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    verifier = TokenVerifier(
        StaticKeySource(jwks(key)), issuer=ISSUER, audience=AUDIENCE, cache_ttl_s=30, clock=clock
    )
    token = key.sign(claims())
    first = await verifier.verify(token)
    decodes = 0
    real_decode = jwt.decode

    def counting_decode(*args: Any, **kwargs: Any) -> Any:
        nonlocal decodes
        decodes += 1
        return real_decode(*args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting_decode)
    assert await verifier.verify(token) is first
    assert decodes == 0
    clock.now += 31  # past the TTL: checked in full again
    assert (await verifier.verify(token)).subject == first.subject
    assert decodes == 1


async def test_a_cached_token_is_still_refused_once_revoked(key: TokenMint) -> None:
    revocations = RevocationList(keep_s=3600)
    verifier = TokenVerifier(
        StaticKeySource(jwks(key)), issuer=ISSUER, audience=AUDIENCE, revocations=revocations
    )
    payload = claims()
    token = key.sign(payload)
    assert (await verifier.verify(token)).subject == payload["sub"]
    revocations.revoke(payload["sub"], datetime.now(UTC) + timedelta(seconds=1))
    with pytest.raises(TokenRevoked):
        await verifier.verify(token)


async def test_a_verified_token_is_reused_no_longer_than_it_lives(key: TokenMint) -> None:
    clock = Clock()
    verifier = TokenVerifier(
        StaticKeySource(jwks(key)),
        issuer=ISSUER,
        audience=AUDIENCE,
        cache_ttl_s=3600,
        leeway_s=2,
        clock=clock,
    )
    now = int(time.time())
    token = key.sign(claims(iat=now, exp=now + 5))
    await verifier.verify(token)
    # Past exp + leeway the cached verdict is dropped and the token checked in full again.
    assert verifier._verified[token][1] == now + 5 + 2
    clock.now = now + 8
    with pytest.raises(TokenExpired):
        await verifier.verify(token)


async def test_the_cache_of_verified_tokens_is_bounded(key: TokenMint) -> None:
    verifier = TokenVerifier(
        StaticKeySource(jwks(key)), issuer=ISSUER, audience=AUDIENCE, cache_size=10
    )
    for _ in range(25):
        await verifier.verify(key.sign(claims()))
    assert len(verifier._verified) <= 10
