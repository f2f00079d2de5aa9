"""The launcher as a user runs it: a real process, embedded servers, Ctrl-C, crashes.

Always embedded PostgreSQL and NATS (the servers `make run` starts), with fake services.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from launcher_fakes import HERE, child_env

from medley_local.processes import free_port

LAUNCHER = HERE / "fake_launcher.py"
STARTUP_LIMIT_S = 120.0


class Launch:
    """A launcher process whose output lines can be awaited."""

    def __init__(self, data_dir: Path, gateway_app: str, **extra_env: str) -> None:
        self.gateway_port = free_port()
        env = child_env(
            MEDLEY_DATA_DIR=str(data_dir), MEDLEY_GATEWAY_PORT=str(self.gateway_port), **extra_env
        )
        for key in ("MEDLEY_DATABASE_URL", "MEDLEY_NATS_URL"):
            env.pop(key, None)
        self.process = subprocess.Popen(
            [sys.executable, str(LAUNCHER), gateway_app],
            env=env,
            cwd=HERE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, pattern: str) -> str | None:
        """The first line matching ``pattern``; None if the launcher ended without one."""
        while True:
            line = self._queue.get(timeout=STARTUP_LIMIT_S)
            if line is None:
                return None
            self.lines.append(line)
            if re.search(pattern, line):
                return line

    def finish(self) -> int:
        code = self.process.wait(timeout=STARTUP_LIMIT_S)
        while (line := self._queue.get(timeout=10)) is not None:
            self.lines.append(line)
        return code

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def banner_url(self, name: str) -> str:
        """The URL the banner printed for ``name`` (``users``, ``nats`` …)."""
        for line in self.lines:
            match = re.match(rf"\s+{name}\s+(\S+://\S+)$", line)
            if match:
                return match.group(1)
        raise AssertionError(f"no {name} URL in the banner:\n{self.output}")

    def child_process(self, name: str) -> psutil.Process:
        """The launcher's direct child running the executable ``name``."""
        for child in psutil.Process(self.process.pid).children():
            if child.name() == name:
                return child
        raise AssertionError(f"the launcher runs no {name}")

    def descendants(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children(recursive=True)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="medley-launcher-test-")) / ".medley"
    yield path
    shutil.rmtree(path.parent, ignore_errors=True)


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_launch_serves_until_ctrl_c_then_relaunches_on_the_same_data(data_dir: Path) -> None:
    launch = Launch(data_dir, "fake_asgi:create_app")
    try:
        assert launch.wait_for(r"Press Ctrl-C to stop") is not None, launch.output
        assert f"http://127.0.0.1:{launch.gateway_port}/docs" in launch.output
        ready = httpx.get(f"http://127.0.0.1:{launch.gateway_port}/health/ready", timeout=10)
        assert ready.status_code == 200
        launch.process.send_signal(signal.SIGINT)
        assert launch.finish() == 0, launch.output
    finally:
        if launch.process.poll() is None:
            launch.process.kill()
    assert not port_open(launch.gateway_port)
    assert "database system is shut down" in (data_dir / "postgres.log").read_text()

    secrets_file = data_dir / "secrets.json"
    assert secrets_file.stat().st_mode & 0o777 == 0o600
    secrets = json.loads(secrets_file.read_text())
    assert set(secrets["clients"]) == {"users", "gateway"}
    assert set(secrets["roles"]) == {"fake_users"}

    again = Launch(data_dir, "fake_asgi:create_app")
    try:
        assert again.wait_for(r"Press Ctrl-C to stop") is not None, again.output
        again.process.send_signal(signal.SIGTERM)
        assert again.finish() == 0, again.output
    finally:
        if again.process.poll() is None:
            again.process.kill()
    assert json.loads(secrets_file.read_text()) == secrets


def test_a_child_that_dies_at_start_aborts_the_launch_with_its_output(data_dir: Path) -> None:
    launch = Launch(data_dir, "fake_asgi:create_failing_app")
    try:
        code = launch.finish()
    finally:
        if launch.process.poll() is None:
            launch.process.kill()
    assert code == 1, launch.output
    assert "[gateway] " in launch.output
    assert re.search(r"could not start: gateway exited with code \d+", launch.output)
    assert "boom: the fake service refuses to start" in launch.output
    assert "Press Ctrl-C" not in launch.output
    # Everything it had started is stopped: the database server too.
    assert "database system is shut down" in (data_dir / "postgres.log").read_text()
    assert not (data_dir / "postgres" / "postmaster.pid").exists()
    assert not port_open(launch.gateway_port)
    assert os.path.exists(data_dir / "secrets.json")


