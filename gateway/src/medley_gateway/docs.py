"""The API docs page at ``/docs``: Swagger UI served by the gateway itself, so it works offline.

The Swagger UI assets (``swagger-ui-dist`` from npm, unmodified, Apache-2.0; see
``static/swagger-ui/VERSION``) ship as package data and are served under ``/static/``.
The page loads the OpenAPI document from ``/docs/openapi.json`` and nothing from elsewhere:
the online validator badge is turned off and the favicon is ours.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from litestar import Request
from litestar.datastructures import CacheControlHeader
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme, Server, Tag
from litestar.router import Router
from litestar.static_files import create_static_files_router

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
    Tag(name="health", description="Liveness and readiness of the gateway and its upstreams."),
    Tag(name="keys", description="The public keys that verify Medley access tokens."),
]


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


def openapi_config(*, version: str, enabled: bool = True) -> OpenAPIConfig | None:
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
        render_plugins=[OfflineSwaggerRenderPlugin(path="/"), JsonRenderPlugin()],
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
