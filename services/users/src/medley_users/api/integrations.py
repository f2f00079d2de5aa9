"""The caller's connected integrations; their tokens for services acting for the user."""

from __future__ import annotations

import uuid

from litestar import Controller, Response, delete, get, put
from litestar.datastructures import CacheControlHeader
from litestar.di import Provide
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from medley_core.auth import require_service, require_user
from medley_core.registry import INTEGRATIONS_READ
from medley_users import integrations
from medley_users.api.deps import (
    Me,
    Session,
    Users,
    provide_current_user,
    provide_current_user_to_read,
)
from medley_users.api.schemas import IntegrationIn, IntegrationOut, IntegrationSecretsOut


class IntegrationsController(Controller):
    path = "/me/integrations"
    tags = ["integrations"]
    guards = [require_user()]
    dependencies = {"me": Provide(provide_current_user)}

    @get(
        "/",
        summary="The caller's connected integrations (without tokens)",
        dependencies={"me": Provide(provide_current_user_to_read)},
    )
    async def list_integrations(self, me: Me, read_session: Session) -> list[IntegrationOut]:
        rows = await integrations.list_for(read_session, me.id)
        return [IntegrationOut.of(row) for row in rows]

    @put(
        "/{provider:str}",
        summary="Connect a provider, or replace its connection (201 when new, else 200)",
    )
    async def connect(
        self,
        provider: FromPath[str],
        data: JSONBody[IntegrationIn],
        me: Me,
        db_session: Session,
        users: Users,
    ) -> Response[IntegrationOut]:
        row, created = await integrations.connect(
            db_session,
            users.cipher,
            me.id,
            provider,
            integrations.Connection(
                external_user_id=data.external_user_id,
                scopes=data.scopes,
                access_token=data.access_token,
                refresh_token=data.refresh_token,
                expires_at=data.expires_at,
            ),
        )
        return Response(
            IntegrationOut.of(row), status_code=HTTP_201_CREATED if created else HTTP_200_OK
        )

    @delete("/{provider:str}", summary="Disconnect a provider")
    async def disconnect(self, provider: FromPath[str], me: Me, db_session: Session) -> None:
        await integrations.disconnect(db_session, me.id, provider)


class InternalIntegrationsController(Controller):
    path = "/internal/users/{user_id:uuid}/integrations"
    tags = ["internal"]
    # Third-party tokens in clear: only for services that sync from those providers.
    guards = [require_service(INTEGRATIONS_READ)]

    @get(
        "/{provider:str}",
        cache_control=CacheControlHeader(no_store=True),
        summary=f"A user's integration with its tokens decrypted (scope {INTEGRATIONS_READ})",
    )
    async def secrets(
        self,
        user_id: FromPath[uuid.UUID],
        provider: FromPath[str],
        db_session: Session,
        users: Users,
    ) -> IntegrationSecretsOut:
        found = await integrations.secrets_for(db_session, users.cipher, user_id, provider)
        row = found.integration
        return IntegrationSecretsOut(
            user_id=row.user_id,
            provider=row.provider,
            external_user_id=row.external_user_id,
            scopes=list(row.scopes),
            access_token=found.access_token,
            refresh_token=found.refresh_token,
            expires_at=row.expires_at,
        )
