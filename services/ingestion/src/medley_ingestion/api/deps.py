"""What ingestion's handlers share: the session, settings, runtime and the caller."""

from __future__ import annotations

from typing import TypeAlias

from litestar.di import NamedDependency

from medley_core.app import Caller as Caller
from medley_core.app import Runtime as _ServiceRuntime
from medley_core.app import Session as Session
from medley_ingestion.runtime import Ingestion
from medley_ingestion.settings import IngestionSettings

# Explicit markers for everything injected (Litestar 3 drops inferred dependencies); the
# app's own (Session, Caller, ServiceRt) are medley_core.app's.
Settings: TypeAlias = NamedDependency[IngestionSettings]
Runtime: TypeAlias = NamedDependency[Ingestion]
# The service's runtime (its events, sessions), beside ingestion's own Runtime.
ServiceRt: TypeAlias = _ServiceRuntime
