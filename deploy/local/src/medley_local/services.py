"""The services the launcher, the provisioner and the test fixtures run, as they run them.

The list itself is :mod:`medley_core.registry` (pure data, shared with the gateway, the users
service and the container entry point); this module adds what only a process that imports
the services can know: where each one's Alembic history is. A new bounded context appears
here by its one entry in the registry.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path

from medley_core import registry
from medley_core.provisioning import ServiceDatabase
from medley_core.settings import env_prefix_for


@dataclass(frozen=True)
class ServiceSpec:
    """How to provision and run one service.

    ``app`` is the import path of a zero-argument ASGI factory that reads its settings from
    the environment (``MEDLEY_<NAME>_…``). A spec without ``schema`` owns no data (the
    gateway). The launcher starts the next child once ``ready_path`` answers 200. ``scopes``
    are what its service client may be granted; a spec that owns data answers erasures
    unless ``erases_user_data`` is off (see :class:`medley_core.registry.ServiceEntry`).
    """

    name: str
    app: str
    schema: str | None = None
    role: str | None = None
    migrations_dir: Path | None = None
    extensions: tuple[str, ...] = field(default=())
    ready_path: str = "/health/ready"
    scopes: tuple[str, ...] = field(default=())
    erases_user_data: bool = True

    @classmethod
    def of(cls, entry: registry.ServiceEntry) -> ServiceSpec:
        """The registry's entry, with its history found beside its package."""
        migrations_dir: Path | None = None
        if entry.owns_data:
            migrations_dir = Path(importlib.import_module(entry.module).MIGRATIONS_DIR)
        return cls(
            name=entry.name,
            app=entry.app,
            schema=entry.schema,
            role=entry.role,
            migrations_dir=migrations_dir,
            extensions=entry.extensions,
            ready_path=entry.ready_path,
            scopes=entry.scopes,
            erases_user_data=entry.erases_user_data,
        )

    def __post_init__(self) -> None:
        owns_data = (self.schema, self.role, self.migrations_dir)
        if any(owns_data) and not all(owns_data):
            raise ValueError(f"{self.name}: schema, role and migrations_dir go together")

    @property
    def env_prefix(self) -> str:
        """``MEDLEY_USERS_`` for ``users``."""
        return env_prefix_for(self.name)

    @property
    def client_id(self) -> str:
        """Its OAuth client id for service tokens (client credentials)."""
        return self.name

    @property
    def owns_data(self) -> bool:
        return self.schema is not None

    def role_name(self, suffix: str = "") -> str:
        """The login role; tests add a per-run suffix because roles are cluster-wide."""
        if self.role is None:
            raise ValueError(f"{self.name} owns no database")
        return f"{self.role}{suffix}"

    def database(self, password: str, role_suffix: str = "") -> ServiceDatabase:
        """Its place on the PostgreSQL server, for :func:`medley_core.provisioning.provision`."""
        if self.schema is None or self.migrations_dir is None:
            raise ValueError(f"{self.name} owns no database")
        return ServiceDatabase(
            schema=self.schema,
            role=self.role_name(role_suffix),
            password=password,
            migrations_dir=self.migrations_dir,
            extensions=self.extensions,
        )


# In start order: users first (everyone needs its JWKS and service tokens).
SERVICES: tuple[ServiceSpec, ...] = tuple(ServiceSpec.of(entry) for entry in registry.SERVICES)

# The public surface; owns no data, starts last, and the launcher waits for its liveness.
GATEWAY = ServiceSpec.of(registry.GATEWAY)


def service(name: str) -> ServiceSpec:
    """The registered service (or gateway) called ``name``."""
    for spec in (*SERVICES, GATEWAY):
        if spec.name == name:
            return spec
    raise KeyError(f"no service named {name!r}")


USERS = service("users")
CATALOG = service("catalog")
