"""A tiny real upstream: a Litestar app served by uvicorn in this process, on a free port.

``FakeUsers`` stands in for the users service where the gateway's own behaviour is under
test (relaying, breakers, limits); the real users service is exercised in ``tests/e2e``.
"""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

import asyncpg
import pytest
import uvicorn
from litestar import Litestar, Request, Response, get, post, route
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_contracts.envelope import EventEnvelope, EventType
from medley_core.app import create_service_app
from medley_core.db import asyncpg_dsn, schema_metadata, sqlalchemy_url
from medley_core.events.tables import event_tables
from medley_core.events.unit_of_work import collect
from medley_core.problems import PROBLEM_MEDIA_TYPE
from medley_core.settings import ServiceSettings
from medley_core.testing.tokens import TokenMint
from medley_core.testing.tokens import bearer as bearer_header
from medley_local.pytest_plugin import Infra


@asynccontextmanager
async def serve(app: Any, *, lifespan: str = "off") -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on 127.0.0.1 and a free port; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan=lifespan, access_log=False)
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def problem(status: int, slug: str, detail: str, **extra: Any) -> Response[Any]:
    body = {
        "type": f"https://medley.dev/problems/{slug}",
        "title": slug,
        "status": status,
        "detail": detail,
        **extra,
    }
    return Response(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE)


