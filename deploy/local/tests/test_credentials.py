"""Role passwords and client secrets are generated once and kept, readable by us only."""

from __future__ import annotations

import stat
from pathlib import Path

from medley_local.credentials import Credentials


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_generated_once_and_kept_between_runs(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    first = Credentials.load_or_create(path, roles=["medley_users"], clients=["gateway", "users"])
    assert mode(path) == 0o600
    assert set(first.client_secrets) == {"gateway", "users"}
    assert len(set(first.client_secrets.values())) == 2

    second = Credentials.load_or_create(path, roles=["medley_users"], clients=["gateway", "users"])
    assert second.role_passwords == first.role_passwords
    assert second.client_secrets == first.client_secrets


def test_a_new_service_adds_its_secrets_and_changes_no_other(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    before = Credentials.load_or_create(path, roles=["medley_users"], clients=["users"])
    after = Credentials.load_or_create(
        path, roles=["medley_users", "medley_catalog"], clients=["users", "catalog"]
    )
    assert after.role_passwords["medley_users"] == before.role_passwords["medley_users"]
    assert after.client_secrets["users"] == before.client_secrets["users"]
    assert after.role_passwords["medley_catalog"]
    assert mode(path) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secrets.json"]  # no temporary file left
