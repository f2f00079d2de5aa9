"""Settings shared by every service, read from the environment.

Each service subclasses :class:`ServiceSettings` with its own prefix (``MEDLEY_USERS_``…).
A handful of settings are the same for the whole deployment (the database server, NATS,
the data directory, how tokens are verified); for those the service-specific variable wins
and the shared ``MEDLEY_<NAME>`` variable is the fallback, so one ``MEDLEY_DATABASE_URL``
configures a laptop while production can give each service its own cluster.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

if TYPE_CHECKING:
    from medley_core.registry import ServiceEntry

SHARED_PREFIX = "MEDLEY_"

# Settings that fall back to MEDLEY_<NAME> when the service's own variable is absent.
SHARED_FIELDS = frozenset(
    {
        "database_url",
        "nats_url",
        "event_prefix",
        "data_dir",
        "log_level",
        "log_json",
        "log_upstream_calls",
        "jwks_url",
        "jwt_issuer",
        "jwt_audience",
        "users_url",
        "db_pool_size",
        "db_max_overflow",
        "revocation_lookback_s",
    }
)


class _SharedEnvSource(EnvSettingsSource):
    """Reads ``MEDLEY_<FIELD>`` for the shared fields only."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        if field_name not in SHARED_FIELDS:
            return None, field_name, False
        return super().get_field_value(field, field_name)


class ServiceSettings(BaseSettings):
    """What every Medley service needs to run. Subclass it with the service's entry in the
    registry, which gives it its name, schema and environment prefix::

        class CatalogSettings(ServiceSettings, service=CATALOG):
            port: int = CATALOG.dev_port
    """

    model_config = SettingsConfigDict(env_prefix="MEDLEY_SERVICE_", extra="ignore")

    # The PostgreSQL schema this service owns; subclasses fix it.
    schema_name: ClassVar[str] = "public"
    service_name: ClassVar[str] = "service"

    host: str = "127.0.0.1"
    port: int = 8100

    database_url: str = "postgresql://postgres@127.0.0.1:5432/medley"
    max_body_bytes: int = Field(default=1_048_576, ge=1024)

    # db_pool_size connections are kept open; up to db_max_overflow more are opened under
    # load and closed when returned (each such request pays for a new connection).
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=10, ge=0, le=200)
    db_echo: bool = False

    nats_url: str = "nats://127.0.0.1:4222"
    # Subjects are "<event_prefix>.<event type>" and streams "<EVENT_PREFIX>_<CONTEXT>".
    # Tests give each run its own prefix so runs never see each other's events.
    event_prefix: str = Field(default="medley", pattern=r"^[a-z][a-z0-9_]*$")
    consumer_max_deliver: int = Field(default=5, ge=1)
    consumer_ack_wait_s: float = Field(default=30.0, gt=0)
    relay_poll_interval_s: float = Field(default=1.0, gt=0)

    data_dir: Path = Path(".medley")
    log_level: str = "INFO"
    log_json: bool = True
    # httpx's INFO line for every upstream call (``HTTP Request: GET …``): off by default,
    # as the access lines are; the metrics count the calls and the failures are logged anyway.
    log_upstream_calls: bool = False

    # Token verification (every service) and service-to-service credentials.
    jwks_url: str | None = None
    jwt_issuer: str = "medley-users"
    jwt_audience: str = "medley"
    users_url: str = "http://127.0.0.1:8101"
    client_id: str | None = None
    client_secret: SecretStr | None = None
    # How far back in the users stream a verifier reads revocations when it starts: at
    # least the access-token lifetime, so no unexpired revoked token is forgotten.
    revocation_lookback_s: float = Field(default=3600.0, gt=0)

    def __init_subclass__(cls, *, service: ServiceEntry | None = None, **kwargs: Any) -> None:
        # ``service`` is taken in __pydantic_init_subclass__, once pydantic has made the class.
        super().__init_subclass__(**kwargs)

    @classmethod
    def __pydantic_init_subclass__(
        cls, *, service: ServiceEntry | None = None, **kwargs: Any
    ) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if service is not None:
            cls.service_name = service.name
            cls.schema_name = service.schema or service.name
            config = cls.model_config.copy()
            config["env_prefix"] = env_prefix_for(service.name)
            cls.model_config = config

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        shared = _SharedEnvSource(settings_cls, env_prefix=SHARED_PREFIX)
        return init_settings, env_settings, shared, dotenv_settings, file_secret_settings


def env_prefix_for(service_name: str) -> str:
    """The environment prefix of a service: ``users`` → ``MEDLEY_USERS_``."""
    return f"{SHARED_PREFIX}{service_name.upper()}_"
