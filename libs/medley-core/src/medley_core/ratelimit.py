"""Rate limits shared by every replica: fixed windows counted in NATS KV, handed out to
each replica in small allowances.

A :class:`SharedLimiter` allows ``limit`` requests per key (a user, an address) in each
window of ``window_s`` seconds, a window beginning at the key's first request on any
replica (the store keeps when, so every replica agrees where it ends). The counts live in
one NATS KV bucket (:data:`BUCKET`, memory storage: a count is worth nothing after its
window) that every service already reaches, so N gateway replicas share one budget instead
of granting N each.

The hot path stays cheap: a replica does not ask the store at every request. It takes an
allowance of the key's budget (one compare-and-set, retried on a race) and spends it
locally; only when it is spent does it take the next. An allowance is at most ``batch``
requests and at most a quarter of what is left, shared among the replicas spending the key
(as seen at the last one), so near the limit every request is one round trip. Allowances
never add up to more than the limit, so the fleet never admits more than ``limit``; what a
replica took and did not spend by the window's end is lost (a client may be refused a few
requests early, at most ``batch`` per replica). A key known spent is refused without asking
the store again until its window ends. When the store cannot be reached in
:data:`STORE_TIMEOUT_S` the limiter fails open and counts locally: an outage of NATS must
not take the API down.

Clients are told where they stand in the fields of ``draft-ietf-httpapi-ratelimit-headers-06``
(:meth:`Decision.headers`): ``RateLimit-Limit``, ``RateLimit-Remaining``,
``RateLimit-Reset`` (seconds until the window ends) and ``RateLimit-Policy`` (``limit;w=
window``). Framework-free.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from nats.aio.client import Client as NATS
    from nats.js.kv import KeyValue

log = logging.getLogger(__name__)

#: The KV bucket holding every limiter's counts: one key per (limiter, window, key).
BUCKET = "medley_rate_limits"
#: How long a count is kept: longer than any window (a window is at most an hour).
BUCKET_TTL_S = 2 * 3600.0
MAX_WINDOW_S = 3600
#: How long a hit may wait for the store before the limiter counts locally instead.
STORE_TIMEOUT_S = 0.5
# One warning a minute while the store is away, not one per request.
_WARN_EVERY_S = 60.0
_last_warned = [0.0]


def _warn_store_away(exc: BaseException) -> None:
    now = time.monotonic()
    if now - _last_warned[0] >= _WARN_EVERY_S:
        _last_warned[0] = now
        log.warning("rate limit store unavailable (%r): counting locally, failing open", exc)


# Rounds a request may wait for an allowance before it is let through.
_WAIT_ROUNDS = 64
# Compare-and-set attempts before a race is given up on (the hit then counts locally).
_CAS_ATTEMPTS = 8


@dataclass(frozen=True)
class Decision:
    """Whether a hit is allowed and where its key stands in the current window."""

    allowed: bool
    limit: int
    remaining: int
    window_s: int
    reset_at: float  # Unix seconds when the window ends
    reset_in: float  # seconds until then

    @property
    def retry_after_s(self) -> int:
        return max(1, math.ceil(self.reset_in))

    def headers(self) -> dict[str, str]:
        """The ``draft-ietf-httpapi-ratelimit-headers-06`` fields."""
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(max(0, math.ceil(self.reset_in))),
            "RateLimit-Policy": f"{self.limit};w={self.window_s}",
        }


@dataclass(frozen=True)
class Count:
    """A key's window as the store holds it: when it began (Unix seconds) and its hits."""

    started_at: float
    hits: int

    def take(self, want: int, now: float, window_s: int, limit: int) -> tuple[Count, int]:
        """An allowance of up to ``want`` requests at ``now``, within ``limit``: the count
        after it and how many were granted. A window that has ended makes way for one
        beginning now."""
        current = self
        if now >= self.started_at + window_s or self.hits == 0:
            current = Count(now, 0)
        granted = max(0, min(want, limit - current.hits))
        return Count(current.started_at, current.hits + granted), granted

    def encode(self) -> bytes:
        return f"{self.started_at:.3f} {self.hits}".encode()

    @classmethod
    def decode(cls, raw: bytes | None) -> Count:
        started_at, _, hits = (raw or b"").decode().partition(" ")
        try:
            return cls(float(started_at), int(hits))
        except ValueError:
            return cls(0.0, 0)  # unreadable: as if empty


