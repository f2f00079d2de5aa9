"""Accounts: registration, login and refresh, the caller's profile and password, account
deletion, and what administrators do to accounts (list, disable, enable).

Input shapes (username, email, display name) are pure functions the HTTP schemas reuse;
every other function works on a session inside the caller's transaction.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import delete, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_core.errors import (
    Conflict,
    Forbidden,
    NotFound,
    Problem,
    TooManyRequests,
    Unauthorized,
    Unprocessable,
)
from medley_core.ids import utcnow
from medley_core.pagination import Page, orm_page, sort_key
from medley_core.rows import RowSource
from medley_users import bootstrap, erasure, events, login_budget
from medley_users.context import UsersContext
from medley_users.models import ROLE_USER, Credential, Erasure, User
from medley_users.passwords import require_acceptable
from medley_users.tokens import RefreshVerdict

USERNAME = re.compile(r"^[a-z0-9_-]{3,32}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")
EMAIL_MAX = 254
DISPLAY_NAME_MAX = 100
BAD_LOGIN = "the login or the password is wrong"


# --- input shapes (pure) ------------------------------------------------------------------


def check_username(value: str) -> str:
    if not USERNAME.match(value):
        raise ValueError("a username is 3-32 of lower-case letters, digits, '_' or '-'")
    return value


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower().strip()


def normalise_email(value: str) -> str:
    """How an email address is stored and compared: NFKC, lower-cased, trimmed, so that
    look-alikes (full-width letters, compatibility forms, case) are one address.

    Lower-casing can undo NFKC (and the reverse), so folding repeats until nothing changes.
    """
    text = value
    for _ in range(4):
        folded = _fold(text)
        if folded == text:
            break
        text = folded
    return text


def check_email(value: str) -> str:
    email = normalise_email(value)
    # The database's check (NFKC, lower, trimmed) must hold, or the insert would be a 500.
    stable = _fold(email) == email and unicodedata.is_normalized("NFKC", email)
    if len(email) > EMAIL_MAX or not EMAIL.match(email) or not stable:
        raise ValueError("not an email address")
    return email


def clean_display_name(value: str | None) -> str | None:
    """Trimmed; blank means none; no control characters; at most 100 characters."""
    if value is None:
        return None
    name = value.strip()
    if not name:
        return None
    if len(name) > DISPLAY_NAME_MAX:
        raise ValueError(f"a display name is at most {DISPLAY_NAME_MAX} characters")
    if any(unicodedata.category(ch) in {"Cc", "Cf"} for ch in name):
        raise ValueError("a display name cannot contain control characters")
    return name


# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Registration:
    username: str
    email: str
    password: str
    display_name: str | None = None


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"  # noqa: S105 - a scheme name, not a secret


UserStatus = Literal["active", "disabled"]


# --- helpers ------------------------------------------------------------------------------


def _conflict_from(exc: IntegrityError) -> Conflict | None:
    text = str(exc.orig)
    if "uq_users_username" in text:
        return _taken("username")
    if "uq_users_email" in text:
        return _taken("email")
    return None


def _taken(field: str) -> Conflict:
    detail = {
        "username": "this username is already taken",
        "email": "an account with this email address already exists",
    }[field]
    return Conflict(detail, slug=f"{field}-taken", field=field)


async def _ensure_free(
    session: AsyncSession, *, username: str | None, email: str | None, ignore: uuid.UUID | None
) -> None:
    conditions = []
    if username is not None:
        conditions.append(col(User.username) == username)
    if email is not None:
        conditions.append(col(User.email) == email)
    query = select(User.username, User.email).where(or_(*conditions))
    if ignore is not None:
        query = query.where(col(User.id) != ignore)
    for taken_username, taken_email in (await session.exec(query)).all():
        if username is not None and taken_username == username:
            raise _taken("username")
        if email is not None and taken_email == email:
            raise _taken("email")


async def _flush(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        conflict = _conflict_from(exc)
        if conflict is None:
            raise
        raise conflict from None


async def _password_hash(session: AsyncSession, user_id: uuid.UUID) -> str | None:
    return (
        await session.exec(
            select(Credential.password_hash).where(col(Credential.user_id) == user_id)
        )
    ).one_or_none()


async def _confirm_password(
    session: AsyncSession, users: UsersContext, user: User, password: str, *, field: str
) -> None:
    stored = await _password_hash(session, user.id)
    if stored is None or not await users.passwords.verify(stored, password):
        raise Forbidden(
            "the password is wrong",
            slug="wrong-password",
            errors=[{"field": field, "message": "the password is wrong"}],
        )


# --- registration, login, refresh ---------------------------------------------------------


async def register(session: AsyncSession, users: UsersContext, new: Registration) -> User:
    """Create an account; ``users.user.registered`` joins the transaction's events."""
    username = check_username(new.username)
    email = check_email(new.email)
    require_acceptable(new.password, username=username, email=email, field="password")
    await _ensure_free(session, username=username, email=email, ignore=None)
    password_hash = await users.passwords.hash(new.password)
    now = utcnow()
    user = User(
        username=username,
        email=email,
        display_name=clean_display_name(new.display_name),
        roles=[ROLE_USER],
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    await _flush(session)
    session.add(Credential(user_id=user.id, password_hash=password_hash, changed_at=now))
    await session.flush()
    await bootstrap.claim(session, users.settings, user)
    events.user_registered(session, user)
    return user


async def find_by_login(session: AsyncSession, login: str) -> User | None:
    """The account a login names: an email address (with '@') or a username, compared in
    the normal form they are stored in (a look-alike of an address is that address)."""
    ident = normalise_email(login)
    column = col(User.email) if "@" in ident else col(User.username)
    return (await session.exec(select(User).where(column == ident))).one_or_none()


async def authenticate(
    session: AsyncSession, users: UsersContext, login: str, password: str
) -> User:
    """The account whose credentials these are. The same 401 for an unknown login and a
    wrong password (and about the same time: the unknown login is hashed too). A wrong
    password is charged to the account's failed-login budget (login_budget); a spent budget
    is a 429 before the password is looked at."""
    user = await find_by_login(session, login)
    # Locked: concurrent attempts at one account take turns with its budget.
    credential = (
        await session.get(Credential, user.id, with_for_update=True) if user is not None else None
    )
    if user is None or credential is None:
        await users.passwords.waste_time(password)
        raise Unauthorized(BAD_LOGIN, slug="invalid-credentials")
    now = utcnow()
    login_budget.require_budget(credential, users.settings, now)
    if not await users.passwords.verify(credential.password_hash, password):
        login_budget.charge(credential, users.settings, now)
        session.add(credential)
        await session.flush()
        raise Unauthorized(BAD_LOGIN, slug="invalid-credentials")
    if user.disabled_at is not None:
        raise Forbidden("this account is disabled", slug="account-disabled")
    if users.passwords.needs_rehash(credential.password_hash):
        credential.password_hash = await users.passwords.hash(password)
        session.add(credential)
    return user


async def issue_pair(session: AsyncSession, users: UsersContext, user: User) -> TokenPair:
    """A new session: an access token and the first refresh token of a new family. The
    access token counts as issued after the user's last revocation (see
    :meth:`TokenIssuer.access_token`)."""
    refresh = await users.refresh_tokens.start_family(session, user.id)
    access = users.tokens.access_token(user, not_before=user.tokens_revoked_at)
    return TokenPair(access.token, refresh, access.expires_in)


async def login(
    session: AsyncSession, users: UsersContext, ident: str, password: str
) -> TokenPair | Problem:
    """A new session, or the refusal. The refusal is returned, not raised: the failed login
    it counted must be committed before the caller answers with it."""
    try:
        user = await authenticate(session, users, ident, password)
    except (Unauthorized, Forbidden, TooManyRequests) as refusal:
        return refusal
    return await issue_pair(session, users, user)


async def refresh(
    session: AsyncSession, users: UsersContext, token: str
) -> TokenPair | RefreshVerdict:
    """The next token pair, or the verdict refusing it. A refusal may have revoked the
    family: the caller commits before answering."""
    outcome = await users.refresh_tokens.rotate(session, token)
    if outcome.verdict is not RefreshVerdict.ROTATE:
        return outcome.verdict
    assert outcome.user_id is not None
    assert outcome.refresh_token is not None
    user = await session.get(User, outcome.user_id)
    if user is None:  # pragma: no cover - the family cascades away with its user
        return RefreshVerdict.UNKNOWN
    access = users.tokens.access_token(user, not_before=user.tokens_revoked_at)
    return TokenPair(access.token, outcome.refresh_token, access.expires_in)


async def logout(session: AsyncSession, users: UsersContext, token: str) -> None:
    """Revoke the session (family) of a refresh token; an unknown token is no error."""
    await users.refresh_tokens.revoke_by_token(session, token, reason="logout")


# --- the caller ---------------------------------------------------------------------------


async def active_user(source: RowSource, user_id: uuid.UUID) -> User:
    """The caller's account; a 401 if it was deleted or disabled since the token was made.

    ``source`` is the session of a unit of work (the account is then part of it), or the
    app's ``rows`` for a path that only reads it."""
    user = await source.get(User, user_id)
    if user is None:
        raise Unauthorized("this account no longer exists", slug="account-gone")
    if user.disabled_at is not None:
        raise Unauthorized("this account is disabled", slug="account-disabled")
    return user


_UNSET = object()


async def update_profile(
    session: AsyncSession,
    user: User,
    *,
    display_name: str | object | None = _UNSET,
    email: str | object = _UNSET,
) -> User:
    """Change what is given: ``display_name`` (None clears it) and/or ``email``."""
    if isinstance(email, str):
        new_email = check_email(email)
        if new_email != user.email:
            await _ensure_free(session, username=None, email=new_email, ignore=user.id)
            user.email = new_email
    if display_name is None or isinstance(display_name, str):
        user.display_name = clean_display_name(display_name)
    user.updated_at = utcnow()
    session.add(user)
    await _flush(session)
    return user


async def change_password(
    session: AsyncSession, users: UsersContext, user: User, current: str, new: str
) -> TokenPair:
    """Change the password; every existing session (refresh family) is revoked and the
    caller gets a fresh pair, so only the session that changed it stays logged in."""
    await _confirm_password(session, users, user, current, field="current_password")
    if new == current:
        raise Unprocessable(
            "the new password must differ from the current one",
            errors=[{"field": "new_password", "message": "must differ from the current one"}],
        )
    require_acceptable(new, username=user.username, email=user.email, field="new_password")
    changed_at = utcnow()
    await session.exec(
        update(Credential)
        .where(col(Credential.user_id) == user.id)
        .values(password_hash=await users.passwords.hash(new), changed_at=changed_at)
    )
    await users.refresh_tokens.revoke_all(session, user.id, reason="password-changed")
    # Access tokens are verified everywhere without asking us: tell every verifier.
    await revoke_access_tokens(session, user, changed_at, reason="password-changed")
    return await issue_pair(session, users, user)


async def revoke_access_tokens(
    session: AsyncSession, user: User, at: datetime, *, reason: str
) -> None:
    """End the user's access tokens issued before ``at``, at every verifier (an event), and
    remember when, so that tokens issued later in the same second still count as later."""
    user.tokens_revoked_at = at
    session.add(user)
    await session.flush()
    events.sessions_revoked(session, user.id, at, reason=reason)


async def delete_account(
    session: AsyncSession, users: UsersContext, user: User, password: str
) -> Erasure:
    """Delete the account now and start its erasure saga.

    The user row goes, and with it (cascades) the credentials, sessions, API tokens and
    integrations: login is refused from this transaction on. ``users.user.deleted`` asks
    the other contexts to erase their part.
    """
    await _confirm_password(session, users, user, password, field="password")
    now = utcnow()
    started = await erasure.start(session, user.id, users.settings.erasure_contexts, now=now)
    await session.exec(delete(User).where(col(User.id) == user.id))
    session.expunge(user)
    events.user_deleted(session, user.id, started.id, now)
    return started


# --- administration -----------------------------------------------------------------------


async def set_disabled(
    session: AsyncSession,
    users: UsersContext,
    user_id: uuid.UUID,
    *,
    disabled: bool,
    acting_user_id: uuid.UUID,
) -> User:
    """Disable (log-in and refresh refused, sessions revoked) or enable an account."""
    user = await session.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFound("no such user")
    if disabled and user.id == acting_user_id:
        raise Conflict("you cannot disable your own account", slug="cannot-disable-self")
    now = utcnow()
    if disabled and user.disabled_at is None:
        user.disabled_at = now
        user.updated_at = now
        await users.refresh_tokens.revoke_all(session, user.id, reason="account-disabled")
        user.tokens_revoked_at = now
        events.user_disabled(session, user.id, now)
    elif not disabled and user.disabled_at is not None:
        user.disabled_at = None
        user.updated_at = now
    session.add(user)
    await session.flush()
    return user


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# Accounts in creation order: ids are time-ordered UUIDv7.
USERS_BY_CREATION = sort_key("users:created")


async def list_users(
    session: AsyncSession,
    *,
    limit: int,
    cursor: str | None = None,
    after: uuid.UUID | None = None,
    query: str | None = None,
    status: UserStatus | None = None,
    role: str | None = None,
) -> Page[User]:
    """Accounts in creation order, a keyset page at a time (:mod:`medley_core.pagination`).
    ``after``, the last id of the previous page, is the older form of ``cursor``."""
    if after is not None:
        if cursor is not None:
            raise Unprocessable("give cursor or after, not both", field="after")
        cursor = USERS_BY_CREATION.cursor_after({"id": after})
    statement = select(User)
    if query:
        pattern = _like_pattern(query.strip().lower())
        statement = statement.where(
            or_(
                col(User.username).like(pattern, escape="\\"),
                col(User.email).like(pattern, escape="\\"),
                func.lower(col(User.display_name)).like(pattern, escape="\\"),
            )
        )
    if status == "active":
        statement = statement.where(col(User.disabled_at).is_(None))
    elif status == "disabled":
        statement = statement.where(col(User.disabled_at).is_not(None))
    if role is not None:
        statement = statement.where(col(User.roles).contains([role]))
    return await orm_page(
        session, statement, USERS_BY_CREATION, [col(User.id)], cursor=cursor, limit=limit
    )
