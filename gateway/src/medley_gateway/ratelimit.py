"""Rate limits: every public request per user (or per address, without a user), shared by
every replica; and, on the endpoints worth guessing at (login and register), token buckets.

**Every request** (:class:`RequestRateLimits`, :class:`RateLimitMiddleware`): a request with
a valid access token spends its user's budget (``rate_limit_per_user`` per
``rate_limit_window_s``), any other its client address's (``rate_limit_per_address``). The
counts are :class:`medley_core.ratelimit.SharedLimiter`'s, in NATS KV, so two replicas
share one budget. Every answer carries ``RateLimit-Limit``, ``-Remaining``, ``-Reset`` and
``RateLimit-Policy`` (draft-ietf-httpapi-ratelimit-headers-06); past the limit the answer
is a 429 problem with ``Retry-After``. Health, metrics, the docs and ListenBrainz's ``/1/``
routes (limited by ingestion, with ListenBrainz's own headers) do not count.

**Login and register** (below): stricter, and in memory.

Token buckets, in memory: each key (a client address, an account) has ``capacity`` tokens
that refill evenly over ``window_s``; an attempt takes one. So ``capacity`` attempts may come
in a burst, then one more every ``window_s / capacity`` seconds.

**Per gateway replica.** With N replicas behind a load balancer an attacker gets up to N
times the budget; that still turns a password-guessing run from millions of tries into a
handful per minute, and the limit needs no shared store. A deployment that needs one global
limit puts it in front (the load balancer) or swaps this module for a Redis-backed one.

Login counts against both the client address and the login named in the body (as typed,
folded: the gateway cannot tell that a username and an email are one account, so this is a
cheap first line; the users service keeps each account's failed-login budget by account id,
shared by every replica); a successful login gives its tokens back, so a user who logs in
often is never locked out while guessing at their password costs the guesser. Memory is
bounded: past ``max_keys`` keys the least recently used go first (a full bucket carries no
information).
"""

from __future__ import annotations

import math
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from medley_core.auth import authenticate, bearer_token
from medley_core.errors import Problem, TooManyRequests
from medley_core.ratelimit import Counters, Decision, SharedLimiter

if TYPE_CHECKING:
    from medley_gateway.settings import GatewaySettings


@dataclass
class _Bucket:
    tokens: float
    updated_at: float


