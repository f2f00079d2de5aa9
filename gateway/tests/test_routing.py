"""The pass-through tables: what each declaration makes the gateway do.

An echo upstream (a real Litestar app, reached over ASGI) stands for every service and
records what reached it, so the tests see the upstream path the public path maps to, the
query and body as sent, and whether the caller's Authorization went along.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from litestar import Litestar, Request, Response, route
from litestar.testing import AsyncTestClient

from medley_core.testing.tokens import TokenMint, bearer
from medley_gateway.app import create_app
from medley_gateway.routes import ROUTES
from medley_gateway.routing import ADMIN, PUBLIC, USER, Group, Route, handlers, service
from medley_gateway.settings import GatewaySettings
from medley_gateway.upstreams import UPSTREAMS

PROBLEM = "application/problem+json"


@dataclass
class Echo:
    """Answers every request with 200 and what it saw; remembers each request."""

    seen: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> Litestar:
        echo = self

        @route(
            ["/", "/{rest:path}"],
            http_method=["GET", "POST", "PUT", "PATCH", "DELETE"],
            status_code=200,
        )
        async def anything(request: Request[Any, Any, Any]) -> Response[Any]:
            echo.seen.append(
                {
                    "method": request.method,
                    "path": request.scope["raw_path"].decode(),
                    "query": request.url.query,
                    "authorization": request.headers.get("authorization"),
                    "body": await request.body(),
                }
            )
            return Response({"echo": True}, headers={"Cache-Control": "no-store"})

        return Litestar(route_handlers=[anything])


def gateway(keys: TokenMint, echo: Echo, routes: tuple[Route, ...] = ROUTES) -> Litestar:
    settings = GatewaySettings(
        users_url="http://users.test",
        upstream_urls={spec.name: f"http://{spec.name}.test" for spec in UPSTREAMS},
        log_json=False,
        log_level="WARNING",
        max_body_bytes=4096,
    )
    upstream = echo.app()
    return create_app(
        settings,
        verifier=keys.verifier(),
        transports={spec.name: httpx.ASGITransport(app=upstream) for spec in UPSTREAMS},
        routes=routes,
    )


ENTITY = str(uuid.uuid4())


@pytest.mark.parametrize(
    ("method", "public", "who", "upstream", "forwards_authorization"),
    [
        ("POST", "/api/v1/auth/token", "basic", "/oauth/token", True),
        ("POST", "/api/v1/auth/logout", "user", "/logout", True),
        ("POST", "/api/v1/auth/refresh", "user", "/refresh", False),
        ("PUT", "/api/v1/me/integrations/last%20fm", "user", "/me/integrations/last%20fm", True),
        ("DELETE", f"/api/v1/admin/users/{ENTITY}/roles/admin", "admin", None, True),
        ("GET", "/api/v1/catalog/search", "user", "/search", False),
        ("POST", "/api/v1/catalog/albums/batch", None, "/albums/batch", False),
        ("GET", f"/api/v1/catalog/artists/{ENTITY}", None, f"/artists/{ENTITY}", False),
        (
            "DELETE",
            f"/api/v1/admin/catalog/tracks/{ENTITY}/external-ids/local/a%20b%3Fc",
            "admin",
            f"/tracks/{ENTITY}/external-ids/local/a%20b%3Fc",
            True,
        ),
        (
            "POST",
            f"/api/v1/admin/catalog/artists/{ENTITY}/merge",
            "admin",
            f"/artists/{ENTITY}/merge",
            True,
        ),
    ],
)
async def test_each_declaration_maps_its_public_path_to_its_upstream_path(
    keys: TokenMint,
    method: str,
    public: str,
    who: str | None,
    upstream: str | None,
    forwards_authorization: bool,
) -> None:
    echo = Echo()
    credentials = {
        None: {},
        "basic": {"Authorization": "Basic Y2xpZW50OnNlY3JldA=="},
        "user": bearer(keys.user_token()),
        "admin": bearer(keys.admin_token()),
    }[who]
    body = b'{"refresh_token": "r1", "external_user_id": "x", "access_token": "y", "into": "z"}'
    async with AsyncTestClient(gateway(keys, echo)) as client:
        response = await client.request(
            method,
            public + "?limit=5&q=a%20b",
            content=body,
            headers={**credentials, "content-type": "application/json"},
        )
    assert response.status_code == 200, response.text
    assert response.json() == {"echo": True}
    assert response.headers["cache-control"] == "no-store"  # relayed, not replaced
    (seen,) = echo.seen
    expected = upstream or public.removeprefix("/api/v1")
    assert (seen["method"], seen["path"], seen["query"]) == (method, expected, "limit=5&q=a%20b")
    assert seen["body"] == body
    assert (seen["authorization"] is not None) == forwards_authorization


async def test_every_declared_route_is_served(keys: TokenMint) -> None:
    """Each declaration is a route of the app: with a valid caller its upstream is called."""
    echo = Echo()
    admin = bearer(keys.admin_token())
    async with AsyncTestClient(gateway(keys, echo)) as client:
        for declared in ROUTES:
            path = declared.doc_path
            for name in declared.parameters:
                path = path.replace("{" + name + "}", ENTITY)
            body = _plausible_body(declared)
            response = await client.request(
                declared.method, path, headers=admin, content=body or None
            )
            assert response.status_code == 200, (declared.key, response.text)
    assert len(echo.seen) == len(ROUTES)


def _plausible_body(declared: Route) -> bytes:
    """A body that gets past the gateway's own decoding where it decodes one."""
    if declared.body is None:
        return b"{}" if declared.has_body else b""
    fields = {"display_name", "email", "password", "current_password", "new_password", "name"}
    fields |= {"external_user_id", "access_token", "refresh_token"}
    return ("{" + ", ".join(f'"{f}": "x"' for f in sorted(fields)) + "}").encode()


