"""The gateway's public routes: the hand-written ones (rate-limited login and register,
health) and one handler per pass-through route of the tables (:mod:`medley_gateway.routes`)."""

from __future__ import annotations

from collections.abc import Iterable

from litestar.types import ControllerRouterHandler

from medley_gateway.api.auth import AuthController
from medley_gateway.api.health import health, liveness
from medley_gateway.api.listenbrainz import listenbrainz
from medley_gateway.routes import ROUTES
from medley_gateway.routing import PublicPaths, Route, handlers


def route_handlers(
    routes: Iterable[Route] = ROUTES, public_paths: PublicPaths | None = None
) -> list[ControllerRouterHandler]:
    return [AuthController, health, liveness, listenbrainz, *handlers(routes, public_paths)]
