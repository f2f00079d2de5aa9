"""OAuth2 client credentials (``/oauth/token``) and the public keys (``/.well-known/jwks.json``)."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import unquote

from litestar import Request, get, post
from litestar.datastructures import CacheControlHeader
from litestar.status_codes import HTTP_200_OK

from medley_core.errors import Problem
from medley_users import service_clients
from medley_users.api.deps import Session, Users
from medley_users.api.schemas import JwksOut, ServiceTokenOut

FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
JSON = "application/json"
PARAMS = ("grant_type", "client_id", "client_secret", "scope")


class UnsupportedMediaType(Problem):
    status = 415
    slug = "unsupported-media-type"


def _basic_credentials(request: Request[Any, Any, Any]) -> tuple[str, str] | None:
    """``Authorization: Basic`` client authentication (RFC 6749 §2.3.1)."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise service_clients.invalid_client() from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise service_clients.invalid_client()
    # RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
    return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))


async def _token_params(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The token request's parameters, from a form or a JSON object."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    raw: dict[str, Any]
    if media_type in (FORM, MULTIPART):
        form = await request.form()
        raw = {key: form.getall(key) for key in form}
        if any(len(values) > 1 for values in raw.values()):
            raise service_clients.invalid_request("a parameter is repeated")
        raw = {key: values[0] for key, values in raw.items()}
    elif media_type == JSON:
        try:
            raw = await request.json()
        except Exception:
            raise service_clients.invalid_request("the body is not valid JSON") from None
        if not isinstance(raw, dict):
            raise service_clients.invalid_request("the body must be a JSON object")
    else:
        raise UnsupportedMediaType(f"send the token request as {FORM} or {JSON}")
    params: dict[str, str] = {}
    for key in PARAMS:
        value = raw.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or len(value) > 1024:
            raise service_clients.invalid_request(f"{key} must be a string of at most 1024")
        params[key] = value
    return params


@post(
    "/oauth/token",
    status_code=HTTP_200_OK,
    cache_control=CacheControlHeader(no_store=True),
    tags=["oauth"],
    summary="A service token (OAuth2 client credentials; form or JSON)",
)
async def token(
    request: Request[Any, Any, Any], db_session: Session, users: Users
) -> ServiceTokenOut:
    params = await _token_params(request)
    basic = _basic_credentials(request)
    client_id, client_secret = params.get("client_id"), params.get("client_secret")
    if basic is not None:
        if client_secret is not None:
            raise service_clients.invalid_request("authenticate the client one way, not two")
        if client_id is not None and client_id != basic[0]:
            raise service_clients.invalid_request("client_id does not match the credentials")
        client_id, client_secret = basic
    grant = await service_clients.client_credentials(
        db_session,
        users.tokens,
        grant_type=params.get("grant_type"),
        client_id=client_id,
        client_secret=client_secret,
        scope=params.get("scope"),
    )
    return ServiceTokenOut(
        access_token=grant.token.token,
        expires_in=grant.token.expires_in,
        scope=" ".join(grant.scopes),
    )


@get(
    "/.well-known/jwks.json",
    cache_control=CacheControlHeader(public=True, max_age=300),
    tags=["oauth"],
    summary="The public keys access tokens are signed with",
    sync_to_thread=False,
)
def jwks(users: Users) -> JwksOut:
    return JwksOut.model_validate(users.keys.jwks())
