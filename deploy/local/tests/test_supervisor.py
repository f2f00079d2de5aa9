"""The supervisor: restart policy with stand-in children and a clock of our own, then a real
embedded NATS killed under it (the launcher's own tests kill services and PostgreSQL)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import nats
import pytest
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError

from medley_local.embedded import EmbeddedNats
from medley_local.processes import ChildFailed
from medley_local.supervisor import RestartPolicy, Supervisor

DEADLINE_S = 60.0  # generous: the machine may be busy; a condition is awaited, never timed


async def eventually(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while True:
        if condition():
            return
        assert time.monotonic() < deadline, f"{what} after {DEADLINE_S:.0f} s"
        await asyncio.sleep(0.02)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FakeChild:
    """Stands in for a process: the test decides when it dies and whether it restarts."""

    def __init__(self, name: str, *, fails_to_restart: bool = False) -> None:
        self.name = name
        self.code: int | None = None
        self.restarts = 0
        self.stops = 0
        self.fails_to_restart = fails_to_restart

    @property
    def returncode(self) -> int | None:
        return self.code

    def output(self) -> str:
        return f"{self.name}: last words"

    async def restart(self) -> None:
        if self.fails_to_restart:
            raise ChildFailed(self.name, 1, f"{self.name}: refused")
        self.restarts += 1
        self.code = None

    async def astop(self) -> None:
        self.stops += 1
        if self.code is None:
            self.code = 0


def fast(**overrides: float) -> RestartPolicy:
    values: dict[str, float] = {"backoff_s": 0.01, "backoff_max_s": 0.04, "poll_s": 0.01}
    values.update(overrides)
    return RestartPolicy(**values)  # type: ignore[arg-type]


def test_policy_defaults_and_settings_from_the_environment() -> None:
    policy = RestartPolicy()
    assert (policy.limit, policy.window_s, policy.backoff_s, policy.backoff_max_s) == (
        5, 60.0, 0.5, 30.0,
    )  # fmt: skip
    assert [policy.delay(n) for n in (1, 2, 3, 7, 8)] == [0.5, 1.0, 2.0, 30.0, 30.0]
    assert RestartPolicy.from_env({}) == policy
    tuned = RestartPolicy.from_env(
        {"MEDLEY_LAUNCHER_RESTART_LIMIT": "3", "MEDLEY_LAUNCHER_RESTART_WINDOW_S": "10"}
    )
    assert (tuned.limit, tuned.window_s, tuned.backoff_s) == (3, 10.0, 0.5)
    with pytest.raises(ValueError, match="MEDLEY_LAUNCHER_RESTART_BACKOFF_S"):
        RestartPolicy.from_env({"MEDLEY_LAUNCHER_RESTART_BACKOFF_S": "soon"})


async def test_backoff_doubles_to_its_cap_and_starts_over_after_a_stable_run() -> None:
    clock, said = Clock(), list[str]()
    child = FakeChild("catalog")
    async with Supervisor(fast(limit=100, window_s=1000), say=said.append, clock=clock) as sup:
        sup.adopt(child)
        for restarts, now in enumerate([0, 1, 2, 3, 100], start=1):  # up 97 s before the last
            clock.now = now
            child.code = -9
            await eventually(lambda n=restarts: child.restarts == n, f"restart {restarts}")
    delays = [re.findall(r"restarting it in (\S+) s", line) for line in said]
    assert [d[0] for d in delays if d] == ["0.01", "0.02", "0.04", "0.04", "0.01"]
    assert said[0].startswith("catalog was killed by SIGKILL; restarting it in 0.01 s")
    assert "\n  catalog: last words" in said[0]
    assert len([line for line in said if line == "catalog restarted"]) == 5


async def test_the_limit_th_death_within_the_window_gives_up() -> None:
    clock, said, gave_up = Clock(), list[str](), asyncio.Event()
    child = FakeChild("gateway")
    policy = fast(limit=3, window_s=10)
    async with Supervisor(policy, say=said.append, on_give_up=gave_up.set, clock=clock) as sup:
        sup.adopt(child)
        # Deaths at 0 and 1 are out of the window by 20: 20, 21 and 22 are three within 10 s.
        for restarts, now in enumerate([0, 1, 20, 21], start=1):
            clock.now = now
            child.code = 3
            await eventually(lambda n=restarts: child.restarts == n, f"restart {restarts}")
        assert not gave_up.is_set()
        clock.now, child.code = 22, 3
        await eventually(gave_up.is_set, "no give-up")
        assert sup.failure is not None
        assert (sup.failure.name, sup.failure.returncode, sup.failure.deaths) == ("gateway", 3, 3)
        assert sup.failure.output == "gateway: last words"
        assert said[-1].startswith("gateway died 3 times in 10 s (last: exited with code 3)")
    assert child.restarts == 4  # never restarted after giving up


async def test_a_restart_that_fails_counts_as_a_death() -> None:
    said, gave_up = list[str](), asyncio.Event()
    child = FakeChild("users", fails_to_restart=True)
    async with Supervisor(fast(limit=3), say=said.append, on_give_up=gave_up.set) as sup:
        sup.adopt(child)
        child.code = -9
        await eventually(gave_up.is_set, "no give-up")
    assert sup.failure is not None
    assert sup.failure.deaths == 3
    assert sup.failure.returncode == 1  # the last failed attempt's
    assert len([line for line in said if line.startswith("users did not restart")]) == 2


async def test_close_stops_children_last_started_first_and_restarts_none() -> None:
    stopped: list[str] = []

    class Recorded(FakeChild):
        async def astop(self) -> None:
            stopped.append(self.name)
            await asyncio.sleep(0.05)  # the watchers would have time to see it exit
            await super().astop()

    children = [Recorded(name) for name in ("postgres", "nats", "users", "gateway")]
    supervisor = Supervisor(fast(), say=lambda _: None)
    supervisor.adopt(*children)
    await supervisor.aclose()
    assert stopped == ["gateway", "users", "nats", "postgres"]
    assert all(child.code == 0 and child.restarts == 0 for child in children)
    await supervisor.aclose()  # idempotent
    assert stopped == ["gateway", "users", "nats", "postgres"]


@pytest.fixture
def work_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="medley-supervisor-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def test_a_killed_embedded_nats_comes_back_and_events_flow_again(work_dir: Path) -> None:
    said: list[str] = []
    server = await EmbeddedNats(work_dir / "nats").astart()
    url, first_pid = server.url, server.pid
    assert first_pid is not None
    async with Supervisor(RestartPolicy(backoff_s=0.1), say=said.append) as supervisor:
        supervisor.adopt(server)
        # As the services connect: reconnecting by itself, forever.
        client = await nats.connect(
            url, allow_reconnect=True, max_reconnect_attempts=-1, reconnect_time_wait=0.2
        )
        try:
            js = client.jetstream()
            await js.add_stream(name="SUPERVISED", subjects=["supervised.>"])
            reader = await js.pull_subscribe("supervised.>", durable="reader")
            await js.publish("supervised.note", b"before", headers={"Nats-Msg-Id": "1"})

            os.kill(first_pid, signal.SIGKILL)
            await eventually(lambda: "nats restarted" in " ".join(said), "no restart")
            assert said[0].startswith("nats was killed by SIGKILL; restarting it")
            assert server.running
            assert server.pid != first_pid
            assert server.url == url  # same port: the clients' URL still holds

            # Published once the client is back; the same message id makes retries harmless.
            deadline = time.monotonic() + DEADLINE_S
            while True:
                try:
                    await js.publish(
                        "supervised.note", b"after", headers={"Nats-Msg-Id": "2"}, timeout=5
                    )
                    break
                except (NatsTimeoutError, NoRespondersError):
                    assert time.monotonic() < deadline, "could not publish after the restart"
            # The stream and the durable consumer survived (same store): both are there.
            messages = await reader.fetch(2, timeout=30)
            assert [message.data for message in messages] == [b"before", b"after"]
        finally:
            await client.close()
    assert not server.running