EMPTY = Count(0.0, 0)


class Counters(Protocol):
    """Where the counts of every replica meet."""

    async def take(
        self, key: str, want: int, now: float, window_s: int, limit: int
    ) -> tuple[Count, int]:
        """:meth:`Count.take` on ``key``'s count, atomically: the count after it and how
        many requests were granted."""
        ...


class MemoryCounters:
    """Counts in this process only: for tests of the arithmetic, never for replicas."""

    def __init__(self) -> None:
        self.counts: dict[str, Count] = {}

    async def take(
        self, key: str, want: int, now: float, window_s: int, limit: int
    ) -> tuple[Count, int]:
        count, granted = self.counts.get(key, EMPTY).take(want, now, window_s, limit)
        self.counts[key] = count
        return count, granted


class NatsCounters:
    """Counts in the NATS KV bucket :data:`BUCKET`, added to by compare-and-set.

    What each key held when last written here (and its revision) is remembered, so an add
    that raced nobody is one round trip; a race costs a read and another try.
    """

    def __init__(self, nc: NATS, *, bucket: str = BUCKET) -> None:
        self._nc = nc
        self._bucket = bucket
        self._kv: KeyValue | None = None
        self._known: dict[str, tuple[int, Count]] = {}

    async def _store(self) -> KeyValue:
        if self._kv is None:
            from nats.js.api import StorageType
            from nats.js.errors import BucketNotFoundError

            js = self._nc.jetstream()
            try:
                self._kv = await js.key_value(self._bucket)
            except BucketNotFoundError:
                self._kv = await js.create_key_value(
                    bucket=self._bucket, history=1, ttl=BUCKET_TTL_S, storage=StorageType.MEMORY
                )
        return self._kv

    async def take(
        self, key: str, want: int, now: float, window_s: int, limit: int
    ) -> tuple[Count, int]:
        from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError

        if not self._nc.is_connected:
            raise ConnectionError("NATS is not connected")
        kv = await self._store()
        revision, count = self._known.get(key, (0, EMPTY))
        for _ in range(_CAS_ATTEMPTS):
            after, granted = count.take(want, now, window_s, limit)
            if granted == 0 and after == count:
                return after, 0  # spent: nothing to write
            try:
                revision = await kv.update(key, after.encode(), last=revision)
            except KeyWrongLastSequenceError:
                try:
                    entry = await kv.get(key)
                except KeyNotFoundError:
                    revision, count = 0, EMPTY
                else:
                    revision, count = entry.revision or 0, Count.decode(entry.value)
                continue
            if len(self._known) >= 100_000:
                self._known.clear()
            self._known[key] = (revision, after)
            return after, granted
        raise TimeoutError(f"{key}: too many concurrent updates")


@dataclass
class _Window:
    """One key's current window as this replica knows it."""

    started_at: float | None  # None until the store says
    taken: int = 0  # the allowances this replica took in this window
    spent: int = 0  # the requests it admitted
    store_hits: int = 0  # the key's count in the store (everyone's allowances), last seen
    # Requests of the whole fleet per request of this replica, as seen between the last two
    # allowances (1: this replica is alone): the room left is shared among that many.
    fleet_factor: float = 1.0
    taking: asyncio.Future[None] | None = None

    @property
    def unspent(self) -> int:
        return self.taken - self.spent


