"""`make run`: the whole of Medley on a laptop, with one command.

``medley-local run`` (the default) starts PostgreSQL and NATS embedded unless
``MEDLEY_DATABASE_URL`` / ``MEDLEY_NATS_URL`` name existing servers, creates the ``medley``
database, provisions every service (role, schema, migrations), starts the services and the
gateway, prints the URLs and stops everything on Ctrl-C. A child that crashes is restarted (see
:mod:`medley_local.supervisor`). Data stays under ``MEDLEY_DATA_DIR`` (default ``.medley/``).

``medley-local provision`` is the one-shot step of a container deployment: it provisions
every service on the server ``MEDLEY_DATABASE_URL`` names, each with the role and password
of its ``MEDLEY_<SVC>_DATABASE_URL`` when given.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import signal
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TextIO

from sqlalchemy.engine import make_url

from medley_core.provisioning import create_database, provision
from medley_local.credentials import Credentials
from medley_local.embedded import EmbeddedNats, EmbeddedPostgres, EmbeddedServerError
from medley_local.processes import ChildFailed
from medley_local.services import GATEWAY, SERVICES, ServiceSpec
from medley_local.stack import RunningStack, start_stack
from medley_local.supervisor import RestartPolicy, Supervisor

DATABASE = "medley"
DEFAULT_GATEWAY_PORT = 8000
EXIT_INTERRUPTED = 130
_ERROR_LINES = 20


def _say(out: TextIO, message: str) -> None:
    out.write(f"[medley] {message}\n")
    out.flush()


def data_dir_from(env: Mapping[str, str]) -> Path:
    return Path(env.get("MEDLEY_DATA_DIR") or ".medley").absolute()


def _prepare_data_dir(path: Path) -> None:
    # It holds secrets.json: private to its owner.
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


def _hide_password(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _banner(stack: RunningStack, admin_url: str, data_dir: Path) -> str:
    width = max(len(name) for name in (*stack.service_urls, "postgres", "gateway", "docs"))
    lines = ["Medley is up:"]
    if stack.gateway_url:
        lines.append(f"  {'gateway':<{width}}  {stack.gateway_url}")
        lines.append(f"  {'docs':<{width}}  {stack.docs_url}")
    lines += [f"  {name:<{width}}  {url}" for name, url in stack.service_urls.items()]
    lines.append(f"  {'postgres':<{width}}  {_hide_password(admin_url)}")
    lines.append(f"  {'nats':<{width}}  {stack.nats_url}")
    lines.append(f"  {'data':<{width}}  {data_dir}")
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)


async def run(
    *,
    env: Mapping[str, str] | None = None,
    gateway_port: int | None = None,
    database: str = DATABASE,
    services: Sequence[ServiceSpec] = SERVICES,
    gateway: ServiceSpec | None = GATEWAY,
    out: TextIO = sys.stdout,
) -> int:
    """Start the stack and keep it running until SIGINT/SIGTERM, restarting crashed children.

    Returns the exit status: 0 after a requested stop, 1 when something failed to start or
    a child kept dying (see :class:`~medley_local.supervisor.RestartPolicy`), 2 for a bad
    setting, 130 when interrupted while starting.
    """
    env = dict(os.environ if env is None else env)
    env.setdefault("MEDLEY_LOG_JSON", "false")  # a terminal reads text better than JSON
    data_dir = data_dir_from(env)
    port = gateway_port or int(env.get("MEDLEY_GATEWAY_PORT") or DEFAULT_GATEWAY_PORT)

    try:
        policy = RestartPolicy.from_env(env)
    except ValueError as exc:
        _say(out, str(exc))
        return 2

    stop = _Stop(out)
    # Every child is adopted as soon as it is up: from then on a crash restarts it, and
    # leaving this block (Ctrl-C, a child that keeps dying, an error) stops them all.
    supervisor = Supervisor(policy, say=lambda message: _say(out, message), on_give_up=stop.request)
    with stop.on_signals():
        try:
            async with supervisor:
                _prepare_data_dir(data_dir)
                server_url, nats_url = await _servers(supervisor, env, data_dir, out)
                admin_url = await create_database(server_url, database)
                stack = await _start_services(
                    admin_url,
                    nats_url,
                    env=env,
                    data_dir=data_dir,
                    gateway_port=port,
                    services=services,
                    gateway=gateway,
                    out=out,
                )
                supervisor.adopt(*stack.children)
                stop.started = True
                _say(out, _banner(stack, admin_url, data_dir))
                await stop.requested.wait()
        except asyncio.CancelledError:
            if supervisor.failure is None:
                _say(out, "interrupted while starting; everything is stopped")
                return EXIT_INTERRUPTED
        except ChildFailed as exc:
            # Its whole output has just scrolled by, prefixed; repeat the end of it.
            what = str(exc).split(";", 1)[0]
            _say(out, f"could not start: {what}; its last output:\n{_indent_tail(exc.output)}")
            return 1
        except (EmbeddedServerError, OSError) as exc:
            _say(out, f"could not start: {exc}")
            return 1
    if supervisor.failure is not None:
        # Said again once everything is stopped, so that it is the last thing on screen.
        failure = supervisor.failure
        _say(out, f"stopped: {failure}; its last output:\n{_indent_tail(failure.output)}")
        return 1
    return 0


class _Stop:
    """What stops the launcher: SIGINT/SIGTERM, or the supervisor giving up on a child.
    Before everything is up (``started``), a stop abandons the start: the task starting it
    is cancelled, and what already runs is stopped."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.requested = asyncio.Event()
        self.started = False
        self._main_task = asyncio.current_task()

    def request(self) -> None:
        if self.requested.is_set():
            return
        self.requested.set()
        if not self.started and self._main_task is not None:
            self._main_task.cancel()  # a start in progress is abandoned; what runs is stopped

    def _on_signal(self, sig: signal.Signals) -> None:
        if not self.requested.is_set():
            _say(self.out, f"{sig.name}: stopping…")
        self.request()

    @contextlib.contextmanager
    def on_signals(self) -> Iterator[None]:
        """SIGINT and SIGTERM request a stop while the block runs."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._on_signal, sig)
        try:
            yield
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)


async def _servers(
    supervisor: Supervisor, env: Mapping[str, str], data_dir: Path, out: TextIO
) -> tuple[str, str]:
    """PostgreSQL's and NATS's URLs: the environment's (``MEDLEY_DATABASE_URL``,
    ``MEDLEY_NATS_URL``), else those of embedded servers started in ``data_dir`` and
    adopted by ``supervisor``."""
    server_url = env.get("MEDLEY_DATABASE_URL")
    if not server_url:
        _say(out, f"starting embedded PostgreSQL ({data_dir / 'postgres'})")
        postgres = await EmbeddedPostgres(data_dir / "postgres").astart()
        supervisor.adopt(postgres)
        server_url = postgres.url
    nats_url = env.get("MEDLEY_NATS_URL")
    if not nats_url:
        _say(out, f"starting embedded NATS ({data_dir / 'nats'})")
        nats = await EmbeddedNats(data_dir / "nats").astart()
        supervisor.adopt(nats)
        nats_url = nats.url
    return server_url, nats_url


async def _start_services(
    admin_url: str,
    nats_url: str,
    *,
    env: Mapping[str, str],
    data_dir: Path,
    gateway_port: int,
    services: Sequence[ServiceSpec],
    gateway: ServiceSpec | None,
    out: TextIO,
) -> RunningStack:
    """Every service provisioned and started, then the gateway, with the credentials kept
    in ``data_dir`` (made on the first run)."""
    specs = [*services, *([gateway] if gateway is not None else [])]
    credentials = Credentials.load_or_create(
        data_dir / "secrets.json",
        roles=[spec.role_name() for spec in services if spec.owns_data],
        clients=[spec.client_id for spec in specs],
    )
    _say(out, "provisioning " + ", ".join(spec.name for spec in services))
    return await start_stack(
        admin_url,
        nats_url,
        credentials=credentials,
        data_dir=data_dir,
        event_prefix=env.get("MEDLEY_EVENT_PREFIX") or "medley",
        gateway_port=gateway_port,
        services=services,
        gateway=gateway,
        base_env=env,
        log=out,
    )


def _indent_tail(output: str) -> str:
    return "\n".join("  " + line for line in output.splitlines()[-_ERROR_LINES:])


async def provision_all(
    *,
    env: Mapping[str, str] | None = None,
    database: str = DATABASE,
    services: Sequence[ServiceSpec] = SERVICES,
    out: TextIO = sys.stdout,
) -> int:
    """Provision every service on an existing server (the container deployments' step)."""
    env = dict(os.environ if env is None else env)
    server_url = env.get("MEDLEY_DATABASE_URL")
    if not server_url:
        _say(out, "MEDLEY_DATABASE_URL (an administrator's URL) is required")
        return 2
    admin_url = await create_database(server_url, database)
    credentials: Credentials | None = None
    for spec in services:
        if not spec.owns_data:
            continue
        given = env.get(f"{spec.env_prefix}DATABASE_URL")
        if given:
            # The service's own URL names its role and password: provision exactly that.
            url = make_url(given)
            role, password = url.username or spec.role_name(), url.password or ""
        else:
            if credentials is None:
                data_dir = data_dir_from(env)
                _prepare_data_dir(data_dir)
                credentials = Credentials.load_or_create(data_dir / "secrets.json")
            role = spec.role_name()
            if credentials.ensure(roles=[role]):
                credentials.save()
            password = credentials.role_passwords[role]
        db = dataclasses.replace(spec.database(password), role=role)
        await provision(admin_url, db)
        _say(out, f"provisioned {spec.name}: schema {db.schema}, role {role}, migrations at head")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="medley-local", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command")
    run_parser = commands.add_parser("run", help="run the whole stack (the default)")
    run_parser.add_argument(
        "--gateway-port", type=int, default=None,
        help=f"the gateway's port (default: $MEDLEY_GATEWAY_PORT or {DEFAULT_GATEWAY_PORT})",
    )  # fmt: skip
    run_parser.add_argument("--database", default=DATABASE)
    provision_parser = commands.add_parser(
        "provision", help="create the database, roles and schemas; apply every migration"
    )
    provision_parser.add_argument("--database", default=DATABASE)
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    services: Sequence[ServiceSpec] = SERVICES,
    gateway: ServiceSpec | None = GATEWAY,
) -> int:
    """The ``medley-local`` command."""
    args = _parser().parse_args(argv)
    if args.command == "provision":
        return asyncio.run(provision_all(database=args.database, services=services))
    return asyncio.run(
        run(
            gateway_port=getattr(args, "gateway_port", None),
            database=getattr(args, "database", DATABASE),
            services=services,
            gateway=gateway,
        )
    )
