"""Settings from the environment, input shapes, and the schema the tables live in (no DB)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsError
from sqlmodel import SQLModel

from medley_core.errors import BadRequest
from medley_users.accounts import check_email, check_username, clean_display_name
from medley_users.models import EVENT_TABLES, UsersModel
from medley_users.service_clients import granted_scopes
from medley_users.settings import ServiceClientSpec, UsersSettings

from .conftest import integration_key


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("MEDLEY_USERS_ERASURE_CONTEXTS", "MEDLEY_USERS_PORT"):
        monkeypatch.delenv(name, raising=False)
    settings = UsersSettings(data_dir=tmp_path)
    assert settings.port == 8101
    assert UsersSettings.schema_name == "users"
    assert UsersSettings.service_name == "users"
    assert settings.erasure_contexts == ["catalog", "ingestion", "playlists"]
    assert settings.access_token_ttl_s == 900


def test_json_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(
        "MEDLEY_USERS_SERVICE_CLIENTS",
        json.dumps(
            {
                "gateway": "0123456789abcdef0",
                "bridge": {"secret": "fedcba98765432100", "scopes": ["a:b"]},
            }
        ),
    )
    monkeypatch.setenv("MEDLEY_USERS_ERASURE_CONTEXTS", '["catalog", "catalog", "playlists"]')
    monkeypatch.setenv("MEDLEY_USERS_INTEGRATION_KEYS", json.dumps([integration_key("k9", 9)]))
    monkeypatch.setenv("MEDLEY_USERS_BOOTSTRAP_ADMIN", "  Ada ")
    monkeypatch.setenv("MEDLEY_USERS_ACCESS_TOKEN_TTL_S", "300")
    settings = UsersSettings(data_dir=tmp_path)
    specs = settings.client_specs()
    assert specs["gateway"].secret.get_secret_value() == "0123456789abcdef0"
    assert specs["gateway"].scopes is None
    assert specs["bridge"] == ServiceClientSpec(secret="fedcba98765432100", scopes=("a:b",))
    assert settings.erasure_contexts == ["catalog", "playlists"]
    assert [k.id for k in settings.integration_keys] == ["k9"]
    assert settings.bootstrap_admin == "ada"
    assert settings.access_token_ttl_s == 300


@pytest.mark.parametrize(
    "overrides",
    [
        {"erasure_contexts": ["users"]},
        {"erasure_contexts": ["Not A Context"]},
        {"integration_keys": [{"id": "k1", "key": "dG9vIHNob3J0"}]},
        {"integration_keys": [integration_key("k1", 1), integration_key("k1", 2)]},
        {"service_clients": {"gateway": "short"}},
        {"service_clients": {"bad id!": "0123456789abcdef0"}},
        {"access_token_ttl_s": 5},
        # A token could outlive the revocations a starting verifier reads.
        {"access_token_ttl_s": 7200, "revocation_lookback_s": 3600},
        # A username: an email address is not verified, anyone could register it.
        {"bootstrap_admin": "ada@example.com"},
    ],
)
def test_bad_settings_fail_at_start_up(overrides: dict[str, object], tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        UsersSettings(data_dir=tmp_path, **overrides)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ('{"gateway": 42}', "service_clients.gateway"),
        ('{"gateway": {"secret": "0123456789abcdef0", "scopes": "a:b"}}', "scopes"),
        ('{"gateway": {"secret": "0123456789abcdef0", "scopes": ["a b"]}}', "a scope is"),
        ('{"gateway": {"secret": "0123456789abcdef0", "scope": ["a:b"]}}', "scope"),
        ('{"gateway": "0123456789abcdef0"', "service_clients"),
    ],
)
def test_a_malformed_service_clients_value_says_what_is_wrong(
    value: str, says: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MEDLEY_USERS_SERVICE_CLIENTS", value)
    with pytest.raises((ValidationError, SettingsError), match=re.escape(says)):
        UsersSettings(data_dir=tmp_path)


def test_a_client_configured_without_scopes_is_granted_none() -> None:
    assert granted_scopes(None, None) == []
    assert granted_scopes([], None) == []
    assert granted_scopes(["a:b", "c:d"], None) == ["a:b", "c:d"]
    assert granted_scopes(["a:b", "c:d"], "c:d c:d") == ["c:d"]
    for allowed in (None, [], ["a:b"]):
        with pytest.raises(BadRequest) as refused:
            granted_scopes(allowed, "admin")
        assert refused.value.extensions["error"] == "invalid_scope"
        assert refused.value.status == 400


@pytest.mark.parametrize("name", ["ada", "a_b-c", "x" * 32, "r2d2"])
def test_good_usernames(name: str) -> None:
    assert check_username(name) == name


@pytest.mark.parametrize("name", ["ab", "x" * 33, "Ada", "ada lovelace", "ada!", "adá", ""])
def test_bad_usernames(name: str) -> None:
    with pytest.raises(ValueError, match="username"):
        check_username(name)


def test_emails_are_trimmed_and_lower_cased() -> None:
    assert check_email("  Ada.Lovelace@Example.COM ") == "ada.lovelace@example.com"


@pytest.mark.parametrize(
    "email",
    ["ada", "ada@", "@example.com", "a b@example.com", "ada@example", f"{'x' * 65}@example.com"],
)
def test_bad_emails(email: str) -> None:
    with pytest.raises(ValueError, match="email"):
        check_email(email)


def test_display_names() -> None:
    assert clean_display_name("  Ada  ") == "Ada"
    assert clean_display_name("   ") is None
    assert clean_display_name(None) is None
    with pytest.raises(ValueError, match="control"):
        clean_display_name("Ada\x00")
    with pytest.raises(ValueError, match="100"):
        clean_display_name("x" * 101)


def test_the_tables_are_in_schema_users_and_in_no_other_metadata() -> None:
    tables = UsersModel.metadata.tables
    assert UsersModel.metadata.schema == "users"
    assert {t.name for t in tables.values()} >= {
        "users",
        "credentials",
        "refresh_families",
        "refresh_tokens",
        "api_tokens",
        "integrations",
        "service_clients",
        "erasures",
        "erasure_steps",
        "outbox",
        "inbox",
        "dead_letters",
    }
    assert all(t.schema == "users" for t in tables.values())
    assert all(key.startswith("users.") for key in tables)
    # SQLModel's global metadata holds none of them (the metadata= class-keyword trap).
    assert not set(SQLModel.metadata.tables) & set(tables)
    assert not {t.name for t in SQLModel.metadata.tables.values()} & {
        t.name for t in tables.values()
    }
    assert EVENT_TABLES.outbox.schema == "users"
