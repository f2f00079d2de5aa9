"""What ingestion's handlers share: the session, settings, runtime and the caller."""

from __future__ import annotations

from typing import TypeAlias

from litestar.di import NamedDependency
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_core.app import ServiceRuntime
from medley_core.verification import Principal
from medley_ingestion.runtime import Ingestion
from medley_ingestion.settings import IngestionSettings

# Explicit markers for everything injected (Litestar 3 drops inferred dependencies).
Session: TypeAlias = NamedDependency[AsyncSession]
Settings: TypeAlias = NamedDependency[IngestionSettings]
Runtime: TypeAlias = NamedDependency[Ingestion]
Caller: TypeAlias = NamedDependency[Principal]
ServiceRt: TypeAlias = NamedDependency[ServiceRuntime]