class TokenBucketLimiter:
    """``capacity`` attempts per ``window_s`` for each key, refilled continuously."""

    def __init__(
        self,
        name: str,
        *,
        capacity: int,
        window_s: float,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if capacity < 1 or window_s <= 0:
            raise ValueError("a limiter needs a capacity >= 1 and a positive window")
        self.name = name
        self.capacity = float(capacity)
        self.window_s = window_s
        self.rate = capacity / window_s  # tokens per second
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def _bucket(self, key: str, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(self.capacity, now)
            self._buckets[key] = bucket
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            elapsed = max(0.0, now - bucket.updated_at)
            bucket.tokens = min(self.capacity, bucket.tokens + elapsed * self.rate)
            bucket.updated_at = now
            self._buckets.move_to_end(key)
        return bucket

    def wait_s(self, key: str) -> float:
        """0 if an attempt is allowed now, else how long until it would be."""
        bucket = self._bucket(key, self._clock())
        return 0.0 if bucket.tokens >= 1.0 else (1.0 - bucket.tokens) / self.rate

    def take(self, key: str) -> None:
        bucket = self._bucket(key, self._clock())
        bucket.tokens = max(0.0, bucket.tokens - 1.0)

    def give_back(self, key: str) -> None:
        bucket = self._bucket(key, self._clock())
        bucket.tokens = min(self.capacity, bucket.tokens + 1.0)

    def remaining(self, key: str) -> int:
        return math.floor(self._bucket(key, self._clock()).tokens)


Charge = tuple[TokenBucketLimiter, str]


def enforce(charges: Sequence[Charge], what: str) -> None:
    """Take one attempt from every (limiter, key), or none and a 429 problem if any is empty.

    All-or-nothing, so an attempt refused for the account does not also cost the address.
    """
    waits = [(limiter.wait_s(key), limiter) for limiter, key in charges]
    longest, limiter = max(waits, key=lambda pair: pair[0], default=(0.0, None))
    if longest > 0 and limiter is not None:
        raise TooManyRequests(
            f"too many {what} attempts; try again later",
            retry_after_s=math.ceil(longest),
            limit=limiter.name,
        )
    for limiter_, key in charges:
        limiter_.take(key)


def refund(charges: Sequence[Charge]) -> None:
    for limiter, key in charges:
        limiter.give_back(key)


def account_key(value: Any) -> str | None:
    """A login name, case- and width-folded, as a rate-limit key (None if not a string)."""
    if not isinstance(value, str):
        return None
    folded = unicodedata.normalize("NFKC", value).strip().casefold()
    return folded[:320] or None


def client_address(request: ASGIConnection[Any, Any, Any, Any], forwarded_for_depth: int) -> str:
    """The caller's address: the TCP peer, or, behind ``forwarded_for_depth`` trusted
    proxies, the X-Forwarded-For entry the outermost trusted proxy saw."""
    peer = request.client.host if request.client else "unknown"
    if forwarded_for_depth <= 0:
        return peer
    header = ",".join(request.headers.getall("x-forwarded-for", []))
    hops = [hop.strip() for hop in header.split(",") if hop.strip()]
    if not hops:
        return peer
    return hops[-min(forwarded_for_depth, len(hops))]


@dataclass
class AuthRateLimits:
    """The gateway's limiters: login and register, each per address and per account."""

    login_address: TokenBucketLimiter
    login_account: TokenBucketLimiter
    register_address: TokenBucketLimiter
    register_account: TokenBucketLimiter
    forwarded_for_depth: int = 0
    enabled: bool = True

    @classmethod
    def from_settings(
        cls, settings: GatewaySettings, *, clock: Callable[[], float] = time.monotonic
    ) -> AuthRateLimits:
        max_keys = settings.rate_limit_max_keys

        def limiter(name: str, capacity: int, window_s: float) -> TokenBucketLimiter:
            return TokenBucketLimiter(
                name, capacity=capacity, window_s=window_s, max_keys=max_keys, clock=clock
            )

        return cls(
            login_address=limiter(
                "login-per-address", settings.login_per_address, settings.login_window_s
            ),
            login_account=limiter(
                "login-per-account", settings.login_per_account, settings.login_window_s
            ),
            register_address=limiter(
                "register-per-address", settings.register_per_address, settings.register_window_s
            ),
            register_account=limiter(
                "register-per-account", settings.register_per_account, settings.register_window_s
            ),
            forwarded_for_depth=settings.forwarded_for_depth,
            enabled=settings.rate_limit_enabled,
        )

    def login(self, request: Request[Any, Any, Any], login: Any) -> list[Charge]:
        """Charge a login attempt; the charges to :func:`refund` if it succeeds."""
        if not self.enabled:
            return []
        charges: list[Charge] = [
            (self.login_address, client_address(request, self.forwarded_for_depth))
        ]
        if (account := account_key(login)) is not None:
            charges.append((self.login_account, account))
        enforce(charges, "login")
        return charges

    def register(self, request: Request[Any, Any, Any], *accounts: Any) -> None:
        if not self.enabled:
            return
        charges: list[Charge] = [
            (self.register_address, client_address(request, self.forwarded_for_depth))
        ]
        for value in accounts:
            if (account := account_key(value)) is not None:
                charges.append((self.register_account, account))
        enforce(charges, "registration")


# --- every request, shared by the replicas ---------------------------------------------------

REQUEST_LIMITS_STATE_KEY = "request_rate_limits"
# Not counted: probes, the scraper, the docs, and ListenBrainz's routes (ingestion limits
# those, per user, with ListenBrainz's own headers).
EXEMPT_PREFIXES = ("/health", "/metrics", "/docs", "/static", "/1/")


@dataclass
class RequestRateLimits:
    """The budgets every public request spends: its user's, or its address's."""

    per_user: SharedLimiter
    per_address: SharedLimiter
    forwarded_for_depth: int = 0

    @classmethod
    def from_settings(cls, settings: GatewaySettings, counters: Counters) -> RequestRateLimits:
        def limiter(name: str, limit: int) -> SharedLimiter:
            return SharedLimiter(
                f"{settings.event_prefix}.{name}",
                limit=limit,
                window_s=settings.rate_limit_window_s,
                counters=counters,
                batch=settings.rate_limit_batch,
                max_keys=settings.rate_limit_max_keys,
            )

        return cls(
            per_user=limiter("gateway-user", settings.rate_limit_per_user),
            per_address=limiter("gateway-address", settings.rate_limit_per_address),
            forwarded_for_depth=settings.forwarded_for_depth,
        )

    async def charge(self, connection: ASGIConnection[Any, Any, Any, Any]) -> Decision:
        """Spend one request of the caller's budget. A token that does not verify spends the
        address's (the route's own guard then refuses it, if the route needs one)."""
        if bearer_token(connection) is not None:
            try:
                principal = await authenticate(connection)
            except Problem:
                pass
            else:
                return await self.per_user.hit(f"{principal.kind}:{principal.subject}")
        address = client_address(connection, self.forwarded_for_depth)
        return await self.per_address.hit(address)


class RateLimitMiddleware(ASGIMiddleware):
    """Charge every request, put the ``RateLimit-*`` fields on its answer (errors included),
    and answer 429 with ``Retry-After`` past the limit."""

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        limits: RequestRateLimits | None = scope["app"].state.get(REQUEST_LIMITS_STATE_KEY)
        if limits is None or scope["path"].startswith(EXEMPT_PREFIXES):
            await next_app(scope, receive, send)
            return
        decision = await limits.charge(ASGIConnection(scope, receive, send))
        fields = decision.headers()
        if not decision.allowed:
            raise TooManyRequests(
                "too many requests; try again later",
                retry_after_s=decision.retry_after_s,
                headers={**fields, "Retry-After": str(decision.retry_after_s)},
            )

        async def send_with_fields(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                for name, value in fields.items():
                    headers[name] = value
            await send(message)

        await next_app(scope, receive, send_with_fields)
