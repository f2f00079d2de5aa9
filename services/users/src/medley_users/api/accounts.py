"""Registration, login, refresh and logout; the caller's own account (``/me``)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, delete, get, patch, post
from litestar.datastructures import CacheControlHeader, ResponseHeader
from litestar.di import Provide
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED

from medley_core.auth import require_user
from medley_core.db import transaction
from medley_core.errors import Forbidden, Problem, Unauthorized, Unprocessable
from medley_users import accounts
from medley_users.api.deps import (
    Me,
    Runtime,
    Session,
    Users,
    provide_current_user,
    provide_current_user_to_read,
)
from medley_users.api.schemas import (
    DeleteMeIn,
    ErasureStartedOut,
    LoginIn,
    PasswordChangeIn,
    ProfilePatch,
    RefreshIn,
    RegisterIn,
    TokenPairOut,
    UserOut,
)
from medley_users.tokens import RefreshVerdict

NO_STORE = CacheControlHeader(no_store=True)
LOCATION = "The account's address: `/me`, read with an access token of it (log in first)."


def _pair(pair: accounts.TokenPair) -> TokenPairOut:
    return TokenPairOut(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    )


class AuthController(Controller):
    tags = ["auth"]

    @post(
        "/register",
        status_code=HTTP_201_CREATED,
        summary="Create an account",
        # Where the new account is read: its own address once logged in. No route reads an
        # account by id but the administrators' list, which its owner may not call.
        response_headers=[ResponseHeader(name="Location", value="/me", description=LOCATION)],
    )
    async def register(
        self, data: JSONBody[RegisterIn], db_session: Session, users: Users
    ) -> UserOut:
        user = await accounts.register(
            db_session,
            users,
            accounts.Registration(
                username=data.username,
                email=data.email,
                password=data.password,
                display_name=data.display_name,
            ),
        )
        return UserOut.of(user)

    @post("/login", status_code=HTTP_200_OK, cache_control=NO_STORE, summary="Log in")
    async def login(self, data: JSONBody[LoginIn], runtime: Runtime, users: Users) -> TokenPairOut:
        # Its own transaction, committed before answering: a refusal may have counted a
        # failed login against the account's budget, and that must stick.
        async with transaction(runtime.sessions) as session:
            result = await accounts.login(session, users, data.login, data.password)
        if isinstance(result, Problem):
            raise result
        return _pair(result)

    @post(
        "/refresh",
        status_code=HTTP_200_OK,
        cache_control=NO_STORE,
        summary="Exchange a refresh token for a new pair (the old one is used up)",
    )
    async def refresh(
        self, data: JSONBody[RefreshIn], runtime: Runtime, users: Users
    ) -> TokenPairOut:
        # Its own transaction, committed before answering: a refusal for reuse has just
        # revoked the whole family, and that must stick even though the answer is a 401.
        async with transaction(runtime.sessions) as session:
            result = await accounts.refresh(session, users, data.refresh_token)
        if isinstance(result, RefreshVerdict):
            slug = f"refresh-token-{result.value}"
            if result is RefreshVerdict.DISABLED:
                raise Forbidden(result.detail, slug="account-disabled")
            raise Unauthorized(result.detail, slug=slug)
        return _pair(result)

    @post("/logout", status_code=204, summary="End the session of a refresh token")
    async def logout(self, data: JSONBody[RefreshIn], db_session: Session, users: Users) -> None:
        await accounts.logout(db_session, users, data.refresh_token)


class MeController(Controller):
    path = "/me"
    tags = ["me"]
    guards = [require_user()]
    dependencies = {"me": Provide(provide_current_user)}

    @get(
        "/",
        summary="The caller's account",
        dependencies={"me": Provide(provide_current_user_to_read)},
    )
    async def me(self, me: Me) -> UserOut:
        return UserOut.of(me)

    @patch("/", summary="Change the display name and/or the email address")
    async def update(self, data: JSONBody[ProfilePatch], me: Me, db_session: Session) -> UserOut:
        changes: dict[str, Any] = {}
        if "display_name" in data.model_fields_set:
            changes["display_name"] = data.display_name
        if "email" in data.model_fields_set:
            if data.email is None:
                raise Unprocessable(
                    "the email address cannot be removed",
                    errors=[{"field": "email", "message": "must not be null"}],
                )
            changes["email"] = data.email
        return UserOut.of(await accounts.update_profile(db_session, me, **changes))

    @post(
        "/password",
        status_code=HTTP_200_OK,
        cache_control=NO_STORE,
        summary="Change the password: other sessions end, a fresh pair is returned",
    )
    async def change_password(
        self, data: JSONBody[PasswordChangeIn], me: Me, db_session: Session, users: Users
    ) -> TokenPairOut:
        pair = await accounts.change_password(
            db_session, users, me, data.current_password, data.new_password
        )
        return _pair(pair)

    @delete(
        "/",
        status_code=HTTP_202_ACCEPTED,
        summary="Delete the account (password confirmation); starts the erasure",
    )
    async def delete_me(
        self, data: JSONBody[DeleteMeIn], me: Me, db_session: Session, users: Users
    ) -> ErasureStartedOut:
        erasure = await accounts.delete_account(db_session, users, me, data.password)
        return ErasureStartedOut(
            erasure_id=erasure.id,
            status="completed" if erasure.completed_at is not None else "pending",
        )
