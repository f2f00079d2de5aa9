"""The one place Medley's services register.

The launcher, the docker-compose provisioner and the test fixtures all read this list, so a
new bounded context (catalog, ingestion, playlists) appears everywhere by appending one
:class:`ServiceSpec` to :data:`SERVICES`, in start order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from medley_catalog import MIGRATIONS_DIR as CATALOG_MIGRATIONS_DIR
from medley_core.provisioning import ServiceDatabase
from medley_core.settings import env_prefix_for
from medley_users import MIGRATIONS_DIR as USERS_MIGRATIONS_DIR


@dataclass(frozen=True)
class ServiceSpec:
    """How to provision and run one service.

    ``app`` is the import path of a zero-argument ASGI factory that reads its settings from
    the environment (``MEDLEY_<NAME>_…``). A spec without ``schema`` owns no data (the
    gateway). The launcher starts the next child once ``ready_path`` answers 200.
    """

    name: str
    app: str
    schema: str | None = None
    role: str | None = None
    migrations_dir: Path | None = None
    extensions: tuple[str, ...] = field(default=())
    ready_path: str = "/health/ready"

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


USERS = ServiceSpec(
    name="users",
    app="medley_users.app:create_app",
    schema="users",
    role="medley_users",
    migrations_dir=USERS_MIGRATIONS_DIR,
)

CATALOG = ServiceSpec(
    name="catalog",
    app="medley_catalog.app:create_app",
    schema="catalog",
    role="medley_catalog",
    migrations_dir=CATALOG_MIGRATIONS_DIR,
    # Typo-tolerant, accent-insensitive search; created by the administrator at provisioning.
    extensions=("pg_trgm", "unaccent"),
)

# The services that own data, in start order: users first (everyone needs its JWKS and
# service tokens). Append ingestion and playlists here as they arrive.
SERVICES: tuple[ServiceSpec, ...] = (USERS, CATALOG)

# The public surface; owns no data, starts last. Its readiness asks every upstream it knows,
# including any the launcher does not run yet, so the launcher waits for its liveness.
GATEWAY = ServiceSpec(
    name="gateway", app="medley_gateway.app:create_app", ready_path="/health/live"
)


def service(name: str) -> ServiceSpec:
    """The registered service (or gateway) called ``name``."""
    for spec in (*SERVICES, GATEWAY):
        if spec.name == name:
            return spec
    raise KeyError(f"no service named {name!r}")
