"""The one registry of Medley's services, as plain data.

Everything that needs to know which services exist reads this list: the launcher and the test
plugin (``medley_local.services`` derives its specs from it), the gateway's upstreams, the
users service's erasure contexts and service clients, and the container entry point
(:mod:`medley_core.serve`). docker-compose and the Koyeb definitions cannot import it, so a
test checks them against it. Adding a service is one :class:`ServiceEntry` in
:data:`SERVICES`.

It imports no service package: the gateway, which owns nothing, reads it without pulling in
the services it routes to.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from medley_core.settings import env_prefix_for

# --- scopes ---------------------------------------------------------------------------------
# What a service token may do on another service's internal routes. The users service grants
# a client only the scopes its entry below lists; each internal route requires its own.

#: ``GET /internal/users/{id}/integrations/{provider}`` on users: third-party tokens in clear.
#: Only services that sync from those providers (ingestion, once it syncs) hold it.
INTEGRATIONS_READ = "integrations:read"
#: ``POST /internal/api-tokens/resolve`` on users: whose scrobbling API token this is.
API_TOKENS_RESOLVE = "api-tokens:resolve"
#: ``POST /internal/resolve`` on catalog: match candidates to tracks, creating what is missing.
CATALOG_RESOLVE = "catalog:resolve"
#: ``GET /internal/tracks`` on catalog: every track as a projection holds it (a backfill).
CATALOG_EXPORT = "catalog:export"
#: Catalog writes (create, edit, merge, delete) by a service rather than an administrator.
CATALOG_WRITE = "catalog:write"
#: Ingestion's ListenBrainz routes (``/1/…``) acting for the user whose API token the caller
#: (the gateway) resolved, named in ``X-Medley-User-Id`` / ``X-Medley-Username``.
LISTENS_ON_BEHALF = "listens:on-behalf"

#: Every scope a route requires, with what it allows (the README's table says who holds it).
SCOPES: dict[str, str] = {
    INTEGRATIONS_READ: "read a user's connected-integration tokens in clear",
    API_TOKENS_RESOLVE: "resolve a scrobbling client's API token to its user",
    CATALOG_RESOLVE: "resolve track candidates against the catalog, creating what is missing",
    CATALOG_EXPORT: "read every catalog track as a projection holds it (backfills)",
    CATALOG_WRITE: "create, edit, merge and delete catalog entities",
    LISTENS_ON_BEHALF: "submit and read listens for the user whose API token it resolved",
}


@dataclass(frozen=True)
class ServiceEntry:
    """One service (or the gateway), as every deployment runs it.

    ``app`` is the import path of its zero-argument ASGI factory. A service that owns data
    has a ``schema`` and a login ``role`` (and the ``extensions`` the administrator creates
    in that schema at provisioning); the gateway has neither. ``scopes`` are what its service
    client may be granted; ``calls`` are the services it calls itself (every deployment gives
    it ``MEDLEY_<NAME>_<CALLED>_URL``, which its settings read as ``<called>_url``). A
    service that owns data erases a deleted user's data and confirms with
    ``<name>.user_data.erased``, so the users service waits for it, unless
    ``erases_user_data`` is off (users itself, which erases at once). ``dev_port`` is where it
    listens when started on its own (its settings' default port). Its image is the one
    Dockerfile built with ``--build-arg SERVICE=<name>``.
    """

    name: str
    app: str
    dev_port: int
    schema: str | None = None
    role: str | None = None
    extensions: tuple[str, ...] = field(default=())
    scopes: tuple[str, ...] = field(default=())
    calls: tuple[str, ...] = field(default=())
    erases_user_data: bool = True
    ready_path: str = "/health/ready"

    def __post_init__(self) -> None:
        if (self.schema is None) != (self.role is None):
            raise ValueError(f"{self.name}: schema and role go together")
        unknown = set(self.scopes) - set(SCOPES)
        if unknown:
            raise ValueError(f"{self.name}: unknown scopes {sorted(unknown)}")

    @property
    def owns_data(self) -> bool:
        return self.schema is not None

    @property
    def env_prefix(self) -> str:
        """``MEDLEY_USERS_`` for ``users``."""
        return env_prefix_for(self.name)

    @property
    def client_id(self) -> str:
        """Its OAuth client id for service tokens (client credentials)."""
        return self.name

    @property
    def package(self) -> str:
        """Its uv workspace package (``medley-users``): what its image installs."""
        return f"medley-{self.name}"

    @property
    def module(self) -> str:
        """Its top-level Python package (``medley_users``), which holds ``MIGRATIONS_DIR``."""
        return self.app.partition(":")[0].split(".")[0]


USERS = ServiceEntry(
    name="users",
    app="medley_users.app:create_app",
    dev_port=8101,
    schema="users",
    role="medley_users",
    erases_user_data=False,  # it erases its own rows in the request that deletes the account
)

CATALOG = ServiceEntry(
    name="catalog",
    app="medley_catalog.app:create_app",
    dev_port=8102,
    schema="catalog",
    role="medley_catalog",
    # Typo-tolerant, accent-insensitive search; created by the administrator at provisioning.
    extensions=("pg_trgm", "unaccent"),
)

INGESTION = ServiceEntry(
    name="ingestion",
    app="medley_ingestion.app:create_app",
    dev_port=8103,
    schema="ingestion",
    role="medley_ingestion",
    # Connector tracks are resolved to catalog tracks (created when missing) in batches.
    scopes=(CATALOG_RESOLVE,),
    calls=("catalog",),
)

PLAYLISTS = ServiceEntry(
    name="playlists",
    app="medley_playlists.app:create_app",
    dev_port=8104,
    schema="playlists",
    role="medley_playlists",
    # Imports (M3U, XSPF, Spotify's Playlist1.json) resolve their entries through the
    # catalog's batch resolution; a projection that missed the stream's start is backfilled
    # from the catalog's export.
    scopes=(CATALOG_RESOLVE, CATALOG_EXPORT),
    calls=("catalog",),
)

#: The services that own data, in start order: users first (everyone needs its JWKS and
#: service tokens), the catalog before ingestion (which resolves tracks through it). Each
#: is also one of the gateway's upstreams.
SERVICES: tuple[ServiceEntry, ...] = (USERS, CATALOG, INGESTION, PLAYLISTS)

#: The public surface; owns no data, starts last. Its readiness asks every upstream, including
#: any not running yet, so launchers and health checks wait for its liveness instead.
GATEWAY = ServiceEntry(
    name="gateway",
    app="medley_gateway.app:create_app",
    dev_port=8000,
    # The ListenBrainz-compatible routes authenticate scrobbling clients by API token, and
    # forward the user it names to ingestion.
    scopes=(API_TOKENS_RESOLVE, LISTENS_ON_BEHALF),
    ready_path="/health/live",
)

#: Everything that runs, in start order.
ALL: tuple[ServiceEntry, ...] = (*SERVICES, GATEWAY)


def entry(name: str) -> ServiceEntry:
    """The registered service (or gateway) called ``name``."""
    for candidate in ALL:
        if candidate.name == name:
            return candidate
    raise KeyError(f"no service named {name!r}")


def erasure_contexts(services: tuple[ServiceEntry, ...] = SERVICES) -> list[str]:
    """The contexts the users service waits for before an erasure is complete."""
    return [s.name for s in services if s.owns_data and s.erases_user_data]


def client_scopes(services: tuple[ServiceEntry, ...] = ALL) -> dict[str, list[str]]:
    """``{client_id: [scope, …]}``: what each service client may be granted."""
    return {service.client_id: list(service.scopes) for service in services}
