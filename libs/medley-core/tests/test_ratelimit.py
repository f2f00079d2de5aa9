"""The shared limiter's arithmetic: replicas (limiters) meeting in one store, a clock moved
by hand. That the store is shared across processes is tested against the real NATS by the
gateway's and ingestion's tests."""

from __future__ import annotations

import asyncio

from medley_core.ratelimit import Count, Decision, MemoryCounters, SharedLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def replicas(
    n: int, *, limit: int, window_s: int = 60, batch: int = 16
) -> tuple[list[SharedLimiter], Clock]:
    store, clock = MemoryCounters(), Clock()
    made = [
        SharedLimiter("t", limit=limit, window_s=window_s, counters=store, batch=batch, clock=clock)
        for _ in range(n)
    ]
    return made, clock


async def test_replicas_share_the_budget_exactly_near_the_limit() -> None:
    (a, b, c), _ = replicas(3, limit=50)
    decisions: list[Decision] = []
    for i in range(90):
        decisions.append(await (a, b, c)[i % 3].hit("user"))
    allowed = sum(d.allowed for d in decisions)
    assert allowed == 50
    assert decisions[-1].remaining == 0


async def test_far_from_the_limit_allowances_are_taken_in_batches() -> None:
    store = MemoryCounters()
    writes = 0
    take = store.take

    async def counting_take(
        key: str, want: int, now: float, window_s: int, limit: int
    ) -> tuple[Count, int]:
        nonlocal writes
        writes += 1
        return await take(key, want, now, window_s, limit)

    store.take = counting_take  # type: ignore[method-assign]
    limiter = SharedLimiter("t", limit=10_000, window_s=60, counters=store, batch=16, clock=Clock())
    for _ in range(160):
        assert (await limiter.hit("user")).allowed
    assert writes == 10  # one allowance of 16 per 16 requests


async def test_the_window_ends_and_the_next_one_starts_full() -> None:
    (a,), clock = replicas(1, limit=2, window_s=10)
    first = await a.hit("k")
    assert (first.remaining, first.reset_in) == (1, 10)
    await a.hit("k")
    refused = await a.hit("k")
    assert not refused.allowed
    assert refused.retry_after_s == 10
    clock.now += 10
    again = await a.hit("k")
    assert again.allowed
    assert again.remaining == 1
    assert again.headers() == {
        "RateLimit-Limit": "2",
        "RateLimit-Remaining": "1",
        "RateLimit-Reset": "10",
        "RateLimit-Policy": "2;w=10",
    }


async def test_the_store_away_counts_locally_and_lets_requests_through() -> None:
    class Down:
        async def take(
            self, key: str, want: int, now: float, window_s: int, limit: int
        ) -> tuple[Count, int]:
            raise ConnectionError("no NATS")

    limiter = SharedLimiter("t", limit=2, window_s=60, counters=Down(), clock=Clock())
    assert [(await limiter.hit("k")).allowed for _ in range(3)] == [True, True, False]


async def test_concurrent_requests_waiting_on_one_allowance_are_not_refused() -> None:
    (a,), _ = replicas(1, limit=1_000, batch=4)
    decisions = await asyncio.gather(*(a.hit("k") for _ in range(100)))
    assert all(d.allowed for d in decisions)
    (b,), _ = replicas(1, limit=30, batch=4)
    decisions = await asyncio.gather(*(b.hit("k") for _ in range(50)))
    assert sum(d.allowed for d in decisions) == 30


async def test_a_request_given_back_is_admitted_again_without_asking_the_store() -> None:
    (a, b), _ = replicas(2, limit=1, batch=1)
    for _ in range(5):  # a login that succeeds, again and again: it never counts
        admitted = await a.hit("ada")
        assert admitted.allowed
        a.give_back("ada", admitted)
    # What was given back is a's to admit again, not a new request's in the store: b
    # finds the budget taken, and the fleet never admits more than the limit that count.
    assert not (await b.hit("ada")).allowed
    assert (await a.hit("ada")).allowed
    assert not (await a.hit("ada")).allowed


async def test_what_is_given_back_after_its_window_ended_is_dropped() -> None:
    (a,), clock = replicas(1, limit=1, window_s=10, batch=1)
    admitted = await a.hit("ada")
    clock.now += 10
    assert (await a.hit("ada")).allowed  # the next window's only request
    a.give_back("ada", admitted)  # of the window before: not this one's to give back
    assert not (await a.hit("ada")).allowed
    a.give_back("ada", await a.hit("ada"))  # refused: nothing to give back
    assert not (await a.hit("ada")).allowed
