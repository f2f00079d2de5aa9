"""The rate limiter's arithmetic, with a clock the test moves by hand."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Request

from medley_core.errors import TooManyRequests
from medley_gateway.ratelimit import (
    TokenBucketLimiter,
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


def limiter(capacity: int = 3, window_s: float = 60.0, **kwargs: Any) -> tuple[Any, Clock]:
    clock = Clock()
    return TokenBucketLimiter(
        "test", capacity=capacity, window_s=window_s, clock=clock, **kwargs
    ), clock


def test_burst_up_to_capacity_then_refused() -> None:
    bucket, _ = limiter(capacity=3)
    for _ in range(3):
        assert bucket.wait_s("a") == 0
        bucket.take("a")
    assert bucket.wait_s("a") == pytest.approx(20.0)  # one token every 60/3 s


def test_tokens_refill_evenly_over_the_window() -> None:
    bucket, clock = limiter(capacity=3, window_s=60)
    for _ in range(3):
        bucket.take("a")
    clock.now += 10
    assert bucket.wait_s("a") == pytest.approx(10.0)
    clock.now += 10
    assert bucket.wait_s("a") == 0
    bucket.take("a")
    assert bucket.wait_s("a") > 0
    clock.now += 3600
    assert bucket.remaining("a") == 3  # never above capacity


def test_keys_are_independent() -> None:
    bucket, _ = limiter(capacity=1)
    bucket.take("a")
    assert bucket.wait_s("a") > 0
    assert bucket.wait_s("b") == 0


def test_give_back_restores_a_token_but_not_beyond_capacity() -> None:
    bucket, _ = limiter(capacity=2)
    bucket.take("a")
    bucket.take("a")
    bucket.give_back("a")
    assert bucket.remaining("a") == 1
    bucket.give_back("a")
    bucket.give_back("a")
    assert bucket.remaining("a") == 2


def test_memory_is_bounded_least_recently_used_first() -> None:
    bucket, _ = limiter(capacity=1, max_keys=100)
    bucket.take("old")
    for i in range(100):
        bucket.take(f"k{i}")
    assert len(bucket) == 100
    assert bucket.wait_s("old") == 0  # evicted: forgotten, so full again


def test_enforce_is_all_or_nothing() -> None:
    address, _ = limiter(capacity=5)
    account, _ = limiter(capacity=1)
    enforce([(address, "1.2.3.4"), (account, "ada")], "login")
    with pytest.raises(TooManyRequests) as caught:
        enforce([(address, "1.2.3.4"), (account, "ada")], "login")
    problem = caught.value
    assert problem.status == 429
    assert int(problem.headers["Retry-After"]) >= 1
    assert problem.extensions["retry_after_s"] == int(problem.headers["Retry-After"])
    # The refused attempt did not cost the address anything.
    assert address.remaining("1.2.3.4") == 4


def test_retry_after_is_the_longest_wait() -> None:
    fast, _ = limiter(capacity=1, window_s=2)
    slow, _ = limiter(capacity=1, window_s=120)
    fast.take("x")
    slow.take("x")
    with pytest.raises(TooManyRequests) as caught:
        enforce([(fast, "x"), (slow, "x")], "login")
    assert caught.value.headers["Retry-After"] == "120"


def test_refund_gives_every_charge_back() -> None:
    a, _ = limiter(capacity=1)
    b, _ = limiter(capacity=1)
    charges = [(a, "k"), (b, "k")]
    enforce(charges, "login")
    refund(charges)
    enforce(charges, "login")


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
