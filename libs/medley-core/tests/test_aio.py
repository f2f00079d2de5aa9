"""The asyncio helpers long-running loops use: they stop when cancelled, whatever the timing."""

from __future__ import annotations

import asyncio

from medley_core.aio import cancel_and_wait, wait_event


async def test_wait_event_says_whether_the_event_came() -> None:
    event = asyncio.Event()
    assert await wait_event(event, 0.01) is False
    event.set()
    assert await wait_event(event, 10) is True


async def test_a_loop_on_wait_event_stops_when_cancelled_as_the_event_is_set() -> None:
    # The relay's shape: wait for a wake-up or the poll interval, again and again. With
    # asyncio.wait_for in place of wait_event, Python 3.11 loses this cancellation and the
    # loop runs on forever.
    event = asyncio.Event()
    rounds = 0

    async def loop() -> None:
        nonlocal rounds
        while True:
            event.clear()
            await wait_event(event, 1.0)
            rounds += 1

    task = asyncio.create_task(loop())
    await asyncio.sleep(0.05)
    event.set()
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=3)
    assert done == {task}
    assert task.cancelled()


async def test_cancel_and_wait_ends_a_task_that_swallows_a_cancellation() -> None:
    swallowed = 0

    async def stubborn() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed += 1

    task = asyncio.create_task(stubborn(), name="stubborn")
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel_and_wait([task], again_s=0.05), timeout=5)
    assert task.cancelled()
    assert swallowed == 1
