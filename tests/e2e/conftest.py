"""End-to-end fixtures: the real stack (``medley_stack``) and a client of its gateway.

The tests import their helpers (``e2e_helpers``) from this directory.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

HERE = os.path.dirname(__file__)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from e2e_helpers import DEV_KEY_FILE  # noqa: E402


@pytest.fixture(scope="session")
def gateway_url(medley_stack: Any) -> str:
    url: str = medley_stack.gateway_url
    return url


@pytest.fixture(scope="session")
def signing_key(
    medley_stack: Any, tmp_path_factory: pytest.TempPathFactory
) -> ed25519.Ed25519PrivateKey:
    """The users service's signing key, to craft tokens that are correctly signed and wrong
    in one claim only: the development key it generated under the stack's data directory."""
    data_dir = getattr(medley_stack, "data_dir", None)
    if data_dir is not None:
        candidates = [Path(data_dir) / "users" / DEV_KEY_FILE]
    else:  # the stack's data directory lives in this session's temporary directory
        candidates = sorted(tmp_path_factory.getbasetemp().glob(f"**/users/{DEV_KEY_FILE}"))
    assert candidates, "no development signing key found"
    assert candidates[0].exists(), candidates[0]
    key = serialization.load_pem_private_key(candidates[0].read_bytes(), password=None)
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    return key


@pytest.fixture
async def api(gateway_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30) as client:
        yield client


@pytest.fixture
async def admin_headers(api: httpx.AsyncClient) -> dict[str, str]:
    """An administrator's bearer header: the account the stack bootstraps as admin
    (``medley_local.pytest_plugin.E2E_ADMIN``), registered on first use."""
    from e2e_helpers import PASSWORD, login

    from medley_core.testing.tokens import bearer
    from medley_local.pytest_plugin import E2E_ADMIN

    # Log in first: registering again on every use would spend the gateway's registration
    # budget for that name (a few per ten minutes) across the session's many e2e tests.
    response = await api.post("/api/v1/auth/login", json={"login": E2E_ADMIN, "password": PASSWORD})
    if response.status_code == 401:
        account = {"username": E2E_ADMIN, "email": f"{E2E_ADMIN}@example.com", "password": PASSWORD}
        registered = await api.post("/api/v1/auth/register", json=account)
        assert registered.status_code in (201, 409), registered.text
        return bearer((await login(api, E2E_ADMIN))["access_token"])
    assert response.status_code == 200, response.text
    return bearer(response.json()["access_token"])
