"""start_stack with fake services: provisioning, the environment contract, readiness, stop.

Runs against ``infra`` (the environment's servers, containers or embedded ones).
"""

from __future__ import annotations

import io
import json
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from launcher_fakes import FAILING_GATEWAY, FAKE_GATEWAY, FAKE_USERS, child_env

from medley_core import registry
from medley_local.credentials import Credentials
from medley_local.processes import ChildFailed
from medley_local.services import GATEWAY, SERVICES, USERS, ServiceSpec
from medley_local.stack import RunningStack, child_environment, start_stack
from medley_users.settings import UsersSettings


def listening(url: str) -> bool:
    host, port = url.rsplit("//", 1)[1].rsplit(":", 1)
    with socket.socket() as sock:
        return sock.connect_ex((host, int(port))) == 0


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def fake_stack(
    infra: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[RunningStack, io.StringIO]]:
    log = io.StringIO()
    stack = await start_stack(
        infra.admin_url,
        infra.nats_url,
        credentials=Credentials(),
        data_dir=tmp_path_factory.mktemp("fake-stack"),
        event_prefix=infra.event_prefix,
        gateway_port=None,
        services=[FAKE_USERS],
        gateway=FAKE_GATEWAY,
        role_suffix=infra.role_suffix,
        # The administrator's URL must never reach a child.
        base_env=child_env(MEDLEY_DATABASE_URL="postgresql://admin:secret@example/medley"),
        log=log,
    )
    try:
        yield stack, log
    finally:
        stack.stop()


async def child_env_of(url: str) -> dict[str, str]:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(f"{url}/env")
    response.raise_for_status()
    env: dict[str, str] = response.json()
    return env


async def test_users_gets_its_own_database_clients_and_the_shared_settings(
    fake_stack: tuple[RunningStack, io.StringIO], infra: Any
) -> None:
    stack, _ = fake_stack
    env = await child_env_of(stack.users_url)
    assert "MEDLEY_DATABASE_URL" not in env
    assert env["MEDLEY_USERS_DATABASE_URL"] == stack.database_urls["users"]
    assert env["MEDLEY_NATS_URL"] == infra.nats_url
    assert env["MEDLEY_EVENT_PREFIX"] == infra.event_prefix
    assert env["MEDLEY_DATA_DIR"] == str(stack.data_dir)
    assert env["MEDLEY_USERS_URL"] == stack.users_url
    assert env["MEDLEY_JWKS_URL"] == f"{stack.users_url}/.well-known/jwks.json"
    assert f"http://{env['MEDLEY_USERS_HOST']}:{env['MEDLEY_USERS_PORT']}" == stack.users_url
    assert env["MEDLEY_USERS_CLIENT_ID"] == "users"
    assert env["MEDLEY_USERS_CLIENT_SECRET"] == stack.client_secrets["users"]
    clients = json.loads(env["MEDLEY_USERS_SERVICE_CLIENTS"])
    assert {client: spec["secret"] for client, spec in clients.items()} == stack.client_secrets
    # The fake specs list no scopes, so their clients hold none.
    assert {client: spec["scopes"] for client, spec in clients.items()} == {
        "users": [],
        "gateway": [],
    }
    assert set(stack.client_secrets) == {"users", "gateway"}
    assert json.loads(env["MEDLEY_USERS_ERASURE_CONTEXTS"]) == []
    assert "MEDLEY_GATEWAY_CLIENT_SECRET" not in env


async def test_gateway_gets_every_upstream_and_no_database(
    fake_stack: tuple[RunningStack, io.StringIO],
) -> None:
    stack, _ = fake_stack
    assert stack.gateway_url is not None
    env = await child_env_of(stack.gateway_url)
    assert env["MEDLEY_GATEWAY_USERS_URL"] == stack.users_url
    assert env["MEDLEY_USERS_URL"] == stack.users_url
    assert env["MEDLEY_GATEWAY_CLIENT_ID"] == "gateway"
    assert env["MEDLEY_GATEWAY_CLIENT_SECRET"] == stack.client_secrets["gateway"]
    assert not [key for key in env if key.endswith("DATABASE_URL")]
    assert "MEDLEY_USERS_SERVICE_CLIENTS" not in env


async def test_the_service_logs_in_as_its_own_role_in_its_schema(
    fake_stack: tuple[RunningStack, io.StringIO], infra: Any
) -> None:
    stack, _ = fake_stack
    async with httpx.AsyncClient(timeout=10) as client:
        identity = (await client.get(f"{stack.users_url}/db")).json()
    role = f"fake_users{infra.role_suffix}"
    assert identity == {"role": role, "schema": "fake_users", "urls": "1"}


async def test_children_output_is_prefixed_with_their_name(
    fake_stack: tuple[RunningStack, io.StringIO],
) -> None:
    _, log = fake_stack
    lines = log.getvalue().splitlines()
    assert any(line.startswith("[users] ") and "Uvicorn running" in line for line in lines)
    assert any(line.startswith("[gateway] ") for line in lines)


