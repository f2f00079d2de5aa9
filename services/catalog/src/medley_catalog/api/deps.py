"""What the catalog's handlers share: who may write, and the service's settings."""

from __future__ import annotations

from typing import Any, TypeAlias

from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_catalog.settings import CatalogSettings
from medley_core.auth import authenticate
from medley_core.problems import Forbidden

# Explicit markers for everything injected (Litestar 3 drops inferred dependencies).
Session: TypeAlias = NamedDependency[AsyncSession]
Settings: TypeAlias = NamedDependency[CatalogSettings]


def require_writer() -> Guard:
    """A guard for catalog writes: administrators (user tokens with the ``admin`` role) and
    internal services (service tokens). 401 without a valid token, 403 for anyone else."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = await authenticate(connection)
        if principal.is_service or principal.is_admin:
            return
        raise Forbidden("catalog writes are for administrators and internal services")

    return guard
