"""Service clients: OAuth2 client credentials (RFC 6749 §4.4) for service-to-service calls.

Clients come from the settings (``MEDLEY_USERS_SERVICE_CLIENTS``) and are written to the
``service_clients`` table at start-up, secrets as SHA-256 (they are long random strings, so a
fast hash is enough). Errors are problem details carrying the RFC 6749 ``error`` code.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_core.errors import BadRequest, Unauthorized
from medley_core.ids import utcnow
from medley_users.models import ServiceClient
from medley_users.settings import UsersSettings
from medley_users.tokens import IssuedToken, TokenIssuer

GRANT_TYPE = "client_credentials"


def secret_hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


def invalid_client() -> Unauthorized:
    return Unauthorized(
        "the client is unknown or its secret is wrong",
        slug="invalid-client",
        error="invalid_client",
        headers={"WWW-Authenticate": 'Basic realm="medley", error="invalid_client"'},
    )


def invalid_request(detail: str) -> BadRequest:
    return BadRequest(detail, slug="invalid-request", error="invalid_request")


async def sync(session: AsyncSession, settings: UsersSettings) -> None:
    """Make the table match the settings: configured clients upserted, others removed."""
    specs = settings.client_specs()
    now = utcnow()
    for client_id, spec in specs.items():
        values = {
            "client_id": client_id,
            "secret_hash": secret_hash(spec.secret.get_secret_value()),
            "allowed_scopes": list(spec.scopes or ()),
            "updated_at": now,
        }
        statement = insert(ServiceClient).values(created_at=now, **values)
        await session.exec(
            statement.on_conflict_do_update(
                index_elements=[ServiceClient.__table__.c.client_id],  # type: ignore[attr-defined]
                set_={k: statement.excluded[k] for k in values if k != "client_id"},
            )
        )
    await session.exec(delete(ServiceClient).where(col(ServiceClient.client_id).not_in(specs)))


def granted_scopes(allowed: Sequence[str] | None, requested: str | None) -> list[str]:
    """The scopes to grant: the requested ones (all allowed ones if none asked for);
    asking for one the client may not have is ``invalid_scope`` (RFC 6749 §5.2).

    ``None`` (a row written before every client had a list) allows nothing, like ``[]``.
    """
    asked = list(dict.fromkeys((requested or "").split()))
    allowed = allowed or ()
    if not asked:
        return list(allowed)
    refused = [s for s in asked if s not in allowed]
    if refused:
        raise BadRequest(
            f"the client may not ask for: {' '.join(refused)}",
            slug="invalid-scope",
            error="invalid_scope",
        )
    return asked


@dataclass(frozen=True)
class ServiceGrant:
    token: IssuedToken
    scopes: list[str]


async def client_credentials(
    session: AsyncSession,
    issuer: TokenIssuer,
    *,
    grant_type: str | None,
    client_id: str | None,
    client_secret: str | None,
    scope: str | None,
) -> ServiceGrant:
    if not grant_type:
        raise invalid_request("grant_type is required")
    if grant_type != GRANT_TYPE:
        raise BadRequest(
            f"only the {GRANT_TYPE} grant is supported here",
            slug="unsupported-grant-type",
            error="unsupported_grant_type",
        )
    if not client_id or not client_secret:
        raise invalid_client()
    client = (
        await session.exec(select(ServiceClient).where(col(ServiceClient.client_id) == client_id))
    ).one_or_none()
    if client is None or not hmac.compare_digest(client.secret_hash, secret_hash(client_secret)):
        raise invalid_client()
    scopes = granted_scopes(client.allowed_scopes, scope)
    return ServiceGrant(issuer.service_token(client.client_id, scopes), scopes)
