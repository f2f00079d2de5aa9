"""emails in normal form (NFKC, lower case, trimmed): existing rows normalised, then checked

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 12:00:00

The unique key on users.email only keeps look-alike addresses apart if every address is
stored in the form it is compared in. Existing rows are normalised here with the same
folding the service applies (copied, so this revision means the same thing forever). When
two accounts fold to one address, the oldest keeps it and the others get
``<id>@email-conflict.invalid`` (RFC 2606 reserves .invalid): they still log in by username
and set a real address again. Nothing is lost silently: every such account is logged.
"""

import logging
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")


def _normalise(value: str) -> str:
    text = value
    for _ in range(4):
        folded = unicodedata.normalize("NFKC", text).lower().strip()
        if folded == text:
            break
        text = folded
    return text


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, email FROM users.users ORDER BY created_at, id")).all()
    kept: set[str] = set()
    changes: list[dict[str, object]] = []
    for user_id, email in rows:
        normal = _normalise(email)
        if normal in kept or not unicodedata.is_normalized("NFKC", normal):
            normal = f"{user_id}@email-conflict.invalid"
            log.warning("users: %s's email folds to one already taken; set to %s", user_id, normal)
        kept.add(normal)
        if normal != email:
            changes.append({"id": user_id, "email": normal})
    if changes:
        # Through a placeholder first, so a swap of two addresses never meets the unique key.
        update = sa.text("UPDATE users.users SET email = :email WHERE id = :id")
        bind.execute(
            update, [{"id": c["id"], "email": f"{c['id']}@renaming.invalid"} for c in changes]
        )
        bind.execute(update, changes)
    op.create_check_constraint(
        op.f("ck_users_email_nfkc"), "users", "email IS NFKC NORMALIZED", schema="users"
    )


def downgrade() -> None:
    # The addresses stay normalised: the earlier form is not kept, and it is valid as is.
    op.drop_constraint(op.f("ck_users_email_nfkc"), "users", schema="users", type_="check")
