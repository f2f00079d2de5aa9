"""What the catalog's handlers share: who may write, and the service's settings."""

from __future__ import annotations

from typing import Any, TypeAlias

from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard

from medley_catalog.settings import CatalogSettings
from medley_core.app import Session as Session
from medley_core.auth import authenticate
from medley_core.errors import Forbidden
from medley_core.registry import CATALOG_WRITE

# Explicit markers for everything injected (Litestar 3 drops inferred dependencies); the
# app's own (Session…) are medley_core.app's.
Settings: TypeAlias = NamedDependency[CatalogSettings]


def require_writer() -> Guard:
    """A guard for catalog writes: administrators (user tokens with the ``admin`` role) and
    services holding the ``catalog:write`` scope. 401 without a valid token, 403 for anyone
    else."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = await authenticate(connection)
        if principal.is_service and principal.has_scope(CATALOG_WRITE):
            return
        if principal.is_admin and not principal.is_service:
            return
        raise Forbidden(
            f"catalog writes are for administrators and services with the {CATALOG_WRITE!r} scope"
        )

    return guard