async def test_who_may_call_is_checked_before_the_upstream_is_called(keys: TokenMint) -> None:
    echo = Echo()
    user = bearer(keys.user_token())
    service_token = keys.service_token("catalog", roles=("service",))
    async with AsyncTestClient(gateway(keys, echo)) as client:
        assert (await client.get("/api/v1/me")).status_code == 401
        assert (await client.get("/api/v1/me", headers=bearer(service_token))).status_code == 403
        admin_only = f"/api/v1/admin/catalog/tracks/{ENTITY}"
        refused = await client.patch(admin_only, json={}, headers=user)
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith(PROBLEM)
    assert echo.seen == []


SERVICE_ONLY = Group("/api/v1/internal", "catalog", "/internal", service("catalog:resolve"))


async def test_a_service_scope_and_a_body_limit_are_declarations(keys: TokenMint) -> None:
    """What no table uses yet, on a table made for the test: a route for service tokens
    holding one scope, and a route with its own body limit."""
    table = (
        SERVICE_ONLY.post("/resolve", summary="Resolve", answer="Resolved."),
        SERVICE_ONLY.post(
            "/small", caller=PUBLIC, max_body_bytes=1024, summary="Small", answer="Taken."
        ),
    )
    echo = Echo()
    async with AsyncTestClient(gateway(keys, echo, routes=table)) as client:
        resolve = "/api/v1/internal/resolve"
        assert (
            await client.post(resolve, json={}, headers=bearer(keys.user_token()))
        ).status_code == 403
        unscoped = bearer(keys.service_token("ingestion"))
        assert (await client.post(resolve, json={}, headers=unscoped)).status_code == 403
        granted = bearer(keys.service_token("ingestion", scopes=("catalog:resolve",)))
        assert (await client.post(resolve, json={}, headers=granted)).status_code == 200
        assert echo.seen[-1]["path"] == "/internal/resolve"

        small = "/api/v1/internal/small"
        assert (await client.post(small, content=b"x" * 1000)).status_code == 200
        too_big = await client.post(small, content=b"x" * 2000)
        assert too_big.status_code == 413
        assert too_big.headers["content-type"].startswith(PROBLEM)
        # The app's own limit (4 KiB here) still holds for every other route.
        assert (await client.post(resolve, content=b"x" * 5000, headers=granted)).status_code == 413
    assert len(echo.seen) == 2


def test_a_group_maps_paths_by_prefix_and_parameter_name() -> None:
    group = Group("/api/v1/things", "catalog", "/stuff", ADMIN, tags=("things",))
    one = group.delete("/{thing_id:uuid}/parts/{part:str}", summary="s", answer="a")
    assert one.upstream_path == "/stuff/{thing_id}/parts/{part}"
    assert one.doc_path == "/api/v1/things/{thing_id}/parts/{part}"
    assert one.key == "DELETE /api/v1/things/{thing_id}/parts/{part}"
    assert one.target({"thing_id": uuid.UUID(int=1), "part": "../../admin?x=1"}) == (
        f"/stuff/{uuid.UUID(int=1)}/parts/..%2F..%2Fadmin%3Fx%3D1"
    )
    renamed = group.post("/{thing_id:uuid}/go", to="/elsewhere/{thing_id}", summary="s", answer="a")
    assert renamed.upstream_path == "/elsewhere/{thing_id}"
    assert renamed.caller is ADMIN
    assert renamed.tags == ("things",)
    assert group.get("", caller=USER, summary="s", answer="a").caller is USER


def test_a_table_that_cannot_be_served_is_refused() -> None:
    group = Group("/api/v1/x", "catalog", "", PUBLIC)
    with pytest.raises(ValueError, match="needs"):
        group.get("/{a:str}", to="/y/{b}", summary="s", answer="a")
    with pytest.raises(ValueError, match="no upstream named 'nowhere'"):
        handlers([Group("/api/v1/x", "nowhere", "", PUBLIC).get("", summary="s", answer="a")])
    twice = group.get("/a", summary="s", answer="a")
    with pytest.raises(ValueError, match="declared twice"):
        handlers([twice, group.get("/a", summary="other", answer="a")])


def test_an_upstream_location_becomes_the_public_path_that_reads_it() -> None:
    from medley_gateway.routes import ROUTES
    from medley_gateway.routing import PublicPaths

    paths = PublicPaths(ROUTES)
    artist = "0b9e7d1c-9a6f-4d0e-8d2a-5b8f0c1e2d3f"
    assert paths.of("catalog", f"/artists/{artist}") == f"/api/v1/catalog/artists/{artist}"
    assert paths.of("playlists", f"/playlists/{artist}") == f"/api/v1/playlists/{artist}"
    assert paths.of("catalog", "/nowhere/1") is None
