"""The API docs page at ``/docs``: Swagger UI served by the gateway itself, so it works offline.

The Swagger UI assets (``swagger-ui-dist`` from npm, unmodified, Apache-2.0; see
``static/swagger-ui/VERSION``) ship as package data and are served under ``/static/``.
The page loads the OpenAPI document from ``/docs/openapi.json`` and nothing from elsewhere:
the online validator badge is turned off and the favicon is ours.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from litestar import Request
from litestar.datastructures import CacheControlHeader
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme, Server, Tag
from litestar.router import Router
from litestar.static_files import create_static_files_router

from medley_core.problems import PROBLEM_MEDIA_TYPE
from medley_gateway.schemas import ProblemDetails

STATIC_DIR = Path(__file__).parent / "static"
STATIC_PATH = "/static"
DOCS_PATH = "/docs"
SWAGGER = f"{STATIC_PATH}/swagger-ui"

BEARER_SCHEME = "BearerToken"
BEARER: list[dict[str, list[str]]] = [{BEARER_SCHEME: []}]

TAGS = [
    Tag(name="auth", description="Registration, login, token refresh and logout."),
    Tag(name="me", description="The caller's own account, API tokens and integrations."),
    Tag(name="admin", description="Operator endpoints (the `admin` role)."),
    Tag(
        name="catalog",
        description="Artists, albums, tracks and genres: anyone reads, administrators write.",
    ),
    Tag(name="health", description="Liveness and readiness of the gateway and its upstreams."),
    Tag(name="keys", description="The public keys that verify Medley access tokens."),
]


PROBLEMS = {
    400: "Malformed request (not JSON, wrong types).",
    401: "Missing, invalid or expired credentials.",
    403: "Authenticated, but not allowed.",
    404: "No such resource.",
    409: "Conflicts with the current state (already taken, say).",
    412: "Sent against a version that is no longer current (`If-Match`): nothing changed; "
    "the problem names the current one.",
    413: "The body is too large.",
    415: "The body is not of a media type the route takes.",
    422: "Well-formed, but a value breaks a rule.",
    429: "Too many attempts; see Retry-After.",
    503: "An upstream service is unavailable (named in `upstream`).",
    504: "An upstream service did not answer in time (named in `upstream`).",
}
# Every proxied route can meet these.
UPSTREAM_PROBLEMS = (503, 504)


def answer(container: Any | None, description: str) -> ResponseSpec:
    """A documented success answer (``container`` None: its shape is filled in later, or
    it has no body)."""
    return ResponseSpec(data_container=container, description=description, generate_examples=False)


def problem_responses(*codes: int) -> dict[int, ResponseSpec]:
    """The problems a route can answer, and those every proxied route can."""
    return {
        code: ResponseSpec(
            data_container=ProblemDetails,
            description=PROBLEMS[code],
            media_type=PROBLEM_MEDIA_TYPE,
            generate_examples=False,
        )
        for code in (*codes, *UPSTREAM_PROBLEMS)
    }


def responses(success: tuple[int, Any | None, str], *problems: int) -> dict[int, ResponseSpec]:
    """OpenAPI responses of a hand-written route: its success shape and its problems."""
    status, container, description = success
    return {status: answer(container, description), **problem_responses(*problems)}


class OfflineSwaggerRenderPlugin(SwaggerRenderPlugin):
    """Swagger UI from local assets, loading the document by URL, with no online validator."""

    def __init__(self, *, path: str = "/", **kwargs: Any) -> None:
        super().__init__(
            js_url=f"{SWAGGER}/swagger-ui-bundle.js",
            css_url=f"{SWAGGER}/swagger-ui.css",
            standalone_preset_js_url=f"{SWAGGER}/swagger-ui-standalone-preset.js",
            favicon=f"<link rel='icon' type='image/png' href='{SWAGGER}/favicon-32x32.png'>",
            path=path,
            **kwargs,
        )

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = _html_escape(str(openapi_schema.get("info", {}).get("title", "API")))
        config = {
            "url": self.get_openapi_json_route(request),
            "dom_id": "#swagger-ui",
            "deepLinking": True,
            "persistAuthorization": False,
            "validatorUrl": None,
            "displayRequestDuration": True,
            "tryItOutEnabled": True,
        }
        return f"""<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{title}</title>
    {self.favicon}
    <link rel="stylesheet" href="{self.css_url}">
    <style>body {{ margin: 0; }}</style>
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="{self.js_url}"></script>
    <script src="{self.standalone_preset_js_url}"></script>
    <script>
      window.ui = SwaggerUIBundle(Object.assign({json.dumps(config)}, {{
        presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
        plugins: [SwaggerUIBundle.plugins.DownloadUrl],
        layout: "BaseLayout"
      }}));
    </script>
  </body>
</html>
""".encode()


class CompletedJsonRenderPlugin(JsonRenderPlugin):
    """The document as JSON, completed once by ``complete`` (the upstreams' shapes of the
    pass-through routes, :func:`medley_gateway.contracts.compose`) before it is served."""

    def __init__(self, complete: Callable[[dict[str, Any]], dict[str, Any]], **kwargs: Any):
        super().__init__(**kwargs)
        self._complete = complete
        self._rendered: bytes | None = None

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        if self._rendered is None:
            self._rendered = self.render_json(request, self._complete(openapi_schema))
        return self._rendered


def _html_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def static_files_router() -> Router:
    return create_static_files_router(
        path=STATIC_PATH,
        directories=[STATIC_DIR],
        include_in_schema=False,
        send_as_attachment=False,
        cache_control=CacheControlHeader(max_age=86_400, public=True),
        name="static",
    )


def openapi_config(
    *,
    version: str,
    enabled: bool = True,
    complete: Callable[[dict[str, Any]], dict[str, Any]] = lambda document: document,
) -> OpenAPIConfig | None:
    """The document and its pages; ``complete`` finishes the document before it is served."""
    if not enabled:
        return None
    return OpenAPIConfig(
        title="Medley API",
        version=version,
        description=(
            "Medley's public API. Errors are RFC 9457 problem details "
            "(`application/problem+json`) with a `request_id` to quote. Authenticate with "
            "`Authorization: Bearer <access token>` from `POST /api/v1/auth/login`."
        ),
        path=DOCS_PATH,
        render_plugins=[OfflineSwaggerRenderPlugin(path="/"), CompletedJsonRenderPlugin(complete)],
        tags=TAGS,
        servers=[Server(url="/", description="this gateway")],
        components=Components(
            security_schemes={
                BEARER_SCHEME: SecurityScheme(
                    type="http",
                    scheme="bearer",
                    bearer_format="JWT",
                    description="An access token from POST /api/v1/auth/login.",
                )
            }
        ),
        use_handler_docstrings=True,
    )
