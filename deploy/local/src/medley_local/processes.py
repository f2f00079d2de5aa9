"""Child processes for the launcher and the test fixtures: start, watch, wait for, stop.

Every child runs in its own process group (so a terminal's Ctrl-C reaches the launcher only,
which then stops the children in order) and, on Linux, is told by the kernel to stop when the
process that started it dies, so even a launcher killed with SIGKILL leaves no orphans.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ctypes
import ctypes.util
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, TextIO

import httpx

_PR_SET_PDEATHSIG = 1
_TAIL_LINES = 200


class ChildFailed(RuntimeError):
    """A child exited (or never became ready) while it was being started."""

    def __init__(self, name: str, returncode: int | None, output: str, reason: str = "") -> None:
        self.name = name
        self.returncode = returncode
        self.output = output
        what = reason or (
            f"exited with code {returncode}" if returncode is not None else "did not start"
        )
        super().__init__(f"{name} {what} during start; its last output:\n{output}")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _load_libc() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


_LIBC = _load_libc()


def die_with_parent(sig: signal.Signals) -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to send ``sig`` to the child when its parent dies.

    The kernel ties this to the *thread* that forked, so it is only used from the main
    thread (elsewhere the child would be signalled when a worker thread ends).
    """
    if _LIBC is None or threading.current_thread() is not threading.main_thread():
        return None
    libc = _LIBC

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)

    return preexec


def spawn(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    stdout: int | IO[Any] | None = None,
    stderr: int | IO[Any] | None = None,
    user: int | None = None,
    group: int | None = None,
    parent_death_signal: signal.Signals = signal.SIGTERM,
) -> subprocess.Popen[bytes]:
    """Start a process in its own process group that dies with us."""
    return subprocess.Popen(  # noqa: S603 - argv is built by this package, never a shell
        list(argv),
        env=dict(env) if env is not None else None,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        start_new_session=True,
        user=user,
        group=group,
        extra_groups=[] if user is not None else None,
        preexec_fn=die_with_parent(parent_death_signal),
    )


def stop_process(
    process: subprocess.Popen[bytes], sig: signal.Signals = signal.SIGTERM, grace: float = 15.0
) -> int:
    """Ask the process group to stop with ``sig``; SIGKILL it if it has not after ``grace`` s."""
    if process.poll() is None:
        _signal_group(process, sig)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()
    # Helpers the child started in its group (reloaders, workers) go with it.
    _signal_group(process, signal.SIGKILL)
    return process.returncode


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    # The child leads its own group (start_new_session), so its pid is the group id.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def describe_exit(returncode: int | None) -> str:
    """``exited with code 3`` or ``was killed by SIGKILL`` (Popen's negative codes)."""
    if returncode is None:
        return "did not start"
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with code {returncode}"