@dataclass
class FakeUsers:
    """What the fake users service does, switchable per test, and what it saw."""

    keys: TokenMint
    ready: bool = True
    # "ok" | "500" | "503" | "html-502" | "hang" for GET /me
    me_mode: str = "ok"
    hits: dict[str, int] = field(default_factory=dict)
    seen: list[dict[str, Any]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def record(self, request: Request[Any, Any, Any], body: bytes = b"") -> None:
        path = request.url.path
        self.hits[path] = self.hits.get(path, 0) + 1
        self.seen.append(
            {
                "method": request.method,
                "path": path,
                "query": request.url.query,
                "headers": dict(request.headers),
                "body": body,
            }
        )

    def app(self) -> Litestar:
        """The fake's routes, each recording its request and answering as the users
        service would (or as ``me_mode`` says it fails); long because it is the fake's
        whole route table, read in one place."""
        fake = self

        @get("/health/ready")
        async def ready(request: Request[Any, Any, Any]) -> Response[Any]:
            fake.record(request)
            if fake.ready:
                return Response({"status": "ready", "checks": {"database": "up"}})
            return problem(503, "service-unavailable", "not ready", checks={"database": "down"})

        @get("/.well-known/jwks.json")
        async def jwks(request: Request[Any, Any, Any]) -> dict[str, Any]:
            fake.record(request)
            return fake.keys.jwks

        @post("/login", status_code=200)
        async def login(request: Request[Any, Any, Any]) -> Response[Any]:
            body = await request.body()
            fake.record(request, body)
            data = json.loads(body)
            if data.get("password") == "locked":  # the account's budget is spent
                response = problem(429, "rate-limited", "too many failed logins")
                response.headers["Retry-After"] = "42"
                return response
            if data.get("password") != "right":
                return problem(401, "invalid-credentials", "the login or the password is wrong")
            return Response(
                {
                    "access_token": fake.keys.user_token(),
                    "refresh_token": "r1",
                    "token_type": "Bearer",
                    "expires_in": 300,
                }
            )

        @post("/register", status_code=201)
        async def register(request: Request[Any, Any, Any]) -> Response[Any]:
            body = await request.body()
            fake.record(request, body)
            data = json.loads(body)
            if data.get("username") == "taken":
                return problem(409, "conflict", "the username is taken", field="username")
            return Response(
                {"id": str(uuid.uuid4()), "username": data["username"]},
                status_code=201,
                headers={"Location": "/me"},  # as the users service says where it is read
            )

        @post("/logout", status_code=204)
        async def logout(request: Request[Any, Any, Any]) -> None:
            fake.record(request, await request.body())

        @route("/me", http_method=["GET", "PATCH", "DELETE"], status_code=200)
        async def me(request: Request[Any, Any, Any]) -> Response[Any]:
            fake.record(request, await request.body())
            mode = fake.me_mode
            if mode == "500":
                return problem(500, "internal-error", "boom")
            if mode == "503":
                return problem(503, "service-unavailable", "database down")
            if mode == "html-502":
                return Response("<html>bad gateway</html>", status_code=502, media_type="text/html")
            if mode == "hang":
                await fake.release.wait()
            return Response({"id": "me", "method": request.method})

        @get("/admin/users")
        async def admin_users(request: Request[Any, Any, Any]) -> dict[str, Any]:
            fake.record(request)
            return {"items": [], "next_cursor": None}

        @route(
            "/admin/users/{user_id:str}/roles/{role:str}",
            http_method=["PUT", "DELETE"],
            status_code=200,
        )
        async def admin_roles(request: Request[Any, Any, Any]) -> dict[str, Any]:
            fake.record(request)
            return {"roles": ["admin", "user"] if request.method == "PUT" else ["user"]}

        return Litestar(
            route_handlers=[ready, jwks, login, register, logout, me, admin_users, admin_roles]
        )


@pytest.fixture
def keys() -> TokenMint:
    return TokenMint()


@pytest.fixture
async def fake_users(keys: TokenMint) -> AsyncIterator[tuple[FakeUsers, str]]:
    fake = FakeUsers(keys)
    async with serve(fake.app()) as url:
        try:
            yield fake, url
        finally:
            fake.release.set()  # a hanging request must end before the server can stop


@pytest.fixture
def bearer() -> Callable[[str], dict[str, str]]:
    return bearer_header


@pytest.fixture(name="serve")
def serve_fixture() -> Callable[[Any], Any]:
    """``async with serve(app) as url``: a real server for ``app`` on a free port."""
    return serve


@pytest.fixture
def unreachable_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


# -- a service made by the app factory, for what crosses services (traces, metrics) ---------

THINGS_CONTEXT = "trtest"


class ThingMadeV1(BaseModel):
    key: str


THING_MADE = EventType(f"{THINGS_CONTEXT}.thing.made", 1, ThingMadeV1)


@dataclass
class ThingService:
    """``app()``: a service built by :func:`create_service_app` over a schema of its own and
    real NATS; ``POST /things`` collects ``trtest.thing.made``, which the service's own
    consumer handles (``handled`` is set then)."""

    database_url: str
    nats_url: str
    schema: str
    keys: TokenMint
    handled: asyncio.Event = field(default_factory=asyncio.Event)
    event_type: str = THING_MADE.name

    def app(self) -> Litestar:
        class ThingSettings(ServiceSettings):
            schema_name: ClassVar[str] = self.schema
            service_name: ClassVar[str] = THINGS_CONTEXT

        settings = ThingSettings(
            database_url=self.database_url,
            nats_url=self.nats_url,
            event_prefix=f"tr{uuid.uuid4().hex[:10]}",
            relay_poll_interval_s=0.2,
            log_json=False,
            log_level="WARNING",
        )

        @post("/things", status_code=201)
        async def make_thing(db_session: AsyncSession, data: dict[str, str]) -> dict[str, str]:
            collect(db_session, THING_MADE, ThingMadeV1(key=data["key"]), subject=data["key"])
            return {"key": data["key"]}

        async def on_thing_made(_session: AsyncSession, _envelope: EventEnvelope) -> None:
            self.handled.set()

        return create_service_app(
            settings,
            route_handlers=[make_thing],
            event_handlers={THING_MADE.name: on_thing_made},
            verifier=self.keys.verifier(),
        )


@pytest.fixture
async def thing_service(keys: TokenMint, infra: Infra) -> AsyncIterator[ThingService]:
    """A :class:`ThingService` over a fresh schema holding the event tables, on the test
    plugin's servers (the machine's when MEDLEY_*_URL name them, else embedded ones)."""
    url = infra.admin_url
    schema = f"trtest_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(asyncpg_dsn(url))
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    metadata = schema_metadata(schema)
    event_tables(metadata)
    engine = create_async_engine(sqlalchemy_url(url))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        yield ThingService(url, infra.nats_url, schema, keys)
    finally:
        await engine.dispose()
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()
