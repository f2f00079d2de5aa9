"""Settings: a service's own variable wins, the shared MEDLEY_ variable is the fallback."""

from __future__ import annotations

from typing import ClassVar

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict

from medley_core.settings import ServiceSettings, env_prefix_for


class ExampleSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MEDLEY_EXAMPLE_", extra="ignore")
    schema_name: ClassVar[str] = "example"
    service_name: ClassVar[str] = "example"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("MEDLEY_"):
            monkeypatch.delenv(key)


def test_shared_variable_is_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDLEY_DATABASE_URL", "postgresql://shared@db/medley")
    monkeypatch.setenv("MEDLEY_NATS_URL", "nats://shared:4222")
    settings = ExampleSettings()
    assert settings.database_url == "postgresql://shared@db/medley"
    assert settings.nats_url == "nats://shared:4222"


def test_service_variable_wins_over_shared(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDLEY_DATABASE_URL", "postgresql://shared@db/medley")
    monkeypatch.setenv("MEDLEY_EXAMPLE_DATABASE_URL", "postgresql://own@db/medley")
    assert ExampleSettings().database_url == "postgresql://own@db/medley"


def test_non_shared_settings_do_not_fall_back(monkeypatch: pytest.MonkeyPatch) -> None:
    # A shared MEDLEY_PORT must not move every service onto one port.
    monkeypatch.setenv("MEDLEY_PORT", "9999")
    assert ExampleSettings().port == 8100
    monkeypatch.setenv("MEDLEY_EXAMPLE_PORT", "8123")
    assert ExampleSettings().port == 8123


def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDLEY_EVENT_PREFIX", "Not A Prefix")
    with pytest.raises(ValidationError):
        ExampleSettings()


def test_env_prefix_for() -> None:
    assert env_prefix_for("users") == "MEDLEY_USERS_"
