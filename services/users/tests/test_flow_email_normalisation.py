"""Email addresses are normalised (NFKC, lower case, trimmed) before they are stored or
compared, so two accounts cannot hold look-alike addresses that compare unequal."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from .conftest import (
    PASSWORD,
    UsersDb,
    assert_problem,
    bearer,
    login,
    new_account,
    register,
    unique_name,
)

Client = AsyncTestClient[Any]


def fullwidth(text: str) -> str:
    """ASCII letters, digits and '@' as their full-width look-alikes (NFKC folds them back)."""
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


AT = fullwidth("@")


async def test_a_look_alike_address_is_the_same_address(client: Client) -> None:
    name = unique_name("e")
    first = await register(client, email=f"{fullwidth(name.upper())}{AT}Example.COM")
    assert first["email"] == f"{name}@example.com"

    taken = await client.post(
        "/register",
        json={"username": unique_name(), "email": f"{name}@example.com", "password": PASSWORD},
    )
    assert assert_problem(taken, 409)["field"] == "email"


async def test_login_by_a_look_alike_address_finds_the_account(client: Client) -> None:
    name = unique_name("e")
    await register(client, name)
    tokens = await login(client, f" {fullwidth(name)}{AT}EXAMPLE.com ")
    me = (await client.get("/me", headers=bearer(tokens["access_token"]))).json()
    assert me["username"] == name


async def test_an_email_change_to_a_look_alike_of_another_address_is_refused(
    client: Client,
) -> None:
    owner = await new_account(client)
    other = await new_account(client)
    local, _, domain = owner.email.partition("@")
    refused = await client.patch(
        "/me", headers=other.headers, json={"email": f"{fullwidth(local)}@{domain.upper()}"}
    )
    assert assert_problem(refused, 409)["field"] == "email"

    own = await client.patch(
        "/me", headers=other.headers, json={"email": f"{fullwidth(other.username)}@example.org"}
    )
    assert own.status_code == 200, own.text
    assert own.json()["email"] == f"{other.username}@example.org"


@pytest.mark.parametrize(
    "email",
    [
        f"{fullwidth('ada')}@example.com",  # full-width: not NFKC
        f"ada@{fullwidth('e')}xample.com",
        "Ada@example.com",  # not lower case
        " ada@example.com",
    ],
)
async def test_the_database_refuses_an_address_not_in_normal_form(
    users_db: UsersDb, email: str
) -> None:
    """Uniqueness holds in the database, not only in the code that writes it."""
    with pytest.raises(asyncpg.CheckViolationError):
        await users_db.execute(
            "INSERT INTO users (id, username, email) VALUES ($1, $2, $3)",
            uuid.uuid4(),
            unique_name(),
            email.replace("ada", unique_name("a")).replace("Ada", unique_name("A")),
        )
