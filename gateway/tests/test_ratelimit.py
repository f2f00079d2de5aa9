"""The login and register budgets' rules (all-or-nothing, the longest wait, refunds), and
the keys they count by."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Request

from medley_core.errors import TooManyRequests
from medley_core.ratelimit import MemoryCounters, SharedLimiter
from medley_gateway.ratelimit import (
    Budget,
    account_key,
    client_address,
    enforce,
    refund,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def budget(capacity: int = 3, window_s: int = 60, label: str = "test") -> Budget:
    """A budget counted in memory (the store shared by replicas is NATS KV: tested against
    it in ``test_shared_ratelimit``)."""
    limiter = SharedLimiter(
        label, limit=capacity, window_s=window_s, counters=MemoryCounters(), batch=1, clock=Clock()
    )
    return Budget(label, limiter)


async def remaining(of: Budget, key: str) -> int:
    """What is left of ``key``'s budget, seen by spending one more and giving it back."""
    decision = await of.limiter.hit(key)
    of.limiter.give_back(key, decision)
    return decision.remaining + 1 if decision.allowed else 0


async def test_enforce_is_all_or_nothing() -> None:
    address = budget(capacity=5, label="per-address")
    account = budget(capacity=1, label="per-account")
    await enforce([(address, "1.2.3.4"), (account, "ada")], "login")
    with pytest.raises(TooManyRequests) as caught:
        await enforce([(address, "1.2.3.4"), (account, "ada")], "login")
    problem = caught.value
    assert problem.status == 429
    assert problem.extensions["limit"] == "per-account"
    assert int(problem.headers["Retry-After"]) >= 1
    assert problem.extensions["retry_after_s"] == int(problem.headers["Retry-After"])
    # The refusing budget's own fields, not the address's.
    assert problem.headers["RateLimit-Limit"] == "1"
    assert problem.headers["RateLimit-Remaining"] == "0"
    # The refused attempt did not cost the address anything.
    assert await remaining(address, "1.2.3.4") == 4


async def test_retry_after_is_the_longest_wait() -> None:
    fast = budget(capacity=1, window_s=2, label="fast")
    slow = budget(capacity=1, window_s=120, label="slow")
    await enforce([(fast, "x"), (slow, "x")], "login")
    with pytest.raises(TooManyRequests) as caught:
        await enforce([(fast, "x"), (slow, "x")], "login")
    assert caught.value.headers["Retry-After"] == "120"
    assert caught.value.extensions["limit"] == "slow"


async def test_keys_are_independent() -> None:
    account = budget(capacity=1)
    await enforce([(account, "a")], "login")
    with pytest.raises(TooManyRequests):
        await enforce([(account, "a")], "login")
    await enforce([(account, "b")], "login")


async def test_refund_gives_every_charge_back() -> None:
    a = budget(capacity=1)
    b = budget(capacity=1)
    charges = [(a, "k"), (b, "k")]
    for _ in range(3):  # a login that succeeds, again and again
        refund(await enforce(charges, "login"))
    await enforce(charges, "login")
    with pytest.raises(TooManyRequests):
        await enforce(charges, "login")


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("Ada", "ada"),
        ("  ADA@Example.COM ", "ada@example.com"),
        ("\uff41\uff44\uff41", "ada"),  # full-width folds to ASCII
        ("", None),
        ("   ", None),
        (42, None),
        (None, None),
        (["ada"], None),
    ],
)
def test_account_key_folds_case_width_and_space(value: Any, key: str | None) -> None:
    assert account_key(value) == key


def _request(peer: str, forwarded: str | None = None) -> Request[Any, Any, Any]:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    scope: Any = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": headers,
        "client": (peer, 5555),
        "query_string": b"",
    }
    return Request(scope)


def test_client_address_ignores_forwarded_for_unless_proxies_are_trusted() -> None:
    forged = _request("10.0.0.9", "6.6.6.6")
    assert client_address(forged, 0) == "10.0.0.9"
    behind_one = _request("10.0.0.9", "6.6.6.6, 203.0.113.7")
    assert client_address(behind_one, 1) == "203.0.113.7"  # what our proxy saw
    assert client_address(behind_one, 2) == "6.6.6.6"
    assert client_address(_request("10.0.0.9", "203.0.113.7"), 3) == "203.0.113.7"
    assert client_address(_request("10.0.0.9"), 1) == "10.0.0.9"
