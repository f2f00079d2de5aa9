"""Passwords: the policy a new password must meet, and Argon2id hashing.

The policy is a pure function (:func:`password_problems`); hashing runs in a worker thread
because Argon2id is deliberately slow and must not stall the event loop.
"""

from __future__ import annotations

import asyncio
import unicodedata
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from medley_core.errors import Unprocessable

MIN_LENGTH = 10
MAX_LENGTH = 256
# A username or email local part shorter than this is not looked for inside a password
# ("jo@example.com" must not forbid every password containing "jo").
MIN_CONTAINED = 3


def normalise(password: str) -> str:
    """The form a password is hashed in: NFKC, so the same text typed on different
    keyboards (composed or decomposed accents, full-width digits) is the same password."""
    return unicodedata.normalize("NFKC", password)


def password_problems(password: str, *, username: str, email: str) -> list[str]:
    """Why ``password`` may not be used by this account (empty when it may)."""
    problems: list[str] = []
    text = normalise(password)
    if len(text) < MIN_LENGTH:
        problems.append(f"must be at least {MIN_LENGTH} characters long")
    if len(text) > MAX_LENGTH:
        problems.append(f"must be at most {MAX_LENGTH} characters long")
    if text.strip() == "":
        problems.append("must not be blank")
    folded = text.casefold()
    local_part = email.split("@", 1)[0]
    for label, value in (("username", username), ("email address", local_part)):
        value = value.strip().casefold()
        if not value:
            continue
        if folded == value or (len(value) >= MIN_CONTAINED and value in folded):
            problems.append(f"must not contain your {label}")
    return problems


def require_acceptable(password: str, *, username: str, email: str, field: str) -> None:
    """Raise a 422 problem naming ``field`` when the password breaks the policy."""
    problems = password_problems(password, username=username, email=email)
    if problems:
        raise Unprocessable(
            f"the password {problems[0]}",
            errors=[{"field": field, "message": f"the password {p}"} for p in problems],
        )


@dataclass(frozen=True)
class Argon2Parameters:
    time_cost: int = 3
    memory_cost_kib: int = 65_536
    parallelism: int = 4


class Passwords:
    """Argon2id hashing and verification, off the event loop."""

    def __init__(self, parameters: Argon2Parameters | None = None) -> None:
        p = parameters or Argon2Parameters()
        self._hasher = PasswordHasher(
            time_cost=p.time_cost, memory_cost=p.memory_cost_kib, parallelism=p.parallelism
        )
        self._dummy_hash: str | None = None

    def hash_sync(self, password: str) -> str:
        return str(self._hasher.hash(normalise(password)))

    def verify_sync(self, password_hash: str, password: str) -> bool:
        try:
            return bool(self._hasher.verify(password_hash, normalise(password)))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return bool(self._hasher.check_needs_rehash(password_hash))
        except InvalidHashError:
            return True

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self.hash_sync, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        return await asyncio.to_thread(self.verify_sync, password_hash, password)

    async def waste_time(self, password: str) -> None:
        """Verify against a throw-away hash, so an unknown login costs what a known one
        does and response times do not tell which usernames exist."""
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash("medley-dummy-password-for-timing")
        await self.verify(self._dummy_hash, password)
