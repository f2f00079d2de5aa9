"""The users service's pass-through routes: the caller's own account (``/api/v1/me``), what
operators do to accounts (``/api/v1/admin``), token refresh, logout, the client-credentials
grant, and the token verification keys.

Login and register are not in ``ROUTES``: they are rate limited before the upstream is
called (:mod:`medley_gateway.api.auth`); ``REGISTER`` declares register for the document.
Bodies the users service takes are decoded here for their shape (``body=``), so a malformed
one costs no upstream call; the users service owns the rules and answers the problems when
they are broken.
"""

from __future__ import annotations

from medley_gateway.routing import ADMIN, PUBLIC, USER, Group, Route
from medley_gateway.schemas import (
    ApiTokenRequest,
    ChangePasswordRequest,
    DeleteMeRequest,
    IntegrationRequest,
    RefreshRequest,
    ServiceTokenRequest,
    UpdateMeRequest,
)

USERS = "users"
FORM = "application/x-www-form-urlencoded"
JWKS_CACHE_CONTROL = "public, max-age=300"
# What a body can meet on its way: malformed, too large, breaking a rule.
BODY = (400, 413, 422)

me = Group("/api/v1/me", USERS, "/me", USER, tags=("me",))
admin = Group("/api/v1/admin", USERS, "/admin", ADMIN, tags=("admin",))
auth = Group("/api/v1/auth", USERS, "", PUBLIC, tags=("auth",))

ME: tuple[Route, ...] = (
    me.get("", summary="Who am I", answer="The caller."),
    me.patch(
        "",
        summary="Update my profile",
        answer="The updated account.",
        body=UpdateMeRequest,
        problems=(*BODY, 409),
    ),
    me.delete(
        "",
        status=202,
        summary="Delete my account",
        answer="The account is gone; the erasure of its data started.",
        description="Delete the account (confirm with the password): it is gone at once, "
        "and every service erases the user's data.",
        body=DeleteMeRequest,
        problems=BODY,
    ),
    me.post(
        "/password",
        summary="Change my password",
        answer="Changed: every other session ended; a fresh token pair.",
        body=ChangePasswordRequest,
        problems=BODY,
    ),
    me.get("/api-tokens", summary="My API tokens", answer="The tokens (never their secrets)."),
    me.post(
        "/api-tokens",
        status=201,
        summary="Create an API token",
        answer="The token, shown this once.",
        description="A long-lived token for a scrobbling client (``Authorization: Token …``).",
        body=ApiTokenRequest,
        problems=(*BODY, 409),
    ),
    me.get(
        "/api-tokens/{token_id:uuid}",
        summary="One of my API tokens",
        answer="The token (never its secret); where a creation's Location points.",
        problems=(404,),
    ),
    me.delete(
        "/api-tokens/{token_id:uuid}",
        status=204,
        summary="Revoke an API token",
        answer="Revoked.",
        problems=(404,),
    ),
    me.get(
        "/integrations",
        summary="My connected integrations",
        answer="Connections (never their tokens).",
    ),
    me.put(
        "/integrations/{provider:str}",
        summary="Connect an integration",
        answer="The connection, replaced.",
        also={201: "The connection, new."},
        description="Connect (or replace) the provider (``spotify``, ``lastfm``, ``roon``…).",
        body=IntegrationRequest,
        problems=(*BODY, 404),
    ),
    me.delete(
        "/integrations/{provider:str}",
        status=204,
        summary="Disconnect an integration",
        answer="Disconnected.",
        problems=(404,),
    ),
)

ADMIN_ROUTES: tuple[Route, ...] = (
    admin.get(
        "/users",
        summary="List accounts",
        answer="A page.",
        description="Accounts, oldest first, a page at a time. The query string is passed "
        "to the users service as it came; it checks the values.",
        problems=(400,),
    ),
    admin.post(
        "/users/{user_id:uuid}/disable",
        summary="Disable an account",
        answer="Disabled; its sessions are revoked.",
        takes_body=False,
        problems=(404,),
    ),
    admin.post(
        "/users/{user_id:uuid}/enable",
        summary="Enable an account",
        answer="Enabled.",
        takes_body=False,
        problems=(404,),
    ),
    admin.put(
        "/users/{user_id:uuid}/roles/{role:str}",
        summary="Grant a role (admin)",
        answer="The account, with the role.",
        description="Give an account the `admin` role (nothing changes if it has it). Its "
        "next login or refresh carries the role.",
        takes_body=False,
        problems=(404, 422),
    ),
    admin.delete(
        "/users/{user_id:uuid}/roles/{role:str}",
        summary="Revoke a role (admin)",
        answer="The account, without the role.",
        description="Take the `admin` role from an account (one's own too); refused (409) "
        "when it is the last enabled admin. Access tokens already issued keep it until they "
        "expire.",
        problems=(404, 409, 422),
    ),
    admin.get(
        "/erasures/{user_id:uuid}",
        summary="An account erasure's progress",
        answer="Which contexts have erased the user's data.",
        problems=(404,),
    ),
)

AUTH: tuple[Route, ...] = (
    auth.post(
        "/refresh",
        summary="Refresh the tokens",
        answer="The next token pair.",
        description="Rotate a refresh token. Presenting an already-used one revokes its "
        "whole family.",
        body=RefreshRequest,
        problems=(*BODY, 401),
    ),
    auth.post(
        "/logout",
        status=204,
        summary="Log out",
        answer="The refresh token's family is revoked.",
        description="Revoke the session (refresh-token family) the token belongs to.",
        body=RefreshRequest,
        forward_authorization=True,
        problems=BODY,
    ),
    auth.post(
        "/token",
        to="/oauth/token",
        summary="Service token (OAuth2 client credentials)",
        answer="A service access token.",
        description="OAuth2 client-credentials grant (RFC 6749 §4.4), for Medley's own "
        "services and trusted integrations: ``grant_type=client_credentials``, the client's "
        "id and secret (HTTP Basic or in the body) and an optional ``scope``. The body is "
        "passed to the users service as it came (form-encoded or JSON).",
        # The users service reads the form or the JSON itself, and the client's Basic
        # credentials from Authorization.
        request=ServiceTokenRequest,
        request_media_types=(FORM, "application/json"),
        forward_authorization=True,
        problems=(*BODY, 401),
    ),
    Route(
        method="GET",
        path="/.well-known/jwks.json",
        upstream=USERS,
        upstream_path="/.well-known/jwks.json",
        caller=PUBLIC,
        tags=("keys",),
        summary="Token verification keys (JWKS)",
        answer="The public keys that verify Medley access tokens.",
        description="Verify Medley access tokens (EdDSA) with these keys; cache them, "
        "refetch on an unknown ``kid``.",
        default_headers={"Cache-Control": JWKS_CACHE_CONTROL},
    ),
)

ROUTES: tuple[Route, ...] = (*AUTH, *ME, *ADMIN_ROUTES)

#: Written by hand (:mod:`medley_gateway.api.auth`, which takes its status, summary and
#: statuses from here), not made by :func:`~medley_gateway.routing.handler`; declared so
#: the document shows the users service's shapes for it, like a pass-through's.
REGISTER = auth.post(
    "/register",
    status=201,
    summary="Create an account",
    answer="The new account.",
    problems=(*BODY, 409, 429),
)
