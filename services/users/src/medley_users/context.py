"""What the users capabilities need besides a database session, built once from the settings."""

from __future__ import annotations

from dataclasses import dataclass

from medley_users.integrations import IntegrationCipher, load_cipher
from medley_users.passwords import Argon2Parameters, Passwords
from medley_users.settings import UsersSettings
from medley_users.tokens import KeyRing, RefreshTokens, TokenIssuer, load_key_ring


@dataclass(frozen=True)
class UsersContext:
    settings: UsersSettings
    keys: KeyRing
    tokens: TokenIssuer
    refresh_tokens: RefreshTokens
    passwords: Passwords
    cipher: IntegrationCipher

    @classmethod
    def from_settings(cls, settings: UsersSettings) -> UsersContext:
        keys = load_key_ring(settings)
        return cls(
            settings=settings,
            keys=keys,
            tokens=TokenIssuer(keys, settings),
            refresh_tokens=RefreshTokens(settings.refresh_token_ttl_s),
            passwords=Passwords(
                Argon2Parameters(
                    time_cost=settings.argon2_time_cost,
                    memory_cost_kib=settings.argon2_memory_cost_kib,
                    parallelism=settings.argon2_parallelism,
                )
            ),
            cipher=load_cipher(settings),
        )