@dataclass
class SharedLimiter:
    """``limit`` requests per key per ``window_s`` seconds, counted across replicas.

    ``name`` keeps this limiter's counts apart from others' in the shared bucket;
    ``batch`` is the largest allowance a replica takes at once (1: every request is one
    round trip).
    """

    name: str
    limit: int
    window_s: int
    counters: Counters
    batch: int = 16
    max_keys: int = 100_000
    clock: Callable[[], float] = time.time
    _windows: dict[str, _Window] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.limit < 1 or not 1 <= self.window_s <= MAX_WINDOW_S or self.batch < 1:
            raise ValueError(
                f"a rate limit needs limit >= 1, 1 <= window_s <= {MAX_WINDOW_S} and batch >= 1"
            )

    def _window(self, key: str, now: float) -> _Window:
        window = self._windows.get(key)
        if window is None:
            if len(self._windows) >= self.max_keys:
                self._forget(now)
            window = self._windows[key] = _Window(None)
        elif window.started_at is not None and now >= window.started_at + self.window_s:
            window = self._windows[key] = _Window(None)  # ended: the store says what follows
        return window

    def _forget(self, now: float) -> None:
        """Drop the keys whose window has ended (they hold nothing worth keeping)."""
        horizon = now - self.window_s
        self._windows = {
            key: window
            for key, window in self._windows.items()
            if window.started_at is None or window.started_at > horizon
        }

    def _store_key(self, key: str) -> str:
        # KV keys are [-/_=.a-zA-Z0-9]; an address or a name is not, so it is hashed. The
        # policy is part of the key: a changed limit or window starts from nothing.
        digest = hashlib.blake2b(key.encode(), digest_size=12).hexdigest()
        return f"{self.name}.{self.limit}.{self.window_s}.{digest}"

    async def hit(self, key: str) -> Decision:
        """Admit one request of ``key`` if its window has room (refused ones do not count)."""
        now = self.clock()
        window = self._window(key, now)
        # Requests waiting on one allowance may find it spent by the others: they take the
        # next (bounded, and past the bound let through: contention is no reason to refuse).
        for _ in range(_WAIT_ROUNDS):
            if window.unspent > 0:
                window.spent += 1
                return self._decision(window, now, allowed=True)
            if window.started_at is not None and window.store_hits >= self.limit:
                # Known spent: refused here until the window ends, without asking the store.
                return self._decision(window, now, allowed=False)
            if window.taking is not None:
                await asyncio.shield(window.taking)
            else:
                await self._take(key, window, now)
        return self._decision(window, now, allowed=True)

    def give_back(self, key: str, admitted: Decision) -> None:
        """Return one request ``admitted`` for ``key`` that turned out not to count (a login
        that succeeded): it goes back to this replica's allowance, to be admitted again in
        the same window. The store's count is left as it is, so the fleet still admits at
        most ``limit`` requests that count; what is given back after its window ended (or
        was never admitted) is dropped."""
        window = self._windows.get(key)
        if (
            not admitted.allowed
            or window is None
            or window.started_at is None
            or window.started_at + self.window_s != admitted.reset_at
            or window.spent == 0
        ):
            return
        window.spent -= 1

    async def _take(self, key: str, window: _Window, now: float) -> None:
        """Take the next allowance of ``key`` from the store (one at a time per key)."""
        room = self.limit - window.store_hits
        want = max(1, min(self.batch, int(room / (4 * window.fleet_factor))))
        window.taking = asyncio.get_running_loop().create_future()
        try:
            try:
                async with asyncio.timeout(STORE_TIMEOUT_S):
                    count, granted = await self.counters.take(
                        self._store_key(key), want, now, self.window_s, self.limit
                    )
            except Exception as exc:  # the store is away: count here, fail open
                _warn_store_away(exc)
                granted = max(0, min(want, room))
                count = Count(window.started_at or now, window.store_hits + granted)
            if granted and window.started_at == count.started_at:
                others = max(0, count.hits - window.store_hits - granted)
                window.fleet_factor = max(1.0, (others + granted) / granted)
            window.started_at = count.started_at
            window.store_hits = count.hits
            window.taken += granted
        finally:
            window.taking.set_result(None)
            window.taking = None

    def _decision(self, window: _Window, now: float, *, allowed: bool) -> Decision:
        reset_at = (window.started_at if window.started_at is not None else now) + self.window_s
        return Decision(
            allowed=allowed,
            limit=self.limit,
            remaining=max(0, self.limit - window.store_hits + window.unspent),
            window_s=self.window_s,
            reset_at=reset_at,
            reset_in=max(0.0, reset_at - now),
        )
