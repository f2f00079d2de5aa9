"""The test helper that mints tokens: what it mints is what the users service issues (the
shared verifier accepts each kind as what it is), claims can be changed or dropped for the
negative tests, and no production code imports it."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from medley_core.registry import CATALOG_RESOLVE
from medley_core.testing.tokens import DROP, TokenMint, bearer
from medley_core.verification import InvalidToken, TokenExpired

ROOT = Path(__file__).resolve().parents[3]


async def test_each_kind_of_token_verifies_as_what_it_is() -> None:
    mint = TokenMint()
    verifier = mint.verifier()
    user_id = uuid.uuid4()
    user = await verifier.verify(mint.user_token(user_id))
    assert (user.kind, user.user_id, user.roles, user.is_admin) == (
        "user",
        user_id,
        {"user"},
        False,
    )
    admin = await verifier.verify(mint.admin_token())
    assert admin.is_admin
    service = await verifier.verify(mint.service_token("ingestion", scopes=[CATALOG_RESOLVE]))
    assert (service.kind, service.subject, service.scopes) == (
        "service",
        "ingestion",
        {CATALOG_RESOLVE},
    )
    assert bearer("t") == {"Authorization": "Bearer t"}


async def test_claims_can_be_changed_or_dropped_for_the_negative_tests() -> None:
    mint = TokenMint()
    verifier = mint.verifier()
    with pytest.raises(TokenExpired):
        await verifier.verify(mint.user_token(iat=1, exp=2))
    with pytest.raises(InvalidToken):
        await verifier.verify(mint.user_token(exp=DROP))
    with pytest.raises(InvalidToken, match="key"):
        await verifier.verify(mint.sign(kid=DROP))
    with pytest.raises(InvalidToken, match="signature"):
        await verifier.verify(TokenMint(mint.kid).user_token())  # another key, same kid


def test_no_production_code_imports_the_helper() -> None:
    sources = [
        path
        for pattern in ("libs/*/src/**/*.py", "services/*/src/**/*.py", "gateway/src/**/*.py")
        for path in ROOT.glob(pattern)
        if "medley_core/testing" not in path.as_posix()
    ]
    assert len(sources) > 50  # the tree was found
    importing = [p for p in sources if "medley_core.testing" in p.read_text()]
    assert importing == []
