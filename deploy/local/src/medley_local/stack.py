"""Provision every registered service and run it, then the gateway, as child processes.

Shared by the launcher (`make run`) and the end-to-end test fixture, so both exercise the
same environment contract: what a child finds in its environment is exactly what
:func:`child_environment` builds here.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from medley_core.provisioning import provision
from medley_core.settings import SHARED_PREFIX
from medley_local.credentials import Credentials
from medley_local.processes import Child, await_http_ready, free_port, uvicorn_argv
from medley_local.services import GATEWAY, SERVICES, ServiceSpec

JWKS_PATH = "/.well-known/jwks.json"
USERS = "users"

# Never handed to a child: the administrator's URL (services log in as their own role).
_WITHHELD = frozenset({f"{SHARED_PREFIX}DATABASE_URL"})


@dataclass
class RunningStack:
    """The started services and gateway: their URLs, credentials and processes."""

    nats_url: str
    event_prefix: str
    data_dir: Path
    gateway_url: str | None = None
    service_urls: dict[str, str] = field(default_factory=dict)
    database_urls: dict[str, str] = field(default_factory=dict)
    client_secrets: dict[str, str] = field(default_factory=dict)
    children: list[Child] = field(default_factory=list)

    @property
    def users_url(self) -> str:
        return self.service_urls[USERS]

    @property
    def docs_url(self) -> str | None:
        return f"{self.gateway_url}/docs" if self.gateway_url else None

    def exited(self) -> Child | None:
        """The first child that is no longer running, if any."""
        return next((child for child in self.children if child.returncode is not None), None)

    def stop(self, grace: float = 15.0) -> None:
        """Stop the children, gateway first (the reverse of the start order)."""
        while self.children:
            self.children.pop().stop(grace)

    async def astop(self, grace: float = 15.0) -> None:
        await asyncio.to_thread(self.stop, grace)


def child_environment(
    spec: ServiceSpec,
    *,
    urls: Mapping[str, str],
    services: Sequence[ServiceSpec],
    credentials: Credentials,
    database_urls: Mapping[str, str],
    nats_url: str,
    event_prefix: str,
    data_dir: Path,
    base_env: Mapping[str, str],
    clients: Sequence[ServiceSpec] = (),
) -> dict[str, str]:
    """The environment one child runs with: the caller's, plus Medley's contract.

    Each child gets its own database URL and client secret only; the users service also
    gets every client's secret with the scopes its spec lists (it issues their service
    tokens; ``clients`` are the specs started, and a client not among them holds none) and
    the contexts that must answer a user's erasure.
    """
    env = {key: value for key, value in base_env.items() if key not in _WITHHELD}
    users_url = urls.get(USERS, env.get(f"{SHARED_PREFIX}USERS_URL", ""))
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            f"{SHARED_PREFIX}NATS_URL": nats_url,
            f"{SHARED_PREFIX}EVENT_PREFIX": event_prefix,
            f"{SHARED_PREFIX}DATA_DIR": str(data_dir),
            f"{SHARED_PREFIX}USERS_URL": users_url,
            f"{SHARED_PREFIX}JWKS_URL": f"{users_url}{JWKS_PATH}",
        }
    )
    host, port = _host_port(urls[spec.name])
    prefix = spec.env_prefix
    env[f"{prefix}HOST"] = host
    env[f"{prefix}PORT"] = str(port)
    env[f"{prefix}CLIENT_ID"] = spec.client_id
    env[f"{prefix}CLIENT_SECRET"] = credentials.client_secrets[spec.client_id]
    if spec.owns_data:
        env[f"{prefix}DATABASE_URL"] = database_urls[spec.name]
    if spec.name == USERS:
        scopes = {other.client_id: list(other.scopes) for other in (*services, *clients)}
        env[f"{prefix}SERVICE_CLIENTS"] = json.dumps(
            {
                client_id: {"secret": secret, "scopes": scopes.get(client_id, [])}
                for client_id, secret in credentials.client_secrets.items()
            },
            sort_keys=True,
        )
        env[f"{prefix}ERASURE_CONTEXTS"] = json.dumps(
            [
                other.name
                for other in services
                if other.name != USERS and other.owns_data and other.erases_user_data
            ]
        )
    # Where the others are: the gateway routes to every one, and a service that calls
    # another (ingestion resolving through the catalog) reads the same variable.
    for other in services:
        if other.name != spec.name and other.name in urls:
            env[f"{prefix}{other.name.upper()}_URL"] = urls[other.name]
    return env


def _host_port(url: str) -> tuple[str, int]:
    authority = url.split("://", 1)[1].split("/", 1)[0]
    host, _, port = authority.rpartition(":")
    return host, int(port)


async def provision_services(
    admin_url: str,
    credentials: Credentials,
    services: Sequence[ServiceSpec] = SERVICES,
    role_suffix: str = "",
) -> dict[str, str]:
    """Role, schema and migrations of every service that owns data; returns their URLs.

    ``admin_url`` names the database the services share.
    """
    roles = [spec.role_name(role_suffix) for spec in services if spec.owns_data]
    if credentials.ensure(roles=roles) and credentials.path is not None:
        credentials.save()
    urls: dict[str, str] = {}
    for spec in services:
        if spec.owns_data:
            password = credentials.role_passwords[spec.role_name(role_suffix)]
            urls[spec.name] = await provision(admin_url, spec.database(password, role_suffix))
    return urls


async def start_stack(
    admin_url: str,
    nats_url: str,
    *,
    credentials: Credentials,
    data_dir: Path,
    event_prefix: str = "medley",
    host: str = "127.0.0.1",
    gateway_port: int | None = 8000,
    services: Sequence[ServiceSpec] = SERVICES,
    gateway: ServiceSpec | None = GATEWAY,
    role_suffix: str = "",
    base_env: Mapping[str, str] | None = None,
    log: TextIO | None = sys.stdout,
    ready_timeout: float = 60.0,
) -> RunningStack:
    """Provision and start every service, then the gateway, each once the previous is ready.

    ``admin_url`` is an administrator's URL of the (existing) database the services share;
    ``data_dir`` (absolute) becomes the children's ``MEDLEY_DATA_DIR``.
    ``gateway_port=None`` picks a free port. Children print to ``log`` as ``[name] …``. If a
    child dies or never gets ready, everything started is stopped and
    :class:`~medley_local.processes.ChildFailed` (with the child's output) is raised.
    """
    specs = [*services, *([gateway] if gateway is not None else [])]
    if credentials.ensure(clients=[spec.client_id for spec in specs]) and credentials.path:
        credentials.save()
    database_urls = await provision_services(admin_url, credentials, services, role_suffix)

    urls = {spec.name: f"http://{host}:{free_port(host)}" for spec in services}
    if gateway is not None:
        urls[gateway.name] = f"http://{host}:{gateway_port or free_port(host)}"
    stack = RunningStack(
        nats_url=nats_url,
        event_prefix=event_prefix,
        data_dir=data_dir,
        gateway_url=urls[gateway.name] if gateway is not None else None,
        service_urls={spec.name: urls[spec.name] for spec in services},
        database_urls=database_urls,
        client_secrets=dict(credentials.client_secrets),
    )
    env_base = dict(os.environ if base_env is None else base_env)
    try:
        for spec in specs:
            env = child_environment(
                spec,
                urls=urls,
                services=services,
                credentials=credentials,
                database_urls=database_urls,
                nats_url=nats_url,
                event_prefix=event_prefix,
                data_dir=data_dir,
                base_env=env_base,
                clients=specs,
            )
            host_, port = _host_port(urls[spec.name])
            ready_url = urls[spec.name] + spec.ready_path
            child = Child.start(
                spec.name, uvicorn_argv(spec.app, host_, port), env=env, sink=log,
                ready_url=ready_url, ready_timeout=ready_timeout,
            )  # fmt: skip
            stack.children.append(child)
            await await_http_ready(child, ready_url, limit=ready_timeout)
    except BaseException:
        # Also on cancellation (Ctrl-C while starting): stop what runs, then re-raise.
        stack.stop()
        raise
    return stack
