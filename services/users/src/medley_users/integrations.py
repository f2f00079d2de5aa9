"""Connected integrations (Spotify, Last.fm, Roon, ListenBrainz): one per provider per user,
their tokens encrypted at rest with AES-256-GCM.

Every ciphertext is stored with the id of the key that made it. The first configured key
encrypts; every configured key decrypts, so keys rotate without downtime: add the new key
first, run :func:`reencrypt_all` (``POST /admin/integrations/reencrypt``), then drop the old.
The associated data binds a ciphertext to its user, provider and field, so a ciphertext
copied into another row does not decrypt.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_core.errors import NotFound
from medley_core.ids import utcnow
from medley_users.models import PROVIDERS, Integration
from medley_users.settings import IntegrationKey, UsersSettings
from medley_users.tokens import write_private_file

log = logging.getLogger("medley.users.integrations")

NONCE_BYTES = 12
DEV_KEY_FILE = "integration-keys.json"


class UndecryptableError(Exception):
    """A ciphertext none of the configured keys opens (its key was removed too early)."""


class IntegrationCipher:
    """AES-256-GCM under a list of keys: the first encrypts, all decrypt."""

    def __init__(self, keys: Sequence[IntegrationKey]) -> None:
        if not keys:
            raise ValueError("at least one integration key is needed")
        self.current_id = keys[0].id
        self._keys = {k.id: AESGCM(k.raw) for k in keys}

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def encrypt(self, plaintext: str, aad: bytes) -> bytes:
        """``nonce || ciphertext+tag`` under the current key (id: :attr:`current_id`)."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._keys[self.current_id].encrypt(nonce, plaintext.encode(), aad)

    def decrypt(self, key_id: str, blob: bytes, aad: bytes) -> str:
        key = self._keys.get(key_id)
        if key is None:
            raise UndecryptableError(f"integration key {key_id!r} is not configured")
        try:
            return key.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad).decode()
        except InvalidTag:
            raise UndecryptableError("an integration token does not decrypt") from None


def load_dev_integration_keys(directory: Path) -> list[IntegrationKey]:
    path = directory / DEV_KEY_FILE
    if not path.exists():
        key = {"id": "dev-1", "key": base64.b64encode(os.urandom(32)).decode()}
        write_private_file(path, json.dumps([key]).encode())
        log.info("generated a development integration key at %s", path)
    return [IntegrationKey.model_validate(item) for item in json.loads(path.read_text())]


def load_cipher(settings: UsersSettings) -> IntegrationCipher:
    if settings.integration_keys:
        return IntegrationCipher(settings.integration_keys)
    if not settings.generate_dev_keys:
        raise RuntimeError(
            "no integration key: set MEDLEY_USERS_INTEGRATION_KEYS, or allow development "
            "keys with MEDLEY_USERS_GENERATE_DEV_KEYS=true"
        )
    return IntegrationCipher(load_dev_integration_keys(settings.keys_dir))


def _aad(user_id: uuid.UUID, provider: str, field: str) -> bytes:
    return f"medley-integration:{user_id}:{provider}:{field}".encode()


def check_provider(provider: str) -> str:
    if provider not in PROVIDERS:
        raise NotFound(f"unknown provider {provider!r}", supported_providers=list(PROVIDERS))
    return provider


@dataclass(frozen=True)
class Connection:
    """What the user connects: the provider account and its tokens (plaintext)."""

    external_user_id: str
    scopes: Sequence[str]
    access_token: str
    refresh_token: str | None
    expires_at: datetime | None


@dataclass(frozen=True)
class IntegrationSecrets:
    """An integration with its tokens decrypted (for services acting for the user)."""

    integration: Integration
    access_token: str
    refresh_token: str | None


async def get(session: AsyncSession, user_id: uuid.UUID, provider: str) -> Integration | None:
    return (
        await session.exec(
            select(Integration).where(
                col(Integration.user_id) == user_id, col(Integration.provider) == provider
            )
        )
    ).one_or_none()


