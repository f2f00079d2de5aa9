"""The caller's API tokens, and resolving a presented token (services only)."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, get, post
from litestar.datastructures import CacheControlHeader
from litestar.di import Provide
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from medley_core.auth import require_service, require_user
from medley_core.registry import API_TOKENS_RESOLVE
from medley_users import api_tokens
from medley_users.api.deps import (
    Me,
    Session,
    Users,
    provide_current_user,
    provide_current_user_to_read,
)
from medley_users.api.schemas import (
    ApiTokenCreatedOut,
    ApiTokenIn,
    ApiTokenOut,
    ResolvedOut,
    ResolveIn,
)


class ApiTokensController(Controller):
    path = "/me/api-tokens"
    tags = ["api tokens"]
    guards = [require_user()]
    dependencies = {"me": Provide(provide_current_user)}

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        cache_control=CacheControlHeader(no_store=True),
        summary="Create an API token (the token is in this answer only)",
    )
    async def create(
        self, data: JSONBody[ApiTokenIn], me: Me, db_session: Session, users: Users
    ) -> ApiTokenCreatedOut:
        created = await api_tokens.create(
            db_session, me.id, data.name, max_per_user=users.settings.max_api_tokens_per_user
        )
        return ApiTokenCreatedOut(**ApiTokenOut.of(created.row).model_dump(), token=created.token)

    @get(
        "/",
        summary="The caller's API tokens (without the secrets)",
        dependencies={"me": Provide(provide_current_user_to_read)},
    )
    async def list_tokens(self, me: Me, read_session: Session) -> list[ApiTokenOut]:
        return [ApiTokenOut.of(row) for row in await api_tokens.list_for(read_session, me.id)]

    @get(
        "/{token_id:uuid}",
        summary="One of the caller's API tokens (without the secret)",
        dependencies={"me": Provide(provide_current_user_to_read)},
    )
    async def get_token(
        self, token_id: FromPath[uuid.UUID], me: Me, read_session: Session
    ) -> ApiTokenOut:
        # What a creation's Location names (``/me/api-tokens/<id>``).
        return ApiTokenOut.of(await api_tokens.get_for(read_session, me.id, token_id))

    @delete("/{token_id:uuid}", summary="Revoke an API token")
    async def revoke(self, token_id: FromPath[uuid.UUID], me: Me, db_session: Session) -> None:
        await api_tokens.revoke(db_session, me.id, token_id)


class InternalApiTokensController(Controller):
    path = "/internal/api-tokens"
    tags = ["internal"]
    guards = [require_service(API_TOKENS_RESOLVE)]

    @post("/resolve", status_code=HTTP_200_OK, summary="Whose API token this is")
    async def resolve(self, data: JSONBody[ResolveIn], db_session: Session) -> ResolvedOut:
        found = await api_tokens.resolve(db_session, data.token)
        return ResolvedOut(user_id=found.user_id, username=found.username, token_id=found.token_id)
