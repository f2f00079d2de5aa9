"""Token rules (no database): access/service claims, keys and JWKS, verification with the
shared verifier, and the refresh-token verdicts (rotation, reuse, expiry, disabled)."""

from __future__ import annotations

import stat
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from medley_core.verification import InvalidToken, StaticKeySource, TokenExpired, TokenVerifier
from medley_users.settings import UsersSettings
from medley_users.tokens import (
    DEV_KEY_FILE,
    KeyRing,
    RefreshState,
    RefreshVerdict,
    SigningKey,
    TokenIssuer,
    access_claims,
    judge_refresh,
    load_key_ring,
    new_refresh_token,
    service_claims,
    token_hash,
)

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
USER_ID = uuid.UUID("01938f2e-7c2a-7000-8000-000000000001")


def settings(tmp_path: Path, **overrides: object) -> UsersSettings:
    return UsersSettings(data_dir=tmp_path, **overrides)  # type: ignore[arg-type]


def verifier(ring: KeyRing) -> TokenVerifier:
    return TokenVerifier(StaticKeySource(ring.jwks()), issuer="medley-users", audience="medley")


# --- claims -------------------------------------------------------------------------------


def test_access_claims_are_exactly_the_contract() -> None:
    claims = access_claims(
        user_id=USER_ID,
        roles=["user", "admin", "user"],
        issuer="iss",
        audience="aud",
        now=NOW,
        ttl_s=900,
        jti="j-1",
    )
    assert claims == {
        "iss": "iss",
        "aud": "aud",
        "sub": str(USER_ID),
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 900,
        "jti": "j-1",
        "roles": ["admin", "user"],
        "token_use": "access",
    }


def test_service_claims_carry_the_client_and_its_scopes() -> None:
    claims = service_claims(
        client_id="gateway",
        scopes=["a", "b"],
        issuer="iss",
        audience="aud",
        now=NOW,
        ttl_s=600,
    )
    assert set(claims) == {"iss", "aud", "sub", "iat", "exp", "jti", "roles", "token_use", "scope"}
    assert claims["sub"] == "gateway"
    assert claims["token_use"] == "service"
    assert claims["roles"] == ["service"]
    assert claims["scope"] == "a b"
    assert claims["exp"] - claims["iat"] == 600


def test_every_token_gets_its_own_id() -> None:
    ids = {
        access_claims(user_id=USER_ID, roles=["user"], issuer="i", audience="a", now=NOW, ttl_s=60)[
            "jti"
        ]
        for _ in range(50)
    }
    assert len(ids) == 50


# --- keys ---------------------------------------------------------------------------------


def test_jwks_publishes_public_okp_keys_only() -> None:
    ring = KeyRing([SigningKey.generate(), SigningKey.generate()])
    document = ring.jwks()
    assert len(document["keys"]) == 2
    for entry in document["keys"]:
        assert set(entry) == {"kty", "crv", "x", "kid", "alg", "use"}
        assert (entry["kty"], entry["crv"], entry["alg"], entry["use"]) == (
            "OKP",
            "Ed25519",
            "EdDSA",
            "sig",
        )
    assert document["keys"][0]["kid"] == ring.current.kid


def test_the_kid_follows_from_the_key() -> None:
    key = SigningKey.generate()
    assert SigningKey.from_pem(key.private_pem()).kid == key.kid
    assert SigningKey.generate().kid != key.kid


def test_a_non_ed25519_key_is_refused() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(ValueError, match="Ed25519"):
        SigningKey.from_pem(pem)


def test_tokens_carry_the_kid_and_verify_with_the_shared_verifier(tmp_path: Path) -> None:
    ring = KeyRing([SigningKey.generate()])
    issued = TokenIssuer(ring, settings(tmp_path)).access_token(
        _user(["user"]), now=datetime.now(UTC)
    )
    header = jwt.get_unverified_header(issued.token)
    assert header["alg"] == "EdDSA"
    assert header["kid"] == ring.current.kid
    assert issued.expires_in == 900


async def test_a_user_token_verifies_as_a_user(tmp_path: Path) -> None:
    ring = KeyRing([SigningKey.generate()])
    issued = TokenIssuer(ring, settings(tmp_path)).access_token(_user(["user", "admin"]))
    principal = await verifier(ring).verify(issued.token)
    assert principal.kind == "user"
    assert principal.user_id == USER_ID
    assert principal.roles == {"user", "admin"}


async def test_a_service_token_verifies_as_a_service(tmp_path: Path) -> None:
    ring = KeyRing([SigningKey.generate()])
    issued = TokenIssuer(ring, settings(tmp_path)).service_token("gateway", ["x:read"])
    principal = await verifier(ring).verify(issued.token)
    assert principal.kind == "service"
    assert principal.subject == "gateway"
    assert principal.scopes == {"x:read"}


