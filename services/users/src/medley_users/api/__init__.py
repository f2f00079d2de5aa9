"""The users service's HTTP API: thin controllers over the capability modules."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from medley_users.api.accounts import AuthController, MeController
from medley_users.api.admin import AdminController
from medley_users.api.api_tokens import ApiTokensController, InternalApiTokensController
from medley_users.api.integrations import IntegrationsController, InternalIntegrationsController
from medley_users.api.oauth import jwks, token

ROUTE_HANDLERS: list[ControllerRouterHandler] = [
    AuthController,
    MeController,
    ApiTokensController,
    IntegrationsController,
    AdminController,
    InternalApiTokensController,
    InternalIntegrationsController,
    token,
    jwks,
]
