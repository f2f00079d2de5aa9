"""The gateway's settings: ``MEDLEY_GATEWAY_<NAME>``, shared ones falling back to ``MEDLEY_<NAME>``.

Upstream URLs are data-driven: every service in :data:`UPSTREAMS` (one per data-owning
service of :mod:`medley_core.registry`) is found at ``MEDLEY_GATEWAY_<SVC>_URL``, else
``MEDLEY_<SVC>_URL`` (what the launcher and compose files set for everyone), else its
development default. ``users_url`` is also a field of every service's settings (it is where
the JWKS is fetched from), so it is read as that field.

The list lives here, not in :mod:`medley_gateway.upstreams`, so that reading settings needs
nothing of the clients built from them (which import these settings).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from medley_core import registry
from medley_core.settings import SHARED_PREFIX, ServiceSettings

ENV_PREFIX = "MEDLEY_GATEWAY_"


@dataclass(frozen=True)
class UpstreamSpec:
    """A service behind the gateway, and where it listens when nothing says otherwise."""

    name: str
    default_url: str


UPSTREAMS: tuple[UpstreamSpec, ...] = tuple(
    UpstreamSpec(service.name, f"http://127.0.0.1:{service.dev_port}")
    for service in registry.SERVICES
)


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    schema_name: ClassVar[str] = "public"  # owns no data
    service_name: ClassVar[str] = "gateway"

    port: int = 8000
    # The public API takes small JSON bodies; uploads go to their own streaming endpoints.
    max_body_bytes: int = Field(default=262_144, ge=1024)

    # {service: base URL} for upstreams other than users; see the module docstring.
    upstream_urls: dict[str, str] = Field(default_factory=dict)
    upstream_connect_timeout_s: float = Field(default=2.0, gt=0)
    upstream_timeout_s: float = Field(default=10.0, gt=0)
    upstream_retries: int = Field(default=2, ge=0, le=5)
    upstream_max_connections: int = Field(default=100, ge=1)
    circuit_failure_threshold: int = Field(default=5, ge=1)
    circuit_reset_s: float = Field(default=10.0, gt=0)
    health_timeout_s: float = Field(default=2.0, gt=0)

    jwks_cache_ttl_s: float = Field(default=300.0, gt=0)
    jwks_min_refresh_s: float = Field(default=5.0, ge=0)

    # How many reverse proxies in front of the gateway append to X-Forwarded-For. 0: the
    # client address is the TCP peer and X-Forwarded-For is ignored (it can be forged).
    forwarded_for_depth: int = Field(default=0, ge=0, le=10)

    # Every request: N per window per user (valid access token) or per client address,
    # counted in NATS KV and so shared by every replica; each replica adds its hits to the
    # shared count every ``rate_limit_batch`` hits of a key (every hit near the limit).
    rate_limit_enabled: bool = True
    rate_limit_per_user: int = Field(default=1200, ge=1)
    rate_limit_per_address: int = Field(default=600, ge=1)
    rate_limit_window_s: int = Field(default=60, ge=1, le=3600)
    rate_limit_batch: int = Field(default=16, ge=1, le=1000)
    # Login and register: N attempts per window per address and per account, counted in the
    # same NATS KV bucket (shared by every replica); a successful login does not count.
    login_per_address: int = Field(default=30, ge=1)
    login_per_account: int = Field(default=10, ge=1)
    login_window_s: int = Field(default=60, ge=1, le=3600)
    register_per_address: int = Field(default=20, ge=1)
    register_per_account: int = Field(default=5, ge=1)
    register_window_s: int = Field(default=600, ge=1, le=3600)
    rate_limit_max_keys: int = Field(default=100_000, ge=100)

    docs_enabled: bool = True
    # Prometheus scrapes /metrics with "Authorization: Bearer <this>"; unset, the gateway
    # (the public surface) does not serve its metrics at all.
    metrics_token: SecretStr | None = Field(default=None, min_length=16)

    # Composed reads (medley_gateway.compose): the whole answer's deadline, and how long
    # catalog parts are kept (0: not at all; catalog.* events empty the cache anyway).
    compose_deadline_s: float = Field(default=3.0, gt=0)
    compose_cache_ttl_s: float = Field(default=5.0, ge=0)
    compose_cache_max_entries: int = Field(default=50_000, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _upstream_urls_from_env(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        given = dict(data.get("upstream_urls") or {})
        for spec in UPSTREAMS:
            if spec.name in given or f"{spec.name}_url" in cls.model_fields:
                continue
            env = spec.name.upper()
            url = os.environ.get(f"{ENV_PREFIX}{env}_URL") or os.environ.get(
                f"{SHARED_PREFIX}{env}_URL"
            )
            given[spec.name] = url or spec.default_url
        return {**data, "upstream_urls": given}

    def upstream_url(self, name: str) -> str:
        """The base URL of the upstream ``name``."""
        field = f"{name}_url"
        if field in type(self).model_fields:
            return str(getattr(self, field))
        return self.upstream_urls[name]
