"""Revocation, the pure part: which tokens a revocation list refuses, and how events map to
revocations. The verifier's use of it is in ``test_auth.py``, the feed over real NATS in
``events/test_revocation_feed.py``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from medley_contracts.envelope import EventEnvelope
from medley_core.revocation import RevocationList, revocation_of

T0 = datetime(2026, 11, 30, 12, 0, 0, 500_000, tzinfo=UTC)


def envelope(event_type: str, **data: object) -> EventEnvelope:
    return EventEnvelope(
        id=uuid.uuid4(),
        type=event_type,
        version=1,
        source="users",
        occurred_at=T0,
        subject="x",
        data=data,
    )


def test_tokens_issued_before_the_cutoff_are_refused_and_later_ones_accepted() -> None:
    revocations = RevocationList(keep_s=3600)
    user, other = str(uuid.uuid4()), str(uuid.uuid4())
    revocations.revoke(user, T0)
    assert revocations.is_revoked(user, T0 - timedelta(seconds=30))
    # iat has whole seconds: a token of the revocation's own second, before it, is refused.
    assert revocations.is_revoked(user, T0.replace(microsecond=0))
    assert not revocations.is_revoked(user, T0 + timedelta(microseconds=500_000))
    assert not revocations.is_revoked(other, T0 - timedelta(seconds=30))


def test_the_latest_cutoff_wins_whatever_the_order_events_arrive_in() -> None:
    revocations = RevocationList(keep_s=3600)
    user = str(uuid.uuid4())
    revocations.revoke(user, T0 + timedelta(seconds=60))
    revocations.revoke(user, T0)  # an older event, redelivered after a resubscription
    assert revocations.is_revoked(user, T0 + timedelta(seconds=30))


def test_cutoffs_older_than_the_token_lifetime_are_dropped() -> None:
    now = [1_000_000.0]
    revocations = RevocationList(keep_s=900, clock=lambda: now[0])
    old, recent = str(uuid.uuid4()), str(uuid.uuid4())
    revocations.revoke(old, datetime.fromtimestamp(now[0] - 10, UTC))
    now[0] += 1_000
    revocations.revoke(recent, datetime.fromtimestamp(now[0], UTC))
    assert len(revocations) == 1
    assert revocations.is_revoked(recent, datetime.fromtimestamp(now[0] - 1, UTC))


@pytest.mark.parametrize(
    ("event_type", "field"),
    [
        ("users.user.disabled", "disabled_at"),
        ("users.user.deleted", "deleted_at"),
        ("users.user.sessions_revoked", "revoked_at"),
    ],
)
def test_the_events_that_end_sessions_become_revocations(event_type: str, field: str) -> None:
    user = uuid.uuid4()
    found = revocation_of(envelope(event_type, user_id=str(user), **{field: T0.isoformat()}))
    assert found == (str(user), T0)


def test_other_and_malformed_events_revoke_nothing() -> None:
    user = str(uuid.uuid4())
    assert revocation_of(envelope("users.user.registered", user_id=user)) is None
    assert revocation_of(envelope("users.user.disabled", user_id="x", disabled_at="y")) is None