async def connect(
    session: AsyncSession,
    cipher: IntegrationCipher,
    user_id: uuid.UUID,
    provider: str,
    connection: Connection,
) -> tuple[Integration, bool]:
    """Connect ``provider`` for the user, or replace its connection; (row, created)."""
    check_provider(provider)
    now = utcnow()
    row = (
        await session.exec(
            select(Integration)
            .where(col(Integration.user_id) == user_id, col(Integration.provider) == provider)
            .with_for_update()
        )
    ).one_or_none()
    access = cipher.encrypt(connection.access_token, _aad(user_id, provider, "access_token"))
    refresh = (
        cipher.encrypt(connection.refresh_token, _aad(user_id, provider, "refresh_token"))
        if connection.refresh_token is not None
        else None
    )
    created = row is None
    if row is None:
        row = Integration(
            user_id=user_id,
            provider=provider,
            external_user_id=connection.external_user_id,
            key_id=cipher.current_id,
            access_token_ciphertext=access,
            created_at=now,
        )
    row.external_user_id = connection.external_user_id
    row.scopes = list(dict.fromkeys(connection.scopes))
    row.expires_at = connection.expires_at
    row.key_id = cipher.current_id
    row.access_token_ciphertext = access
    row.refresh_token_ciphertext = refresh
    row.updated_at = now
    session.add(row)
    await session.flush()
    return row, created


async def list_for(session: AsyncSession, user_id: uuid.UUID) -> list[Integration]:
    return list(
        (
            await session.exec(
                select(Integration)
                .where(col(Integration.user_id) == user_id)
                .order_by(col(Integration.provider))
            )
        ).all()
    )


async def disconnect(session: AsyncSession, user_id: uuid.UUID, provider: str) -> None:
    check_provider(provider)
    result = await session.exec(
        delete(Integration).where(
            col(Integration.user_id) == user_id, col(Integration.provider) == provider
        )
    )
    if not result.rowcount:
        raise NotFound(f"no {provider} integration is connected")


def decrypt(cipher: IntegrationCipher, row: Integration) -> IntegrationSecrets:
    access = cipher.decrypt(
        row.key_id, row.access_token_ciphertext, _aad(row.user_id, row.provider, "access_token")
    )
    refresh = (
        cipher.decrypt(
            row.key_id,
            row.refresh_token_ciphertext,
            _aad(row.user_id, row.provider, "refresh_token"),
        )
        if row.refresh_token_ciphertext is not None
        else None
    )
    return IntegrationSecrets(row, access, refresh)


async def secrets_for(
    session: AsyncSession, cipher: IntegrationCipher, user_id: uuid.UUID, provider: str
) -> IntegrationSecrets:
    check_provider(provider)
    row = await get(session, user_id, provider)
    if row is None:
        raise NotFound(f"no {provider} integration is connected for this user")
    return decrypt(cipher, row)


async def reencrypt_all(
    session: AsyncSession, cipher: IntegrationCipher, *, batch_size: int = 500
) -> int:
    """Re-encrypt under the current key every row made with another key; how many.

    Rows are locked and skipped if locked elsewhere (another replica running the same
    rotation), in batches, all within the caller's transaction.
    """
    done = 0
    while True:
        rows = list(
            (
                await session.exec(
                    select(Integration)
                    .where(col(Integration.key_id) != cipher.current_id)
                    .order_by(col(Integration.id))
                    .limit(batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
        )
        if not rows:
            return done
        for row in rows:
            plain = decrypt(cipher, row)
            row.key_id = cipher.current_id
            row.access_token_ciphertext = cipher.encrypt(
                plain.access_token, _aad(row.user_id, row.provider, "access_token")
            )
            if plain.refresh_token is not None:
                row.refresh_token_ciphertext = cipher.encrypt(
                    plain.refresh_token, _aad(row.user_id, row.provider, "refresh_token")
                )
            session.add(row)
        await session.flush()
        done += len(rows)
