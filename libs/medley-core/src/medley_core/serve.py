"""A container's entry point: ``python -m medley_core.serve [--check] [<service>]``.

The one Dockerfile builds every image with ``--build-arg SERVICE=<name>`` and leaves that
name in ``MEDLEY_SERVICE``; this looks the service up in :mod:`medley_core.registry`, applies
its migrations when it owns data (as its own role, ``MEDLEY_<SVC>_DATABASE_URL``; replicas
take turns on an advisory lock), then becomes uvicorn serving its app on
``MEDLEY_<SVC>_HOST``:``MEDLEY_<SVC>_PORT`` (``0.0.0.0``:``8000`` in a container).

``--check`` is the image's health check: 0 when the service's readiness path answers 200.
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

from medley_core.registry import ServiceEntry, entry

SERVICE_VARIABLE = "MEDLEY_SERVICE"
# Inside a container the port is reachable only as published (compose) or on the mesh (Koyeb).
CONTAINER_HOST = "0.0.0.0"  # noqa: S104
CONTAINER_PORT = 8000
GRACEFUL_SHUTDOWN_S = 20


def address(service: ServiceEntry, env: Mapping[str, str]) -> tuple[str, int]:
    prefix = service.env_prefix
    return (
        env.get(f"{prefix}HOST", CONTAINER_HOST),
        int(env.get(f"{prefix}PORT", CONTAINER_PORT)),
    )


def migrate_argv(service: ServiceEntry) -> list[str] | None:
    """``alembic upgrade head`` on the service's own history; None for the gateway."""
    if not service.owns_data:
        return None
    migrations_dir = Path(importlib.import_module(service.module).MIGRATIONS_DIR)
    return ["alembic", "-c", str(migrations_dir.parent / "alembic.ini"), "upgrade", "head"]


def serve_argv(service: ServiceEntry, env: Mapping[str, str]) -> list[str]:
    host, port = address(service, env)
    return [
        "uvicorn",
        "--factory",
        service.app,
        "--host",
        host,
        "--port",
        str(port),
        # uvicorn is PID 1 and gets SIGTERM: let requests in flight finish.
        "--timeout-graceful-shutdown",
        str(GRACEFUL_SHUTDOWN_S),
    ]


def check(service: ServiceEntry, env: Mapping[str, str]) -> int:
    _, port = address(service, env)
    url = f"http://127.0.0.1:{port}{service.ready_path}"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 0 if response.status == 200 else 1
    except OSError:
        return 1


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    parser = argparse.ArgumentParser(prog="python -m medley_core.serve")
    parser.add_argument("service", nargs="?", default=env.get(SERVICE_VARIABLE))
    parser.add_argument("--check", action="store_true", help="probe readiness, then exit")
    args = parser.parse_args(argv)
    if not args.service:
        parser.error(f"name the service (or set {SERVICE_VARIABLE})")
    try:
        service = entry(args.service)
    except KeyError as exc:
        parser.error(str(exc.args[0]))
    if args.check:
        return check(service, env)
    migrate = migrate_argv(service)
    if migrate is not None:
        # Its own process, as before the image had one entry point: alembic's env.py reads
        # the service's settings and exits non-zero on failure, which stops the start.
        migrated = subprocess.run(migrate, check=False)  # noqa: S603 (argv from the registry)
        if migrated.returncode != 0:
            return migrated.returncode
    serve = serve_argv(service, env)
    os.execvp(serve[0], serve)  # noqa: S606 (replaces this process: uvicorn gets the signals)


if __name__ == "__main__":
    sys.exit(main())