class Child:
    """A running child whose output is echoed line by line as ``[name] line``.

    It keeps its command, environment and readiness URL, so :meth:`restart` can start it
    again exactly as it was started (the launcher's supervisor does, after a crash).
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        sink: TextIO | None = None,
        ready_url: str | None = None,
        ready_timeout: float = 60.0,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.ready_url = ready_url
        self.ready_timeout = ready_timeout
        self._sink = sink
        # Kept across restarts: the lines before a crash are the ones that explain it.
        self._tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
        self.process, self._reader = self._launch()

    @classmethod
    def start(
        cls,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        sink: TextIO | None = None,
        ready_url: str | None = None,
        ready_timeout: float = 60.0,
    ) -> Child:
        """Start ``argv``; its stdout and stderr go to ``sink`` prefixed with ``[name]``.

        ``ready_url`` is only remembered here, for :meth:`restart`: the caller waits for it
        (:func:`await_http_ready`) so that it can start several children first.
        """
        return cls(
            name, argv, env=env, cwd=cwd, sink=sink, ready_url=ready_url,
            ready_timeout=ready_timeout,
        )  # fmt: skip

    def _launch(self) -> tuple[subprocess.Popen[bytes], threading.Thread]:
        process = spawn(
            self.argv, env=self.env, cwd=self.cwd, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        reader = threading.Thread(
            target=self._pump, args=(process,), name=f"output-{self.name}", daemon=True
        )
        reader.start()
        return process, reader

    _sink_lock = threading.Lock()

    def _pump(self, process: subprocess.Popen[bytes]) -> None:
        stream = process.stdout
        if stream is None:
            return
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            self._tail.append(line)
            if self._sink is not None:
                with Child._sink_lock, contextlib.suppress(ValueError, OSError):
                    self._sink.write(f"[{self.name}] {line}\n")
                    self._sink.flush()
        stream.close()

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

    def output(self) -> str:
        """The child's last lines of output (all of it once it has exited)."""
        if self.process.poll() is not None:
            self._reader.join(timeout=5)
        return "\n".join(self._tail)

    def failure(self, reason: str = "") -> ChildFailed:
        return ChildFailed(self.name, self.process.poll(), self.output(), reason)

    def stop(self, grace: float = 15.0) -> int:
        """SIGTERM (graceful for uvicorn), then SIGKILL after ``grace`` seconds."""
        code = stop_process(self.process, signal.SIGTERM, grace)
        self._reader.join(timeout=5)
        return code

    async def astop(self, grace: float = 15.0) -> int:
        return await asyncio.to_thread(self.stop, grace)

    async def restart(self) -> None:
        """Start it again as it was first started, and wait until it is ready.

        Whatever is left of the previous run (its process group) is stopped first. Raises
        :class:`ChildFailed` if the new process dies or never gets ready.
        """
        await self.astop()
        # Spawned from the event loop's thread, not a worker: die-with-parent is per thread.
        self.process, self._reader = self._launch()
        if self.ready_url is not None:
            await await_http_ready(self, self.ready_url, self.ready_timeout)


def _http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until_ready(
    probe: Callable[[], bool],
    alive: Callable[[], bool],
    on_death: Callable[[], Exception],
    limit: float,
    what: str,
    interval: float = 0.1,
) -> None:
    """Poll ``probe`` until it answers; raise ``on_death()`` at once if the process dies."""
    deadline = time.monotonic() + limit
    while True:
        if not alive():
            raise on_death()
        if probe():
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready after {limit:.0f} s")
        time.sleep(interval)


async def await_ready(
    probe: Callable[[], bool],
    alive: Callable[[], bool],
    on_death: Callable[[], Exception],
    limit: float,
    what: str,
    interval: float = 0.1,
) -> None:
    """:func:`wait_until_ready` for async callers: the probe runs in a worker thread."""
    deadline = time.monotonic() + limit
    while True:
        if not alive():
            raise on_death()
        if await asyncio.to_thread(probe):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready after {limit:.0f} s")
        await asyncio.sleep(interval)


async def await_http_ready(child: Child, url: str, limit: float = 60.0) -> None:
    """Wait for ``GET url`` to answer 200; a child that dies first raises :class:`ChildFailed`."""
    try:
        await await_ready(
            lambda: _http_ok(url),
            lambda: child.returncode is None,
            child.failure,
            limit,
            f"{child.name} ({url})",
        )
    except TimeoutError as exc:
        raise child.failure(str(exc)) from exc


def wait_http_ready(child: Child, url: str, limit: float = 60.0) -> None:
    """The blocking form of :func:`await_http_ready`."""
    try:
        wait_until_ready(
            lambda: _http_ok(url),
            lambda: child.returncode is None,
            child.failure,
            limit,
            f"{child.name} ({url})",
        )
    except TimeoutError as exc:
        raise child.failure(str(exc)) from exc


def uvicorn_argv(factory: str, host: str, port: int) -> list[str]:
    """The command serving a zero-argument ASGI factory (``package.module:create_app``)."""
    return [
        sys.executable, "-m", "uvicorn", "--factory", factory,
        "--host", host, "--port", str(port),
        "--timeout-graceful-shutdown", "10",
    ]  # fmt: skip
