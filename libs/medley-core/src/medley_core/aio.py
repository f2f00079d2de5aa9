"""asyncio helpers for the loops that run for a process's lifetime (relay, consumers)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger("medley.aio")


async def wait_event(event: asyncio.Event, timeout_s: float) -> bool:
    """Wait for ``event`` at most ``timeout_s``; True if it is set.

    Not ``asyncio.wait_for``: on Python 3.11 it swallows a cancellation that arrives just as
    the event is set, and a loop around it then never stops (a shutdown hangs for good).
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout_s):
            await event.wait()
    return event.is_set()


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any]], *, again_s: float = 1.0) -> None:
    """Cancel ``tasks`` and wait for them to end, cancelling again every ``again_s`` any that
    is still running: code we do not own may swallow one cancellation, and a shutdown must
    not hang on it."""
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=again_s)
        for task in pending:
            log.warning("task %s outlived its cancellation; cancelling it again", task.get_name())