def test_erasure_contexts_name_every_other_service(tmp_path: Path) -> None:
    catalog = ServiceSpec(
        name="catalog", app="x:y", schema="catalog", role="medley_catalog",
        migrations_dir=tmp_path,
    )  # fmt: skip
    credentials = Credentials()
    credentials.ensure(clients=["users", "catalog", "gateway"])
    env = child_environment(
        FAKE_USERS,
        urls={"users": "http://127.0.0.1:1", "catalog": "http://127.0.0.1:2"},
        services=[FAKE_USERS, catalog],
        credentials=credentials,
        database_urls={"users": "postgresql://u@h/db", "catalog": "postgresql://c@h/db"},
        nats_url="nats://127.0.0.1:3",
        event_prefix="medley",
        data_dir=tmp_path,
        base_env={},
    )
    assert json.loads(env["MEDLEY_USERS_ERASURE_CONTEXTS"]) == ["catalog"]
    assert env["MEDLEY_USERS_DATABASE_URL"] == "postgresql://u@h/db"
    assert "MEDLEY_CATALOG_DATABASE_URL" not in env


async def test_a_child_that_dies_at_start_aborts_with_its_output(
    infra: Any, tmp_path: Path
) -> None:
    log = io.StringIO()
    with pytest.raises(ChildFailed) as failure:
        await start_stack(
            infra.admin_url,
            infra.nats_url,
            credentials=Credentials(),
            data_dir=tmp_path,
            event_prefix=infra.event_prefix,
            gateway_port=None,
            services=[FAKE_USERS],
            gateway=FAILING_GATEWAY,
            role_suffix=infra.role_suffix,
            base_env=child_env(),
            log=log,
        )
    assert failure.value.name == "gateway"
    assert failure.value.returncode not in (None, 0)
    assert "boom: the fake service refuses to start" in str(failure.value)
    assert "MEDLEY_FAKE_SETTING is missing" in failure.value.output
    # The service started before it was stopped again.
    started = re.search(r"\[users\] .*Uvicorn running on (http://\S+)", log.getvalue())
    assert started is not None
    assert not listening(started.group(1))


async def test_stop_ends_every_child(infra: Any, tmp_path: Path) -> None:
    stack = await start_stack(
        infra.admin_url,
        infra.nats_url,
        credentials=Credentials(),
        data_dir=tmp_path,
        event_prefix=infra.event_prefix,
        gateway_port=None,
        services=[FAKE_USERS],
        gateway=FAKE_GATEWAY,
        role_suffix=infra.role_suffix,
        base_env=child_env(),
        log=None,
    )
    children = list(stack.children)
    assert stack.exited() is None
    await stack.astop()
    assert all(child.returncode is not None for child in children)
    assert stack.gateway_url is not None
    assert not listening(stack.gateway_url)
    assert not listening(stack.users_url)


async def test_provisioned_service_url_provisions_once_with_the_sessions_role(
    provisioned_service_url: Any, infra: Any
) -> None:
    url = await provisioned_service_url(FAKE_USERS)
    assert await provisioned_service_url(FAKE_USERS) == url
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT current_user") == f"fake_users{infra.role_suffix}"
        assert await conn.fetchval("SELECT count(*) FROM fake_users.notes") >= 0
    finally:
        await conn.close()


def test_users_gets_each_client_with_the_scopes_its_registry_entry_lists(tmp_path: Path) -> None:
    credentials = Credentials()
    credentials.ensure(clients=[spec.client_id for spec in (*SERVICES, GATEWAY)])
    env = child_environment(
        USERS,
        urls={spec.name: f"http://127.0.0.1:{port}" for port, spec in enumerate(SERVICES, 1)},
        services=SERVICES,
        credentials=credentials,
        database_urls={spec.name: "postgresql://u@h/db" for spec in SERVICES},
        nats_url="nats://127.0.0.1:3",
        event_prefix="medley",
        data_dir=tmp_path,
        base_env={},
        clients=[*SERVICES, GATEWAY],
    )
    clients = json.loads(env["MEDLEY_USERS_SERVICE_CLIENTS"])
    assert {client: spec["scopes"] for client, spec in clients.items()} == registry.client_scopes()
    assert clients["gateway"]["scopes"] == ["api-tokens:resolve", "listens:on-behalf"]
    assert clients["ingestion"]["scopes"] == ["catalog:resolve"]
    assert json.loads(env["MEDLEY_USERS_ERASURE_CONTEXTS"]) == registry.erasure_contexts()
    # What the users service makes of it: the same secrets and scopes.
    specs = UsersSettings(
        data_dir=tmp_path, service_clients=clients, erasure_contexts=[]
    ).client_specs()
    for client_id, secret in credentials.client_secrets.items():
        assert specs[client_id].secret.get_secret_value() == secret
        assert list(specs[client_id].scopes or ()) == registry.client_scopes()[client_id]
