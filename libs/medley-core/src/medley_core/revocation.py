"""Access tokens revoked before they expire: a disabled or deleted account, a password change.

Access tokens are verified locally (no call to the users service per request), so a token
stays valid until it expires unless every verifier learns that its user's sessions ended.
The users service says so in events (``users.user.disabled``, ``users.user.deleted``,
``users.user.sessions_revoked``); every process that verifies tokens, each service and
each gateway replica, reads them here:

* :class:`RevocationList` keeps, per user, the instant before which that user's tokens
  are refused (a token issued at or after it — a fresh pair after a password change, a
  login after the account was enabled again — is accepted).
* :class:`RevocationFeed` fills it from the users stream with an *ordered* (ephemeral,
  per-process) JetStream consumer, not the shared durable one: every replica needs every
  revocation (:class:`~medley_core.events.follow.StreamFollower`). It starts
  ``lookback_s`` back in the stream, so a process that starts (or restarts) still knows
  the revocations of every token that can still be unexpired; the lookback must therefore
  be at least the access-token lifetime.

If NATS is unreachable the list keeps what it knew and tokens are checked against that: the
service stays up, and readiness reports NATS down.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from nats.aio.client import Client as NATS

from medley_contracts.envelope import EventEnvelope
from medley_contracts.users import USER_DELETED, USER_DISABLED, USER_SESSIONS_REVOKED
from medley_core.events.follow import StreamFollower

if TYPE_CHECKING:
    from medley_core.settings import ServiceSettings

log = logging.getLogger("medley.revocation")

# The users events that end sessions, and the payload field that says when.
REVOKING_EVENTS: dict[str, str] = {
    USER_DISABLED.name: "disabled_at",
    USER_DELETED.name: "deleted_at",
    USER_SESSIONS_REVOKED.name: "revoked_at",
}


class RevocationList:
    """Per user, the instant (epoch seconds) before which their access tokens are refused."""

    def __init__(self, *, keep_s: float, clock: Callable[[], float] = time.time) -> None:
        self.keep_s = keep_s
        self._clock = clock
        self._cutoffs: dict[str, float] = {}
        self._pruned_at = clock()

    def __len__(self) -> int:
        return len(self._cutoffs)

    def revoke(self, user_id: str, at: datetime) -> None:
        """Refuse ``user_id``'s tokens issued before ``at`` (the latest instant wins)."""
        cutoff = at.timestamp()
        if cutoff > self._cutoffs.get(user_id, float("-inf")):
            self._cutoffs[user_id] = cutoff
        self._prune()

    def is_revoked(self, user_id: str, issued_at: datetime) -> bool:
        cutoff = self._cutoffs.get(user_id)
        return cutoff is not None and issued_at.timestamp() < cutoff

    def _prune(self) -> None:
        # A cutoff older than the longest token lifetime refuses nothing that has not
        # expired anyway; drop those now and then so the list stays the size of the
        # revocations of the last lifetime.
        now = self._clock()
        if now - self._pruned_at < self.keep_s:
            return
        self._pruned_at = now
        horizon = now - self.keep_s
        self._cutoffs = {u: c for u, c in self._cutoffs.items() if c >= horizon}


def revocation_of(envelope: EventEnvelope) -> tuple[str, datetime] | None:
    """``(user id, cutoff)`` if the event ends a user's sessions, else None."""
    field = REVOKING_EVENTS.get(envelope.type)
    if field is None:
        return None
    raw_user, raw_at = envelope.data.get("user_id"), envelope.data.get(field)
    try:
        user_id = str(uuid.UUID(str(raw_user)))
        at = datetime.fromisoformat(str(raw_at))
    except ValueError:
        log.warning("revocation event %s (%s) is malformed; ignored", envelope.id, envelope.type)
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return user_id, at


class RevocationFeed(StreamFollower):
    """Keeps a :class:`RevocationList` up to date from the users context's stream."""

    name = "revocation-feed"

    def __init__(
        self,
        nc: NATS,
        revocations: RevocationList,
        *,
        event_prefix: str,
        lookback_s: float,
    ) -> None:
        super().__init__(
            nc, pattern="users.user.>", event_prefix=event_prefix, lookback_s=lookback_s
        )
        self.revocations = revocations

    @classmethod
    def for_settings(
        cls, nc: NATS, revocations: RevocationList, settings: ServiceSettings
    ) -> RevocationFeed:
        """A feed over the settings' event prefix, reading ``revocation_lookback_s`` back."""
        return cls(
            nc,
            revocations,
            event_prefix=settings.event_prefix,
            lookback_s=settings.revocation_lookback_s,
        )

    def apply(self, envelope: EventEnvelope) -> None:
        revocation = revocation_of(envelope)
        if revocation is not None:
            self.revocations.revoke(*revocation)
            self.applied += 1
