"""docker-compose, the Koyeb definitions and the Dockerfile agree with medley_core.registry.

They cannot import the registry, so this reads them: every registered service is in each,
with its image built from the one Dockerfile by its name, its client id and secret, its
database URL (as its own role), the scopes its client holds and, for the users service,
every client and erasure context. A service added to the registry and forgotten in one of
them fails here.
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from medley_core import registry, serve
from medley_core.registry import ServiceEntry
from medley_core.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = "deploy/Dockerfile"
# Containers listen on 8000 and find each other by service name.
CONTAINER_URL = "http://{name}:8000"
INFRASTRUCTURE = {"postgres", "nats", "provision"}
_DEFAULTED = re.compile(r"\$\{(?P<var>[A-Z0-9_]+):-(?P<default>[^}]*)\}")
_KOYEB_SECRET = re.compile(r"\{\{ secret\.(?P<name>[a-z0-9-]+) \}\}")


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def compose_env(name: str) -> dict[str, str]:
    """A compose service's environment, ``${VAR:-default}`` read as its default."""
    env = compose()["services"][name]["environment"]
    return {key: _DEFAULTED.sub(lambda m: m["default"], str(value)) for key, value in env.items()}


def koyeb(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "deploy/koyeb" / f"{name}.yaml").read_text())
    return dict(loaded["services"][name])


def koyeb_env(name: str) -> dict[str, dict[str, str]]:
    """``{key: {"value": …} | {"secret": …}}``."""
    return {item["key"]: item for item in koyeb(name)["env"]}


def by_name(entries: tuple[ServiceEntry, ...] = registry.ALL) -> Any:
    return pytest.mark.parametrize("service", entries, ids=lambda service: service.name)


# --- the registry itself --------------------------------------------------------------------


def test_names_schemas_roles_and_ports_are_unique() -> None:
    for attribute in ("name", "dev_port"):
        values = [getattr(service, attribute) for service in registry.ALL]
        assert len(set(values)) == len(values), attribute
    for attribute in ("schema", "role"):
        values = [getattr(service, attribute) for service in registry.SERVICES]
        assert None not in values, attribute
        assert len(set(values)) == len(values), attribute
    assert not registry.GATEWAY.owns_data
    assert registry.SERVICES[0] is registry.USERS  # everyone needs its keys and tokens


def test_every_scope_a_client_holds_is_one_a_route_requires() -> None:
    held = {scope for service in registry.ALL for scope in service.scopes}
    assert held <= set(registry.SCOPES)
    # Third-party tokens in clear: no current service syncs from those providers.
    assert all(registry.INTEGRATIONS_READ not in service.scopes for service in registry.ALL)
    with pytest.raises(ValueError, match="unknown scopes"):
        ServiceEntry(name="x", app="x:y", dev_port=1, scopes=("admin",))


def test_erasure_contexts_are_the_services_that_own_user_data_but_users() -> None:
    assert registry.erasure_contexts() == [
        service.name for service in registry.SERVICES if service.name != "users"
    ]


# --- the one Dockerfile and the container entry point ----------------------------------------


def test_the_dockerfile_builds_any_registered_service_by_its_name() -> None:
    text = (ROOT / DOCKERFILE).read_text()
    assert "ARG SERVICE" in text
    assert 'uv sync --frozen --no-dev --package "medley-${SERVICE}"' in text
    assert "ENV MEDLEY_SERVICE=${SERVICE}" in text
    assert 'CMD ["python", "-m", "medley_core.serve"]' in text
    assert "AS provision" in text
    # No near-copies left beside the services.
    stray = [
        p.relative_to(ROOT)
        for p in ROOT.glob("**/Dockerfile")
        if ".venv" not in p.parts and p != ROOT / DOCKERFILE
    ]
    assert stray == []


@by_name()
def test_each_service_is_a_workspace_package_the_image_can_install(service: ServiceEntry) -> None:
    workspace = [ROOT / "services" / service.name, ROOT / service.name]
    pyprojects = [
        path / "pyproject.toml" for path in workspace if (path / "pyproject.toml").exists()
    ]
    assert len(pyprojects) == 1, service.name
    assert f'name = "{service.package}"' in pyprojects[0].read_text()


