"""The launcher as a user runs it: a real process, embedded servers, Ctrl-C.

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
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from launcher_fakes import HERE, child_env

from medley_local.processes import free_port

LAUNCHER = HERE / "fake_launcher.py"
STARTUP_LIMIT_S = 120.0


class Launch:
    """A launcher process whose output lines can be awaited."""

    def __init__(self, data_dir: Path, gateway_app: str) -> None:
        self.gateway_port = free_port()
        env = child_env(MEDLEY_DATA_DIR=str(data_dir), MEDLEY_GATEWAY_PORT=str(self.gateway_port))
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
