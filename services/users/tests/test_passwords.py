"""The password policy and Argon2id hashing (no database)."""

from __future__ import annotations

import pytest

from medley_core.errors import Unprocessable
from medley_users.passwords import (
    Argon2Parameters,
    Passwords,
    password_problems,
    require_acceptable,
)

FAST = Argon2Parameters(time_cost=1, memory_cost_kib=8 * 1024, parallelism=1)


def problems(
    password: str, username: str = "ada", email: str = "lovelace@example.com"
) -> list[str]:
    return password_problems(password, username=username, email=email)


def test_a_long_unrelated_password_is_accepted() -> None:
    assert problems("correct horse battery staple") == []


@pytest.mark.parametrize("password", ["", "short", "123456789"])
def test_fewer_than_ten_characters_is_refused(password: str) -> None:
    assert "must be at least 10 characters long" in problems(password)


def test_ten_characters_is_enough() -> None:
    assert problems("abcdefghij") == []


def test_blank_passwords_are_refused() -> None:
    assert "must not be blank" in problems(" " * 12)


def test_the_username_itself_or_inside_is_refused() -> None:
    assert "must not contain your username" in problems("adminadmin", username="adminadmin")
    assert "must not contain your username" in problems("my-ADA-password-1", username="ada")


def test_the_email_local_part_inside_is_refused_case_insensitively() -> None:
    assert "must not contain your email address" in problems("xxLoveLace2024xx")


def test_a_very_short_local_part_is_not_looked_for() -> None:
    # "jo@example.com" must not forbid every password that happens to contain "jo".
    assert problems("enjoy the silence", username="someone", email="jo@example.com") == []


def test_a_very_long_password_is_refused() -> None:
    assert "must be at most 256 characters long" in problems("x" * 257)


def test_require_acceptable_names_the_field() -> None:
    with pytest.raises(Unprocessable) as raised:
        require_acceptable("short", username="ada", email="a@b.c", field="new_password")
    assert raised.value.extensions["errors"][0]["field"] == "new_password"


def test_hashes_are_argon2id_and_verify() -> None:
    passwords = Passwords(FAST)
    stored = passwords.hash_sync("correct horse battery staple")
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    assert passwords.verify_sync(stored, "correct horse battery staple")
    assert not passwords.verify_sync(stored, "correct horse battery stapler")
    assert not passwords.verify_sync("not a hash", "anything at all")


def test_equivalent_unicode_forms_are_the_same_password() -> None:
    passwords = Passwords(FAST)
    stored = passwords.hash_sync("caf\u00e9 au lait, please")  # é composed
    assert passwords.verify_sync(stored, "cafe\u0301 au lait, please")  # e + combining accent


def test_hashes_made_with_other_costs_need_rehashing() -> None:
    weak = Passwords(FAST).hash_sync("correct horse battery staple")
    assert Passwords(
        Argon2Parameters(time_cost=2, memory_cost_kib=8 * 1024, parallelism=1)
    ).needs_rehash(weak)
    assert not Passwords(FAST).needs_rehash(weak)


async def test_async_hashing_runs_off_the_loop_and_agrees() -> None:
    passwords = Passwords(FAST)
    stored = await passwords.hash("correct horse battery staple")
    assert await passwords.verify(stored, "correct horse battery staple")
    assert not await passwords.verify(stored, "wrong wrong wrong")
