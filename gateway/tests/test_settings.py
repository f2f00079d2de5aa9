"""Gateway settings: env prefix, shared fallbacks, and upstreams added by one registry entry."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from medley_gateway import settings as settings_module
from medley_gateway import upstreams as upstreams_module
from medley_gateway.settings import GatewaySettings
from medley_gateway.upstreams import Upstreams, UpstreamSpec


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("MEDLEY_"):
            monkeypatch.delenv(name)


def test_defaults() -> None:
    settings = GatewaySettings()
    assert settings.service_name == "gateway"
    assert settings.port == 8000
    assert settings.upstream_url("users") == "http://127.0.0.1:8101"


def test_users_url_falls_back_to_the_shared_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDLEY_USERS_URL", "http://users.shared:1")
    assert GatewaySettings().upstream_url("users") == "http://users.shared:1"
    monkeypatch.setenv("MEDLEY_GATEWAY_USERS_URL", "http://users.own:2")
    assert GatewaySettings().upstream_url("users") == "http://users.own:2"


def test_rate_limit_settings_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDLEY_GATEWAY_LOGIN_PER_ACCOUNT", "3")
    monkeypatch.setenv("MEDLEY_GATEWAY_PORT", "9000")
    settings = GatewaySettings()
    assert settings.login_per_account == 3
    assert settings.port == 9000


async def test_a_new_upstream_is_one_registry_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = (*upstreams_module.UPSTREAMS, UpstreamSpec("catalog", "http://127.0.0.1:8102"))
    monkeypatch.setattr(upstreams_module, "UPSTREAMS", registry)
    monkeypatch.setattr(settings_module, "UPSTREAMS", registry)

    assert GatewaySettings().upstream_url("catalog") == "http://127.0.0.1:8102"
    monkeypatch.setenv("MEDLEY_CATALOG_URL", "http://catalog.shared:3")
    assert GatewaySettings().upstream_url("catalog") == "http://catalog.shared:3"
    monkeypatch.setenv("MEDLEY_GATEWAY_CATALOG_URL", "http://catalog.own:4")
    settings = GatewaySettings()
    assert settings.upstream_url("catalog") == "http://catalog.own:4"

    upstreams = Upstreams.from_settings(settings)
    try:
        assert set(upstreams) == {spec.name for spec in registry}
        assert "catalog" in set(upstreams)
        assert upstreams["catalog"].base_url == "http://catalog.own:4"
    finally:
        await upstreams.aclose()


def test_the_upstreams_are_the_registrys_services() -> None:
    from medley_core import registry

    assert [spec.name for spec in upstreams_module.UPSTREAMS] == [
        service.name for service in registry.SERVICES
    ]
    assert GatewaySettings().upstream_url("catalog") == "http://127.0.0.1:8102"


def test_settings_import_neither_the_upstreams_nor_any_service() -> None:
    # A fresh interpreter: this one has long imported everything.
    probe = (
        "import sys, medley_gateway.settings\n"
        "assert 'medley_gateway.upstreams' not in sys.modules\n"
        "import medley_gateway.app\n"
        "print(sorted(m for m in sys.modules"
        " if m.split('.')[0] in ('medley_users', 'medley_catalog', 'medley_local')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
