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
  revocation. It starts ``lookback_s`` back in the stream, so a process that starts (or
  restarts) still knows the revocations of every token that can still be unexpired; the
  lookback must therefore be at least the access-token lifetime.

If NATS is unreachable the list keeps what it knew and tokens are checked against that: the
service stays up, and readiness reports NATS down.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from nats.aio.client import Client as NATS
from nats.js.api import ConsumerConfig, DeliverPolicy
from pydantic import ValidationError

from medley_contracts.envelope import EventEnvelope, nats_subject
from medley_contracts.users import USER_DELETED, USER_DISABLED, USER_SESSIONS_REVOKED
from medley_core.aio import cancel_and_wait

if TYPE_CHECKING:
    from medley_core.settings import ServiceSettings

log = logging.getLogger("medley.revocation")

# The users events that end sessions, and the payload field that says when.
REVOKING_EVENTS: dict[str, str] = {
    USER_DISABLED.name: "disabled_at",
    USER_DELETED.name: "deleted_at",
    USER_SESSIONS_REVOKED.name: "revoked_at",
}
RETRY_S = 1.0
HEARTBEAT_S = 2.0
WATCH_S = 1.0


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


class RevocationFeed:
    """Keeps a :class:`RevocationList` up to date from the users context's stream."""

    def __init__(
        self,
        nc: NATS,
        revocations: RevocationList,
        *,
        event_prefix: str,
        lookback_s: float,
    ) -> None:
        self.nc = nc
        self.revocations = revocations
        self.subject = nats_subject("users.user.>", event_prefix)
        self.lookback_s = lookback_s
        self.applied = 0
        # Where to resume after a failure: the time of the newest event seen.
        self._resume_from: datetime | None = None
        self._task: asyncio.Task[None] | None = None

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

    def start(self) -> None:
        """Follow the stream in the background (NATS may not be connected yet)."""
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="revocation-feed")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait([self._task])
            self._task = None

    async def run(self) -> None:
        """Follow the stream until cancelled, resubscribing after any failure."""
        while True:
            if not self.nc.is_connected:
                await asyncio.sleep(0.2)
                continue
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # The stream may not exist yet (the users service creates it), or the
                # connection dropped; the cutoffs already known stay in force meanwhile.
                log.info("revocation feed paused (%s); retrying", exc or type(exc).__name__)
            await asyncio.sleep(RETRY_S)

    async def _follow(self) -> None:
        start = datetime.now(UTC) - timedelta(seconds=self.lookback_s)
        if self._resume_from is not None:
            start = max(start, self._resume_from)
        reconnects = self.nc.stats["reconnects"]
        subscription = await self.nc.jetstream().subscribe(
            self.subject,
            ordered_consumer=True,
            idle_heartbeat=HEARTBEAT_S,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=start),
        )
        try:
            while True:
                try:
                    message = await subscription.next_msg(timeout=WATCH_S)
                except TimeoutError:
                    # A server restarted behind a reconnect has forgotten this ephemeral
                    # consumer: start a new one from the last event seen.
                    if self.nc.stats["reconnects"] != reconnects:
                        raise ConnectionResetError("reconnected to NATS") from None
                    continue
                self._apply(message.data)
        finally:
            try:
                await subscription.unsubscribe()
            except Exception as exc:  # the connection may be gone already
                log.debug("unsubscribing the revocation feed: %s", exc)

    def _apply(self, raw: bytes) -> None:
        try:
            envelope = EventEnvelope.model_validate_json(raw)
        except ValidationError:
            log.warning("a malformed event on the users stream was ignored")
            return
        self._resume_from = envelope.occurred_at
        revocation = revocation_of(envelope)
        if revocation is not None:
            self.revocations.revoke(*revocation)
            self.applied += 1
