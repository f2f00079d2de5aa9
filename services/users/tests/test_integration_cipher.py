"""Integration tokens at rest: AES-GCM with key ids, rotation (no database)."""

from __future__ import annotations

import pytest

from medley_users.integrations import IntegrationCipher, UndecryptableError
from medley_users.settings import IntegrationKey

from .conftest import integration_key

K1 = IntegrationKey.model_validate(integration_key("k1", 1))
K2 = IntegrationKey.model_validate(integration_key("k2", 2))
AAD = b"medley-integration:user:spotify:access_token"


def test_round_trip_under_the_current_key() -> None:
    cipher = IntegrationCipher([K1])
    blob = cipher.encrypt("spotify-access-token", AAD)
    assert b"spotify-access-token" not in blob
    assert cipher.current_id == "k1"
    assert cipher.decrypt("k1", blob, AAD) == "spotify-access-token"


def test_the_same_plaintext_encrypts_differently_each_time() -> None:
    cipher = IntegrationCipher([K1])
    assert cipher.encrypt("same", AAD) != cipher.encrypt("same", AAD)


def test_a_ciphertext_moved_to_another_row_does_not_decrypt() -> None:
    cipher = IntegrationCipher([K1])
    blob = cipher.encrypt("secret", AAD)
    with pytest.raises(UndecryptableError):
        cipher.decrypt("k1", blob, b"medley-integration:other-user:spotify:access_token")


def test_rotation_the_first_key_encrypts_all_decrypt() -> None:
    old_blob = IntegrationCipher([K1]).encrypt("secret", AAD)
    rotated = IntegrationCipher([K2, K1])
    assert rotated.current_id == "k2"
    assert rotated.decrypt("k1", old_blob, AAD) == "secret"
    with pytest.raises(UndecryptableError, match="not configured"):
        IntegrationCipher([K2]).decrypt("k1", old_blob, AAD)


def test_a_tampered_ciphertext_is_refused() -> None:
    cipher = IntegrationCipher([K1])
    blob = bytearray(cipher.encrypt("secret", AAD))
    blob[-1] ^= 1
    with pytest.raises(UndecryptableError):
        cipher.decrypt("k1", bytes(blob), AAD)
