"""The gateway's public routes; thin: check, limit, forward, relay."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from medley_gateway.api.admin import AdminController
from medley_gateway.api.auth import AuthController
from medley_gateway.api.catalog import CatalogAdminController, CatalogController
from medley_gateway.api.health import health, liveness
from medley_gateway.api.keys import jwks
from medley_gateway.api.me import MeController


def route_handlers() -> list[ControllerRouterHandler]:
    return [
        AuthController,
        MeController,
        AdminController,
        CatalogController,
        CatalogAdminController,
        jwks,
        health,
        liveness,
    ]