async def test_an_expired_access_token_is_refused(tmp_path: Path) -> None:
    ring = KeyRing([SigningKey.generate()])
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    issued = TokenIssuer(ring, settings(tmp_path)).access_token(_user(["user"]), now=long_ago)
    with pytest.raises(TokenExpired):
        await verifier(ring).verify(issued.token)


async def test_rotation_keeps_tokens_of_the_retired_key_valid(tmp_path: Path) -> None:
    old, new = SigningKey.generate(), SigningKey.generate()
    before = TokenIssuer(KeyRing([old]), settings(tmp_path)).access_token(_user(["user"]))
    rotated = KeyRing([new, old])
    after = TokenIssuer(rotated, settings(tmp_path)).access_token(_user(["user"]))
    assert jwt.get_unverified_header(after.token)["kid"] == new.kid
    assert (await verifier(rotated).verify(before.token)).user_id == USER_ID
    # Once the old key is dropped, its tokens are refused.
    with pytest.raises(InvalidToken):
        await verifier(KeyRing([new])).verify(before.token)


def test_keys_come_from_the_settings_first_key_signing(tmp_path: Path) -> None:
    first, second = SigningKey.generate(), SigningKey.generate()
    ring = load_key_ring(
        settings(
            tmp_path,
            signing_keys=[first.private_pem().decode(), second.private_pem().decode()],
        )
    )
    assert [k.kid for k in ring.keys] == [first.kid, second.kid]
    assert not (tmp_path / "users" / DEV_KEY_FILE).exists()


def test_the_dev_key_is_generated_private_and_reused(tmp_path: Path) -> None:
    first = load_key_ring(settings(tmp_path))
    path = tmp_path / "users" / DEV_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key_ring(settings(tmp_path)).current.kid == first.current.kid


def test_without_keys_and_without_dev_keys_start_up_fails(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="no signing key"):
        load_key_ring(settings(tmp_path, generate_dev_keys=False))


# --- refresh tokens -----------------------------------------------------------------------


def _user(roles: list[str]) -> object:
    from medley_users.models import User

    return User(id=USER_ID, username="ada", email="ada@example.com", roles=roles)


def state(**changes: object) -> RefreshState:
    base: dict[str, object] = {
        "token_id": uuid.uuid4(),
        "family_id": uuid.uuid4(),
        "user_id": USER_ID,
        "expires_at": NOW + timedelta(days=1),
        "used_at": None,
        "family_revoked_at": None,
        "user_disabled": False,
    }
    return RefreshState(**{**base, **changes})  # type: ignore[arg-type]


def test_a_fresh_token_rotates() -> None:
    verdict = judge_refresh(state(), NOW)
    assert verdict is RefreshVerdict.ROTATE
    assert not verdict.revokes_family


def test_an_unknown_token_is_refused() -> None:
    assert judge_refresh(None, NOW) is RefreshVerdict.UNKNOWN


def test_a_rotated_token_presented_again_is_reuse_and_revokes_the_family() -> None:
    verdict = judge_refresh(state(used_at=NOW - timedelta(minutes=1)), NOW)
    assert verdict is RefreshVerdict.REUSED
    assert verdict.revokes_family


def test_reuse_is_reuse_even_after_the_token_expired() -> None:
    used_and_expired = state(used_at=NOW - timedelta(days=2), expires_at=NOW - timedelta(days=1))
    assert judge_refresh(used_and_expired, NOW) is RefreshVerdict.REUSED


def test_a_token_of_a_revoked_family_stays_refused() -> None:
    revoked = state(family_revoked_at=NOW - timedelta(minutes=5), used_at=NOW)
    verdict = judge_refresh(revoked, NOW)
    assert verdict is RefreshVerdict.REVOKED
    assert not verdict.revokes_family  # nothing left to revoke


def test_an_expired_token_is_refused() -> None:
    assert judge_refresh(state(expires_at=NOW), NOW) is RefreshVerdict.EXPIRED
    assert judge_refresh(state(expires_at=NOW - timedelta(seconds=1)), NOW) is (
        RefreshVerdict.EXPIRED
    )


def test_a_disabled_user_gets_no_new_tokens_and_loses_the_session() -> None:
    verdict = judge_refresh(state(user_disabled=True), NOW)
    assert verdict is RefreshVerdict.DISABLED
    assert verdict.revokes_family


def test_refresh_tokens_are_random_and_stored_as_sha256() -> None:
    tokens = {new_refresh_token() for _ in range(100)}
    assert len(tokens) == 100
    token = tokens.pop()
    assert len(token) >= 43
    assert len(token_hash(token)) == 32
    assert token_hash(token) == token_hash(token)
    assert token.encode() not in token_hash(token)
