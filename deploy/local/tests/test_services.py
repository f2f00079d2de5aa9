"""The registry is what the launcher, the provisioner and the fixtures start from."""

from __future__ import annotations

import importlib.util

import pytest

from medley_local.services import GATEWAY, SERVICES, USERS, ServiceSpec, service


@pytest.mark.parametrize("spec", [*SERVICES, GATEWAY], ids=lambda spec: spec.name)
def test_every_registered_app_and_history_exists(spec: ServiceSpec) -> None:
    module, _, factory = spec.app.partition(":")
    assert factory
    assert importlib.util.find_spec(module) is not None, spec.app
    if spec.owns_data:
        assert spec.migrations_dir is not None
        assert (spec.migrations_dir / "env.py").is_file()
        assert (spec.migrations_dir.parent / "alembic.ini").is_file()


def test_names_schemas_and_roles_are_unique() -> None:
    specs = [*SERVICES, GATEWAY]
    assert len({spec.name for spec in specs}) == len(specs)
    assert len({spec.schema for spec in SERVICES}) == len(SERVICES)
    assert len({spec.role for spec in SERVICES}) == len(SERVICES)
    assert all(spec.owns_data for spec in SERVICES)
    assert not GATEWAY.owns_data


def test_users_starts_first_and_the_rest_follow_the_conventions() -> None:
    assert SERVICES[0] is USERS
    assert service("users").env_prefix == "MEDLEY_USERS_"
    assert USERS.database("pw", "_t1").role == "medley_users_t1"


def test_a_spec_that_owns_data_needs_schema_role_and_history() -> None:
    with pytest.raises(ValueError, match="go together"):
        ServiceSpec(name="half", app="x:y", schema="half")
