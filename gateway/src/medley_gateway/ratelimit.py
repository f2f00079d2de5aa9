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

**Login and register** (:class:`AuthRateLimits`): stricter budgets of attempts, per client
address and per account, in the same shared store, so every replica spends one budget (N
replicas do not grant an attacker N times the tries). Each is ``capacity`` attempts per
window (``login_window_s``, ``register_window_s``) beginning at the key's first attempt;
past it, a 429 problem naming the budget (``limit``), with ``Retry-After`` and that budget's
``RateLimit-*`` fields. An attempt is charged all-or-nothing: one refused for the account
does not also cost the address.

Login counts against both the client address and the login named in the body (as typed,
folded: the gateway cannot tell that a username and an email are one account, so this is a
cheap first line; the users service keeps each account's failed-login budget by account id,
in its database); a successful login gives its attempts back (to the replica that admitted
it, :meth:`~medley_core.ratelimit.SharedLimiter.give_back`), so a user who logs in often is
never locked out while guessing at their password costs the guesser.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
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


@dataclass(frozen=True)
class Budget:
    """A budget of attempts (``login-per-account``…), counted in the shared store."""

    label: str
    limiter: SharedLimiter


#: An attempt admitted by a budget for a key: what :func:`refund` gives back.
Charge = tuple[Budget, str, Decision]


async def enforce(charges: Sequence[tuple[Budget, str]], what: str) -> list[Charge]:
    """Spend one attempt of every (budget, key), or none and a 429 problem if any is spent
    (its ``Retry-After`` the longest wait of those refusing).

    All-or-nothing, so an attempt refused for the account does not also cost the address.
    """
    admitted: list[Charge] = []
    refused: list[tuple[Budget, Decision]] = []
    for budget, key in charges:
        decision = await budget.limiter.hit(key)
        if decision.allowed:
            admitted.append((budget, key, decision))
        else:
            refused.append((budget, decision))
    if refused:
        refund(admitted)
        budget, decision = max(refused, key=lambda found: found[1].retry_after_s)
        raise TooManyRequests(
            f"too many {what} attempts; try again later",
            retry_after_s=decision.retry_after_s,
            limit=budget.label,
            headers={**decision.headers(), "Retry-After": str(decision.retry_after_s)},
        )
    return admitted


def refund(charges: Sequence[Charge]) -> None:
    for budget, key, decision in charges:
        budget.limiter.give_back(key, decision)


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
    """The budgets of login and register attempts, each per address and per account."""

    login_address: Budget
    login_account: Budget
    register_address: Budget
    register_account: Budget
    forwarded_for_depth: int = 0
    enabled: bool = True

    @classmethod
    def from_settings(cls, settings: GatewaySettings, counters: Counters) -> AuthRateLimits:
        def budget(label: str, capacity: int, window_s: int) -> Budget:
            # One attempt per allowance: a login costs the users service a password hash,
            # next to which one round trip to the store is nothing, and the budgets are
            # small enough that replicas holding allowances would be felt.
            limiter = SharedLimiter(
                f"{settings.event_prefix}.{label}",
                limit=capacity,
                window_s=window_s,
                counters=counters,
                batch=1,
                max_keys=settings.rate_limit_max_keys,
            )
            return Budget(label, limiter)

        return cls(
            login_address=budget(
                "login-per-address", settings.login_per_address, settings.login_window_s
            ),
            login_account=budget(
                "login-per-account", settings.login_per_account, settings.login_window_s
            ),
            register_address=budget(
                "register-per-address", settings.register_per_address, settings.register_window_s
            ),
            register_account=budget(
                "register-per-account", settings.register_per_account, settings.register_window_s
            ),
            forwarded_for_depth=settings.forwarded_for_depth,
            enabled=settings.rate_limit_enabled,
        )

    async def login(self, request: Request[Any, Any, Any], login: Any) -> list[Charge]:
        """Charge a login attempt; the charges to :func:`refund` if it succeeds."""
        if not self.enabled:
            return []
        charges = [(self.login_address, client_address(request, self.forwarded_for_depth))]
        if (account := account_key(login)) is not None:
            charges.append((self.login_account, account))
        return await enforce(charges, "login")

    async def register(self, request: Request[Any, Any, Any], *accounts: Any) -> None:
        if not self.enabled:
            return
        charges = [(self.register_address, client_address(request, self.forwarded_for_depth))]
        for value in accounts:
            if (account := account_key(value)) is not None:
                charges.append((self.register_account, account))
        await enforce(charges, "registration")


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
                # An answer carrying a budget's fields already (the login budget that
                # refused it) keeps them: they say why.
                if headers.get("ratelimit-limit") is None:
                    for name, value in fields.items():
                        headers[name] = value
            await send(message)

        await next_app(scope, receive, send_with_fields)
