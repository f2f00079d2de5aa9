"""Keep the launcher's children running: restart a crashed one, give up on one that keeps dying.

Every child ``make run`` starts (embedded PostgreSQL and NATS, each service, the gateway) is
adopted by one :class:`Supervisor` once it is up. A child that exits on its own (a crash, a
``kill -9``, even a clean exit nobody asked for) is logged with its exit status and last lines
of output, then restarted after an exponential backoff: same command, same environment, same
port and data directory, so the others reconnect to it by themselves. A child that dies
:attr:`RestartPolicy.limit` times within :attr:`RestartPolicy.window_s` seconds is not
restarted again: the supervisor reports it and asks for the whole launch to stop.

Watching polls (every :attr:`RestartPolicy.poll_s`) instead of blocking in ``wait()``: a worker
thread stuck in ``wait()`` cannot be cancelled, and sleeps use ``asyncio.sleep`` /
:func:`~medley_core.aio.wait_event`, never ``asyncio.wait_for`` (on Python 3.11 it swallows a
cancellation, and a launch would then never finish stopping).

Stopping is the supervisor's too: :meth:`Supervisor.aclose` first ends the watching (so a
child being stopped is not taken for a crash), then stops the children in reverse start order.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, Self

from medley_core.aio import cancel_and_wait, wait_event
from medley_local.embedded import EmbeddedServerError
from medley_local.processes import ChildFailed, describe_exit

ENV_PREFIX = "MEDLEY_LAUNCHER_"
_DEATH_LINES = 10


class Supervised(Protocol):
    """A child the supervisor can watch, restart and stop (:class:`~.processes.Child`, the
    embedded servers)."""

    @property
    def name(self) -> str: ...

    @property
    def returncode(self) -> int | None:
        """None while it runs."""

    def output(self) -> str:
        """Its last lines of output (blocking: the supervisor calls it from a thread)."""

    async def restart(self) -> None:
        """Start it again as before and wait until it is ready; raise if it does not get so."""

    async def astop(self) -> Any: ...


@dataclass(frozen=True)
class RestartPolicy:
    """When to restart a child that died, and when to stop trying.

    The n-th consecutive restart waits ``backoff_s * 2**(n-1)``, at most ``backoff_max_s``;
    a child that stayed up ``stable_s`` seconds starts again from ``backoff_s``. The
    ``limit``-th death within ``window_s`` seconds stops the launch.
    """

    limit: int = 5
    window_s: float = 60.0
    backoff_s: float = 0.5
    backoff_max_s: float = 30.0
    stable_s: float = 30.0
    poll_s: float = 0.25

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RestartPolicy:
        """``MEDLEY_LAUNCHER_RESTART_LIMIT``, ``_RESTART_WINDOW_S``, ``_RESTART_BACKOFF_S``,
        ``_RESTART_BACKOFF_MAX_S``, ``_RESTART_STABLE_S``; the defaults otherwise."""
        default = cls()

        def number(name: str, fallback: float) -> float:
            raw = env.get(f"{ENV_PREFIX}RESTART_{name}")
            if not raw:
                return fallback
            try:
                value = float(raw)
            except ValueError as exc:
                raise ValueError(f"{ENV_PREFIX}RESTART_{name}={raw!r} is not a number") from exc
            if value < 0:
                raise ValueError(f"{ENV_PREFIX}RESTART_{name} must not be negative")
            return value

        return cls(
            limit=max(1, int(number("LIMIT", default.limit))),
            window_s=number("WINDOW_S", default.window_s),
            backoff_s=number("BACKOFF_S", default.backoff_s),
            backoff_max_s=number("BACKOFF_MAX_S", default.backoff_max_s),
            stable_s=number("STABLE_S", default.stable_s),
        )

    def delay(self, consecutive: int) -> float:
        """The wait before the ``consecutive``-th restart in a row (1, 2, …)."""
        return min(self.backoff_max_s, self.backoff_s * 2.0 ** max(0, consecutive - 1))


@dataclass(frozen=True)
class GaveUp:
    """A child that kept dying: the reason the launch stopped."""

    name: str
    returncode: int | None
    deaths: int
    window_s: float
    output: str

    def __str__(self) -> str:
        return (
            f"{self.name} died {self.deaths} times in {self.window_s:g} s "
            f"(last: {describe_exit(self.returncode)})"
        )


def _indent(text: str, lines: int) -> str:
    return "\n".join("  " + line for line in text.splitlines()[-lines:])


class Supervisor:
    """Watches adopted children; restarts them; stops them all, last started first.

    ``say`` prints one launcher line; ``on_give_up`` is called once, when a child has died
    too often (the launcher then stops everything; :attr:`failure` says why, with the child's
    last output). ``clock`` measures uptimes and the give-up window (tests pass their own).
    """

    def __init__(
        self,
        policy: RestartPolicy | None = None,
        *,
        say: Callable[[str], None] = print,
        on_give_up: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy or RestartPolicy()
        self._clock = clock
        self.failure: GaveUp | None = None
        self._say = say
        self._on_give_up = on_give_up
        self._children: list[Supervised] = []
        self._watchers: list[asyncio.Task[None]] = []
        self._closing = asyncio.Event()

    @property
    def children(self) -> list[Supervised]:
        """The adopted children, in start order."""
        return list(self._children)

    def adopt(self, *children: Supervised) -> None:
        """Watch ``children`` (already started and ready) from now on; stop them at close."""
        if self._closing.is_set():
            raise RuntimeError("the supervisor is closed")
        for child in children:
            self._children.append(child)
            self._watchers.append(
                asyncio.create_task(self._watch(child), name=f"supervise-{child.name}")
            )

    async def aclose(self) -> None:
        """Stop watching, then stop every child in reverse start order; idempotent."""
        self._closing.set()
        # First: a child stopped while still watched would look like a crash and be restarted.
        await cancel_and_wait(self._watchers)
        self._watchers.clear()
        while self._children:
            child = self._children.pop()
            try:
                await child.astop()
            except Exception as exc:  # stop the others all the same
                self._say(f"stopping {child.name}: {exc}")

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        await self.aclose()

    async def _watch(self, child: Supervised) -> None:
        policy = self.policy
        deaths: collections.deque[float] = collections.deque()
        consecutive = 0  # restarts since it last stayed up stable_s
        up_since = self._clock()
        while True:
            # Polled, not waited on in a thread: a worker blocked in wait() cannot be
            # cancelled, and the watcher must end at once when the launch stops.
            while (code := child.returncode) is None:
                if await wait_event(self._closing, policy.poll_s):
                    return
            if self._clock() - up_since >= policy.stable_s:
                consecutive = 0
            # Until it is up again; a restart that fails counts as one more death.
            while True:
                now = self._clock()
                deaths.append(now)
                while deaths and now - deaths[0] > policy.window_s:
                    deaths.popleft()
                output = await asyncio.to_thread(child.output)
                if len(deaths) >= policy.limit:
                    self._give_up(GaveUp(child.name, code, len(deaths), policy.window_s, output))
                    return
                consecutive += 1
                delay = policy.delay(consecutive)
                self._say(
                    f"{child.name} {describe_exit(code)}; restarting it in {delay:g} s "
                    f"({len(deaths)} of {policy.limit} deaths allowed in {policy.window_s:g} s);"
                    f" its last output:\n{_indent(output, _DEATH_LINES)}"
                )
                await asyncio.sleep(delay)
                try:
                    await child.restart()
                except (ChildFailed, EmbeddedServerError, TimeoutError, OSError) as exc:
                    code = exc.returncode if isinstance(exc, ChildFailed) else None
                    self._say(f"{child.name} did not restart: {str(exc).splitlines()[0]}")
                    with contextlib.suppress(Exception):  # one that hangs unready is stopped
                        await child.astop()
                    continue
                break
            up_since = self._clock()
            pid = getattr(child, "pid", None)
            self._say(f"{child.name} restarted" + (f" (pid {pid})" if pid else ""))

    def _give_up(self, failure: GaveUp) -> None:
        if self.failure is not None:
            return
        self.failure = failure
        # Its output is the caller's to show, once the others' stopping has scrolled by.
        self._say(f"{failure}; stopping everything")
        self._on_give_up()