@by_name()
def test_the_entry_point_migrates_then_serves_the_registered_app(service: ServiceEntry) -> None:
    migrate = serve.migrate_argv(service)
    if service.owns_data:
        assert migrate is not None
        assert migrate[:2] == ["alembic", "-c"]
        assert Path(migrate[2]).is_file()
        assert migrate[2].endswith(f"services/{service.name}/alembic.ini")
        assert migrate[3:] == ["upgrade", "head"]
    else:
        assert migrate is None
    argv = serve.serve_argv(service, {})
    assert argv[:3] == ["uvicorn", "--factory", service.app]
    assert argv[argv.index("--host") + 1] == serve.CONTAINER_HOST
    assert argv[argv.index("--port") + 1] == "8000"
    port = serve.serve_argv(service, {f"{service.env_prefix}PORT": "9123"})
    assert port[port.index("--port") + 1] == "9123"


def test_the_entry_point_refuses_an_unknown_service(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        serve.main(["nonesuch"], env={})
    assert "nonesuch" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        serve.main([], env={})


# --- docker-compose --------------------------------------------------------------------------


def test_compose_runs_exactly_the_registered_services() -> None:
    assert set(compose()["services"]) == INFRASTRUCTURE | {s.name for s in registry.ALL}
    assert compose()["services"]["provision"]["build"] == {
        "context": ".",
        "dockerfile": DOCKERFILE,
        "target": "provision",
    }


@by_name()
def test_compose_builds_each_image_from_the_dockerfile_by_name(service: ServiceEntry) -> None:
    assert compose()["services"][service.name]["build"] == {
        "context": ".",
        "dockerfile": DOCKERFILE,
        "args": {"SERVICE": service.name},
    }


@by_name()
def test_compose_gives_each_service_its_client_and_database(service: ServiceEntry) -> None:
    env = compose_env(service.name)
    prefix = service.env_prefix
    assert env[f"{prefix}CLIENT_ID"] == service.client_id
    assert env[f"{prefix}CLIENT_SECRET"]
    if service.owns_data:
        url = env[f"{prefix}DATABASE_URL"]
        assert url.startswith(f"postgresql://{service.role}:")
        # The provisioner creates the role with the password the service logs in with.
        assert compose_env("provision")[f"{prefix}DATABASE_URL"] == url
    else:
        assert not [key for key in env if key.endswith("DATABASE_URL")]


def test_compose_gives_users_every_client_with_its_scopes_and_the_erasure_contexts() -> None:
    env = compose_env("users")
    clients = json.loads(env["MEDLEY_USERS_SERVICE_CLIENTS"])
    assert {client: spec["scopes"] for client, spec in clients.items()} == registry.client_scopes()
    for service in registry.ALL:
        secret = compose_env(service.name)[f"{service.env_prefix}CLIENT_SECRET"]
        assert clients[service.client_id]["secret"] == secret, service.name
    assert json.loads(env["MEDLEY_USERS_ERASURE_CONTEXTS"]) == registry.erasure_contexts()


@by_name(tuple(s for s in registry.ALL if s.calls))
def test_compose_tells_each_service_where_the_services_it_calls_are(
    service: ServiceEntry,
) -> None:
    env = compose_env(service.name)
    depends_on = compose()["services"][service.name]["depends_on"]
    for called in service.calls:
        url = env[f"{service.env_prefix}{called.upper()}_URL"]
        assert url == CONTAINER_URL.format(name=called)
        assert depends_on[called] == {"condition": "service_healthy"}


def test_compose_gives_the_gateway_every_upstream() -> None:
    env = compose_env("gateway")
    upstreams = {key for key in env if re.fullmatch(r"MEDLEY_GATEWAY_[A-Z_]+_URL", key)}
    assert upstreams == {f"MEDLEY_GATEWAY_{s.name.upper()}_URL" for s in registry.SERVICES}
    for service in registry.SERVICES:
        url = env[f"MEDLEY_GATEWAY_{service.name.upper()}_URL"]
        assert url == CONTAINER_URL.format(name=service.name)


# --- Koyeb -----------------------------------------------------------------------------------


def test_koyeb_defines_exactly_the_registered_services() -> None:
    files = {path.stem for path in (ROOT / "deploy/koyeb").glob("*.yaml")}
    assert files == {service.name for service in registry.ALL}


@by_name()
def test_koyeb_runs_each_image_built_from_the_dockerfile_by_name(service: ServiceEntry) -> None:
    text = (ROOT / "deploy/koyeb" / f"{service.name}.yaml").read_text()
    image = f"ghcr.io/medley/{service.package}"
    assert koyeb(service.name)["docker"]["image"] == f"{image}:latest"
    assert f"docker build -f {DOCKERFILE} --build-arg SERVICE={service.name} -t {image} ." in text
    checks = [check["http"]["path"] for check in koyeb(service.name)["health_checks"]]
    assert checks == [service.ready_path]


@by_name()
def test_koyeb_gives_each_service_its_client_and_database(service: ServiceEntry) -> None:
    env = koyeb_env(service.name)
    prefix = service.env_prefix
    assert env[f"{prefix}CLIENT_ID"]["value"] == service.client_id
    assert env[f"{prefix}CLIENT_SECRET"]["secret"] == f"medley-{service.name}-client-secret"
    if service.owns_data:
        assert env[f"{prefix}DATABASE_URL"]["secret"] == f"medley-{service.name}-database-url"
    else:
        assert not [key for key in env if key.endswith("DATABASE_URL")]


def test_koyeb_gives_users_every_client_with_its_scopes_and_the_erasure_contexts() -> None:
    env = koyeb_env("users")
    clients = json.loads(env["MEDLEY_USERS_SERVICE_CLIENTS"]["value"])
    assert {client: spec["scopes"] for client, spec in clients.items()} == registry.client_scopes()
    for service in registry.ALL:
        # The very secret the client itself is given, interpolated by Koyeb.
        given = koyeb_env(service.name)[f"{service.env_prefix}CLIENT_SECRET"]["secret"]
        secret = _KOYEB_SECRET.fullmatch(clients[service.client_id]["secret"])
        assert secret is not None, service.name
        assert secret["name"] == given, service.name
    contexts = json.loads(env["MEDLEY_USERS_ERASURE_CONTEXTS"]["value"])
    assert contexts == registry.erasure_contexts()


@by_name(tuple(s for s in registry.ALL if s.calls))
def test_koyeb_tells_each_service_where_the_services_it_calls_are(service: ServiceEntry) -> None:
    env = koyeb_env(service.name)
    for called in service.calls:
        url = env[f"{service.env_prefix}{called.upper()}_URL"]["value"]
        assert url == CONTAINER_URL.format(name=called)


def test_koyeb_gives_the_gateway_every_upstream() -> None:
    env = koyeb_env("gateway")
    upstreams = {key for key in env if re.fullmatch(r"MEDLEY_GATEWAY_[A-Z_]+_URL", key)}
    assert upstreams == {f"MEDLEY_GATEWAY_{s.name.upper()}_URL" for s in registry.SERVICES}
    for service in registry.SERVICES:
        url = env[f"MEDLEY_GATEWAY_{service.name.upper()}_URL"]["value"]
        assert url == CONTAINER_URL.format(name=service.name)


@by_name()
def test_each_services_settings_agree_with_its_entry(service: ServiceEntry) -> None:
    module = importlib.import_module(f"{service.module}.settings")
    (settings_cls,) = (
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, ServiceSettings)
        and value.__module__ == module.__name__
    )
    assert settings_cls.service_name == service.name
    assert settings_cls.schema_name == (service.schema or "public")
    assert settings_cls.model_fields["port"].default == service.dev_port
    assert settings_cls.model_config.get("env_prefix") == service.env_prefix
    for called in service.calls:
        assert f"{called}_url" in settings_cls.model_fields, called
