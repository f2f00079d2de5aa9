"""Fixtures for the users service's tests.

Unit tests need none of these. Flow tests run the real app in-process
(``AsyncTestClient(create_app(...))``) against real PostgreSQL and NATS: a database of this
run's own, provisioned like production (the service's role, its schema, its migrations),
and an event prefix of this run's own.
"""

from __future__ import annotations

import base64
import dataclasses
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from medley_core import registry
from medley_core.provisioning import (
    ServiceDatabase,
)
from medley_core.testing.tokens import bearer
from medley_local.pytest_plugin import ServiceDb, service_db
from medley_users import MIGRATIONS_DIR
from medley_users.app import create_app
from medley_users.settings import UsersSettings

PASSWORD = "correct horse battery staple"
GATEWAY_CLIENT = ("gateway", "gateway-secret-0123456789abcdef")
# The gateway's scopes from the registry, and two no route requires that the grant tests ask for.
GATEWAY_SCOPES = [*registry.GATEWAY.scopes, "a:read", "b:write"]
LIMITED_CLIENT = ("scrobble-bridge", "bridge-secret-0123456789abcdef")
# Shaped like the ingestion service will be: it syncs from Spotify, Last.fm… with users' tokens.
SYNCING_CLIENT = ("ingestion", "ingestion-secret-0123456789abcdef")
SYNCING_SCOPES = [registry.INTEGRATIONS_READ]
BOOTSTRAP_ADMIN = "root-admin"
ROLE = "medley_users_test"


@pytest.fixture(scope="session")
def users_infra(request: pytest.FixtureRequest) -> Any:
    """The shared ``infra``, with an event namespace of the users tests' own."""
    infra = request.getfixturevalue("infra")
    return dataclasses.replace(infra, event_prefix=infra.event_namespace("users"))


# The users tests' database: users provisioned in a database of its own.
UsersDb = ServiceDb


@pytest.fixture(scope="session")
async def users_db(users_infra: Any) -> AsyncIterator[UsersDb]:
    service = ServiceDatabase(
        schema="users", role=ROLE, password=ROLE, migrations_dir=MIGRATIONS_DIR
    )
    async with service_db(users_infra.admin_url, service) as db:
        yield db


def integration_key(key_id: str, seed: int) -> dict[str, str]:
    return {"id": key_id, "key": base64.b64encode(bytes([seed]) * 32).decode()}


AppFactory = Callable[..., AbstractAsyncContextManager[AsyncTestClient[Any]]]


@pytest.fixture(scope="session")
def base_settings(
    users_infra: Any, users_db: UsersDb, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """The settings every flow test's app starts from (as ``UsersSettings`` arguments)."""
    return {
        "database_url": users_db.service_url,
        "nats_url": users_infra.nats_url,
        "event_prefix": users_infra.event_prefix,
        "data_dir": tmp_path_factory.mktemp("users-data"),
        "log_json": False,
        "bootstrap_admin": BOOTSTRAP_ADMIN,
        "service_clients": {
            GATEWAY_CLIENT[0]: {"secret": GATEWAY_CLIENT[1], "scopes": GATEWAY_SCOPES},
            LIMITED_CLIENT[0]: {"secret": LIMITED_CLIENT[1], "scopes": ["api-tokens:resolve"]},
            SYNCING_CLIENT[0]: {"secret": SYNCING_CLIENT[1], "scopes": SYNCING_SCOPES},
        },
        "erasure_contexts": ["catalog"],
        "integration_keys": [integration_key("k1", 1)],
    }


@pytest.fixture(scope="session")
def users_app(base_settings: dict[str, Any]) -> AppFactory:
    """``async with users_app(**overrides) as client``: the app, started, with settings."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[AsyncTestClient[Any]]:
        settings = UsersSettings(**{**base_settings, **overrides})
        async with AsyncTestClient(create_app(settings)) as client:
            yield client

    return start


@pytest.fixture
async def fresh_users_app(
    users_infra: Any, base_settings: dict[str, Any]
) -> AsyncIterator[AppFactory]:
    """Like ``users_app``, on a database of this test's own (no account, no admin yet): for
    what depends on the whole table, such as the bootstrap admin."""
    service = ServiceDatabase(
        schema="users", role=ROLE, password=ROLE, migrations_dir=MIGRATIONS_DIR
    )
    async with service_db(users_infra.admin_url, service) as db:

        @asynccontextmanager
        async def start(**overrides: Any) -> AsyncIterator[AsyncTestClient[Any]]:
            settings = UsersSettings(
                **{**base_settings, "database_url": db.service_url, **overrides}
            )
            async with AsyncTestClient(create_app(settings)) as client:
                yield client

        yield start


@pytest.fixture(scope="session")
async def client(users_app: AppFactory) -> AsyncIterator[AsyncTestClient[Any]]:
    """The app most flow tests share (each test makes its own accounts)."""
    async with users_app() as started:
        yield started


# --- helpers the flow tests share ---------------------------------------------------------


def unique_name(prefix: str = "u") -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


@dataclass
class Account:
    id: str
    username: str
    email: str
    password: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.access_token)


async def register(
    client: AsyncTestClient[Any],
    username: str | None = None,
    *,
    password: str = PASSWORD,
    email: str | None = None,
    display_name: str | None = None,
) -> dict[str, Any]:
    username = username or unique_name()
    body: dict[str, Any] = {
        "username": username,
        "email": email or f"{username}@example.com",
        "password": password,
    }
    if display_name is not None:
        body["display_name"] = display_name
    response = await client.post("/register", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def login(client: AsyncTestClient[Any], ident: str, password: str = PASSWORD) -> Any:
    response = await client.post("/login", json={"login": ident, "password": password})
    assert response.status_code == 200, response.text
    return response.json()


async def new_account(
    client: AsyncTestClient[Any], username: str | None = None, password: str = PASSWORD
) -> Account:
    user = await register(client, username, password=password)
    tokens = await login(client, user["username"], password)
    return Account(
        id=user["id"],
        username=user["username"],
        email=user["email"],
        password=password,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
    )


async def admin_account(client: AsyncTestClient[Any]) -> Account:
    """The bootstrap admin (registered on first use, logged in every time)."""
    exists = await client.post("/login", json={"login": BOOTSTRAP_ADMIN, "password": PASSWORD})
    if exists.status_code != 200:
        await register(client, BOOTSTRAP_ADMIN)
        exists = await client.post("/login", json={"login": BOOTSTRAP_ADMIN, "password": PASSWORD})
    tokens = exists.json()
    me = (await client.get("/me", headers=bearer(tokens["access_token"]))).json()
    return Account(
        me["id"],
        me["username"],
        me["email"],
        PASSWORD,
        tokens["access_token"],
        tokens["refresh_token"],
    )


async def service_token(
    client: AsyncTestClient[Any],
    credentials: tuple[str, str] = GATEWAY_CLIENT,
    scope: str | None = None,
) -> str:
    """A service token for ``credentials``: every scope it holds, or only ``scope``."""
    form = {
        "grant_type": "client_credentials",
        "client_id": credentials[0],
        "client_secret": credentials[1],
    }
    if scope is not None:
        form["scope"] = scope
    response = await client.post("/oauth/token", data=form)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = dict(response.json())
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert "title" in body
    return body


def data_dir_of(base_settings: dict[str, Any]) -> Path:
    return Path(base_settings["data_dir"])