def eventually(condition: Callable[[], bool], what: str, limit: float = STARTUP_LIMIT_S) -> None:
    """Wait for ``condition`` with a deadline generous for a loaded machine."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"{what} after {limit:.0f} s"
        time.sleep(0.2)


def answers_pid(url: str) -> int | None:
    try:
        response = httpx.get(f"{url}/pid", timeout=5)
    except httpx.HTTPError:
        return None
    return int(response.json()["pid"]) if response.status_code == 200 else None


def gone(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE  # ended; only its reaping is left
    except psutil.NoSuchProcess:
        return True


def nats_info(url: str) -> dict[str, object]:
    """The INFO a NATS server greets a client with."""
    host, port = url.removeprefix("nats://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        greeting = sock.makefile("rb").readline().decode()
    assert greeting.startswith("INFO "), greeting
    info: dict[str, object] = json.loads(greeting[5:])
    return info


def test_a_killed_child_or_server_is_restarted_and_logged(data_dir: Path) -> None:
    launch = Launch(data_dir, "fake_asgi:create_app")
    try:
        assert launch.wait_for(r"Press Ctrl-C to stop") is not None, launch.output
        gateway_url = f"http://127.0.0.1:{launch.gateway_port}"
        users_url, nats_url = launch.banner_url("users"), launch.banner_url("nats")

        # A service (here the gateway) killed after start comes back on its port.
        first = answers_pid(gateway_url)
        assert first is not None
        os.kill(first, signal.SIGKILL)
        assert launch.wait_for(r"^\[medley\] gateway restarted") is not None, launch.output
        assert re.search(r"^\[medley\] gateway was killed by SIGKILL", launch.output, re.M)
        eventually(lambda: answers_pid(gateway_url) not in (None, first), "no new gateway")

        # NATS comes back on the same port with the same store.
        nats_server = launch.child_process("nats-server")
        nats_server.kill()
        assert launch.wait_for(r"^\[medley\] nats restarted") is not None, launch.output
        assert launch.child_process("nats-server").pid != nats_server.pid
        assert nats_info(nats_url)["jetstream"] is True

        # So does PostgreSQL: the service logs in again with the URL it was given.
        postmaster = launch.child_process("postgres")
        postmaster.kill()
        assert launch.wait_for(r"^\[medley\] postgres restarted") is not None, launch.output
        assert httpx.get(f"{users_url}/db", timeout=10).json()["role"] == "fake_users"

        # Ctrl-C still stops everything, the restarted children included.
        running = launch.descendants()
        launch.process.send_signal(signal.SIGINT)
        assert launch.finish() == 0, launch.output
    finally:
        if launch.process.poll() is None:
            launch.process.kill()
    eventually(lambda: all(gone(process) for process in running), "children left behind", 30)
    assert not port_open(launch.gateway_port)
    assert "database system is shut down" in (data_dir / "postgres.log").read_text()


def test_a_child_that_keeps_dying_stops_the_launch_with_its_output(data_dir: Path) -> None:
    launch = Launch(
        data_dir,
        "fake_asgi:create_dying_app",
        MEDLEY_LAUNCHER_RESTART_LIMIT="3",
        MEDLEY_LAUNCHER_RESTART_BACKOFF_S="0.1",
    )
    try:
        code = launch.finish()
    finally:
        if launch.process.poll() is None:
            launch.process.kill()
    assert code == 1, launch.output
    assert "Press Ctrl-C to stop" in launch.output  # it did start: it died afterwards
    lines = launch.lines
    assert len([line for line in lines if line.startswith("[medley] gateway restarted")]) == 2
    assert re.search(r"^\[medley\] gateway died 3 times .*stopping everything", launch.output, re.M)
    # Once everything is stopped, the last thing said is why, with the child's own output.
    report = next(
        (i for i, line in enumerate(lines) if line.startswith("[medley] stopped: gateway died")),
        None,
    )
    assert report is not None, launch.output
    assert "exited with code 3" in lines[report]
    assert "  fake service: dying on purpose" in lines[report:], launch.output
    assert all(line.startswith("  ") for line in lines[report + 1 :]), launch.output
    # Everything was stopped, the database server cleanly.
    assert "database system is shut down" in (data_dir / "postgres.log").read_text()
    assert not (data_dir / "postgres" / "postmaster.pid").exists()
    assert not port_open(launch.gateway_port)
