"""Service tokens: a service calling another one's internal routes as itself.

The users service issues them (OAuth2 client credentials at ``/oauth/token``) to the
clients :mod:`medley_core.registry` lists, with that entry's scopes. :class:`ServiceTokens`
fetches one, keeps it until shortly before it expires, and fetches again; concurrent
callers share one fetch. A caller whose token was refused (401) calls :meth:`invalidate`
and asks again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any, Protocol

import httpx
from pydantic import SecretStr

from medley_core.errors import ServiceUnavailable
from medley_core.settings import ServiceSettings

TOKEN_PATH = "/oauth/token"  # noqa: S105 (a path, not a secret)
# Fetch a new token this long before the current one expires.
REFRESH_MARGIN_S = 60.0


class AuthorizationSource(Protocol):
    """Something that gives an ``Authorization`` header value for a service call."""

    async def authorization(self) -> str: ...

    def invalidate(self) -> None: ...


class StaticAuthorization:
    """A fixed token (tests mint one their verifier accepts)."""

    def __init__(self, token: str) -> None:
        self._value = f"Bearer {token}"

    async def authorization(self) -> str:
        return self._value

    def invalidate(self) -> None:
        """Nothing to fetch again."""


class ServiceTokens:
    """This service's client-credentials token from the users service, cached."""

    def __init__(
        self,
        users_url: str,
        client_id: str,
        client_secret: str,
        *,
        scope: str | None = None,
        timeout_s: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Any = time.monotonic,
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=users_url.rstrip("/"), timeout=timeout_s, transport=transport
        )
        self._form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
            **({"scope": scope} if scope else {}),
        }
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings: ServiceSettings, *, scope: str | None = None) -> ServiceTokens:
        """From the service's ``client_id``/``client_secret`` and ``users_url``."""
        if settings.client_id is None or settings.client_secret is None:
            raise RuntimeError(
                f"{settings.service_name} needs its client id and secret "
                f"({settings.model_config.get('env_prefix')}CLIENT_ID / _CLIENT_SECRET)"
            )
        return cls(
            settings.users_url,
            settings.client_id,
            settings.client_secret.get_secret_value(),
            scope=scope,
        )

    async def authorization(self) -> str:
        return f"Bearer {await self.token()}"

    async def token(self) -> str:
        if self._token is not None and self._clock() < self._expires_at:
            return self._token
        async with self._lock:
            if self._token is None or self._clock() >= self._expires_at:
                await self._fetch()
            assert self._token is not None
            return self._token

    def invalidate(self) -> None:
        self._token = None
        self._expires_at = 0.0

    async def _fetch(self) -> None:
        try:
            response = await self._client.post(TOKEN_PATH, data=self._form)
        except httpx.TransportError as exc:
            raise ServiceUnavailable(
                f"no service token: the users service is unreachable ({exc})"
            ) from None
        if response.status_code != 200:
            raise ServiceUnavailable(
                f"no service token: the users service answered {response.status_code}"
            )
        body = response.json()
        self._token = str(body["access_token"])
        lifetime = float(body.get("expires_in", 300))
        self._expires_at = self._clock() + max(lifetime - REFRESH_MARGIN_S, lifetime / 2)

    async def aclose(self) -> None:
        await self._client.aclose()


def service_authorization(
    settings: ServiceSettings, *, token: SecretStr | None, scopes: Sequence[str]
) -> AuthorizationSource:
    """A fixed token when one is configured (a process started on its own in tests), else
    this service's client-credentials tokens from the users service, asking for ``scopes``."""
    if token is not None:
        return StaticAuthorization(token.get_secret_value())
    return ServiceTokens.from_settings(settings, scope=" ".join(scopes) or None)
