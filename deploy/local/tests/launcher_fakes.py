"""Service specs whose apps are the fake ASGI app in this directory."""

from __future__ import annotations

import os
from pathlib import Path

from medley_local.services import ServiceSpec

HERE = Path(__file__).resolve().parent

FAKE_USERS = ServiceSpec(
    name="users",
    app="fake_asgi:create_app",
    schema="fake_users",
    role="fake_users",
    migrations_dir=HERE / "fake_service" / "migrations",
)
FAKE_GATEWAY = ServiceSpec(name="gateway", app="fake_asgi:create_app", ready_path="/health/live")
FAILING_GATEWAY = ServiceSpec(name="gateway", app="fake_asgi:create_failing_app")


def child_env(**extra: str) -> dict[str, str]:
    """Our environment, with this directory importable by the children."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
    env.update(extra)
    return env
