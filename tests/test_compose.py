"""docker-compose.yml, Dockerfile and .dockerignore, checked without a Docker engine.

The files are parsed, and everything they name (commands, modules, variables) is looked up
in the project; the web and worker healthchecks are run for real against a gunicorn and a
Celery worker started the way the compose file starts them.
"""

from __future__ import annotations

import importlib
import re
import shlex
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml
from celery import Celery
from celery.app.utils import find_app
from django.conf import settings
from django.core.management import get_commands

from config.env import parse_database_url
from tests.test_settings import (
    clean_env,
    generated_keys,
    production_variables,
    read_env_example,
    run_manage,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
DOCKERFILE = REPO_ROOT / "Dockerfile"
VENV_BIN = Path(sys.executable).parent
APP_SERVICES = ("web", "worker", "beat")

# $$ (a literal $), ${NAME}, ${NAME:-default}, ${NAME:?message}, $NAME: compose's interpolation.
_INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?P<modifier>:?[-?+][^}]*)?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def interpolate(text: str, values: dict[str, str]) -> str:
    """What compose makes of ``text`` with ``values`` as the .env file (the subset we use)."""

    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["bare"]
        value = values.get(name, "")
        modifier = match["modifier"] or ""
        if modifier.startswith(":?") and not value:
            raise AssertionError(f"compose would stop: {name} is empty ({modifier[2:]})")
        if modifier.startswith(":-") and not value:
            return modifier[2:]
        return value

    return _INTERPOLATION.sub(replace, text)


def command_text(command: str | list[str]) -> str:
    return command if isinstance(command, str) else shlex.join(command)


def all_commands(services: dict) -> list[str]:
    """Every command the file runs: service commands and healthcheck tests."""
    texts = []
    for service in services.values():
        if "command" in service:
            texts.append(command_text(service["command"]))
        test = service.get("healthcheck", {}).get("test")
        if test:
            texts.append(" ".join(test[1:]) if isinstance(test, list) else test)
    return texts


def env_example_values() -> dict[str, str]:
    """The .env a user gets from .env.example, with the blank secrets filled in."""
    values = {entry.name: entry.value for entry in read_env_example() if entry.active}
    return {**values, **generated_keys(), "POSTGRES_PASSWORD": uuid.uuid4().hex}


def container_environment(service: dict, dotenv: dict[str, str]) -> dict[str, str]:
    """env_file .env, then the service's ``environment`` on top, as compose does."""
    assert service["env_file"] == ".env"
    overrides = {
        key: interpolate(str(value), dotenv) for key, value in service["environment"].items()
    }
    return {**dotenv, **overrides}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_until_ok(command: str, env: dict[str, str], deadline: float) -> subprocess.CompletedProcess:
    while True:
        result = subprocess.run(
            ["sh", "-c", command], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        if result.returncode == 0 or time.monotonic() > deadline:
            return result
        time.sleep(0.5)


# --- the services ------------------------------------------------------------------------------
def test_compose_runs_the_five_services(services):
    assert set(services) == {"postgres", "redis", "web", "worker", "beat"}
    assert services["postgres"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"


def test_every_service_but_beat_has_a_healthcheck(services):
    # beat answers no ping and opens no port; the compose file explains why it has none.
    for name, service in services.items():
        if name == "beat":
            assert "healthcheck" not in service
            continue
        assert service["healthcheck"]["test"], name
    assert "No healthcheck" in COMPOSE_FILE.read_text(encoding="utf-8")


def test_backing_services_are_probed_with_their_own_tools(services):
    assert "pg_isready" in command_text(services["postgres"]["healthcheck"]["test"])
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]


def test_data_lives_in_declared_named_volumes(compose, services):
    declared = set(compose["volumes"])
    used = {
        mount.split(":")[0]
        for service in services.values()
        for mount in service.get("volumes", [])
        if not mount.startswith((".", "/"))
    }
    assert {"postgres-data", "media"} <= used
    assert used <= declared
    assert any(m.endswith(":/var/lib/postgresql/data") for m in services["postgres"]["volumes"])


def test_app_services_are_built_from_the_dockerfile_and_read_dot_env(services):
    for name in APP_SERVICES:
        service = services[name]
        assert service["build"] == ".", name
        assert service["env_file"] == ".env", name
    assert len({services[name]["image"] for name in APP_SERVICES}) == 1


def test_web_migrates_then_serves_config_wsgi_on_port_8000(services):
    command = command_text(services["web"]["command"])
    assert command.index("manage.py migrate") < command.index("gunicorn config.wsgi")
    assert "--bind 0.0.0.0:8000" in command
    assert "/healthz" in command_text(services["web"]["healthcheck"]["test"])


def test_worker_and_beat_run_the_config_celery_app(services):
    assert command_text(services["worker"]["command"]).startswith("celery -A config worker")
    assert command_text(services["beat"]["command"]).startswith("celery -A config beat")


def test_workers_can_be_scaled(services):
    for name, service in services.items():
        assert "container_name" not in service, name
    assert "ports" not in services["worker"]


def test_services_wait_for_healthy_dependencies(services):
    assert set(services["web"]["depends_on"]) == {"postgres", "redis"}
    for name in ("worker", "beat"):
        assert set(services[name]["depends_on"]) == {"postgres", "redis", "web"}, name
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            assert condition == {"condition": "service_healthy"}, (name, dependency)


# --- what the commands name exists -------------------------------------------------------------
def test_every_manage_py_command_named_exists(services):
    named = {
        name for text in all_commands(services) for name in re.findall(r"manage\.py (\w+)", text)
    }
    assert "migrate" in named
    assert named <= set(get_commands())


def test_the_gunicorn_target_is_a_wsgi_application(services):
    targets = {t for text in all_commands(services) for t in re.findall(r"gunicorn (\S+)", text)}
    assert targets == {"config.wsgi"}
    for target in targets:
        module, _, attribute = target.partition(":")
        assert callable(getattr(importlib.import_module(module), attribute or "application"))


def test_the_celery_app_named_is_config_celery_app(services):
    import config

    apps = {app for text in all_commands(services) for app in re.findall(r"celery -A (\S+)", text)}
    assert apps == {"config"}
    assert isinstance(config.celery_app, Celery)
    assert find_app("config") is config.celery_app


def test_gunicorn_conf_is_the_one_the_web_command_loads(services):
    assert "--config gunicorn.conf.py" in command_text(services["web"]["command"])
    assert (REPO_ROOT / "gunicorn.conf.py").is_file()


# --- variables ---------------------------------------------------------------------------------
def test_every_variable_the_compose_file_uses_is_set_in_env_example():
    used = {
        match["braced"] or match["bare"]
        for match in _INTERPOLATION.finditer(COMPOSE_FILE.read_text(encoding="utf-8"))
        if not match["escaped"]
    }
    assert {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"} <= used
    active = {entry.name for entry in read_env_example() if entry.active}
    assert used - active == set()


def test_the_database_url_compose_builds_points_at_the_postgres_service(services):
    dotenv = env_example_values()
    environment = container_environment(services["web"], dotenv)
    database = parse_database_url(environment["DATABASE_URL"])
    assert (database["HOST"], database["NAME"], database["USER"]) == (
        "postgres",
        dotenv["POSTGRES_DB"],
        dotenv["POSTGRES_USER"],
    )
    assert database["PASSWORD"] == dotenv["POSTGRES_PASSWORD"]
    assert environment["REDIS_URL"].startswith("redis://redis:")


def test_compose_refuses_to_start_without_a_postgres_password(services):
    dotenv = {**env_example_values(), "POSTGRES_PASSWORD": ""}
    password = services["postgres"]["environment"]["POSTGRES_PASSWORD"]
    with pytest.raises(AssertionError, match="POSTGRES_PASSWORD is empty"):
        interpolate(password, dotenv)


def test_the_web_containers_environment_passes_the_deploy_check(services):
    environment = container_environment(services["web"], env_example_values())
    assert production_variables().items() <= environment.items()
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING", env=clean_env(**environment)
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- the healthchecks, run for real ------------------------------------------------------------
def test_the_web_healthcheck_passes_against_gunicorn_started_like_the_web_service(
    services, tmp_path
):
    port = free_port()
    shell, flag, script = services["web"]["command"]
    assert (shell, flag) == ("sh", "-c")
    serve = script.split("exec ", 1)[1]
    serve = serve.replace("0.0.0.0:8000", f"127.0.0.1:{port}")
    probe = command_text(services["web"]["healthcheck"]["test"][1:])
    probe = probe.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    env = clean_env(
        **production_variables(),
        **generated_keys(),
        DATABASE_URL=f"sqlite:///{tmp_path / 'web.sqlite3'}",
        WEB_CONCURRENCY="1",
    )
    env["PATH"] = f"{VENV_BIN}:{env['PATH']}"
    server = subprocess.Popen(
        ["sh", "-c", f"exec {serve}"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        result = run_until_ok(probe, env, deadline=time.monotonic() + 30)
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    assert result.returncode == 0, result.stderr + errors


@pytest.mark.celery_worker
def test_the_worker_healthcheck_pings_a_running_worker_and_fails_without_one(services, tmp_path):
    node_host = f"wenji-probe-{uuid.uuid4().hex[:8]}"
    env = clean_env(
        **generated_keys(),
        REDIS_URL=settings.REDIS_URL,
        DATABASE_URL=f"sqlite:///{tmp_path / 'worker.sqlite3'}",
        HOSTNAME=node_host,
    )
    env["PATH"] = f"{VENV_BIN}:{env['PATH']}"
    probe = interpolate(command_text(services["worker"]["healthcheck"]["test"][1]), {})
    assert "--timeout 10" in probe
    worker_command = [
        *shlex.split(command_text(services["worker"]["command"])),
        # Its own queue, so the probe worker never takes another test's jobs.
        *("--hostname", f"celery@{node_host}", "--queues", node_host, "--concurrency", "1"),
    ]
    worker = subprocess.Popen(
        worker_command, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        quick_probe = probe.replace("--timeout 10", "--timeout 1")
        run_until_ok(quick_probe, env, deadline=time.monotonic() + 60)
        alive = run_until_ok(probe, env, deadline=time.monotonic())
    finally:
        worker.terminate()
        worker.communicate(timeout=60)
    assert alive.returncode == 0, alive.stdout + alive.stderr
    assert f"celery@{node_host}: OK" in alive.stdout
    gone = subprocess.run(
        ["sh", "-c", quick_probe],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert gone.returncode != 0


# --- Dockerfile --------------------------------------------------------------------------------
def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def test_dockerfile_starts_from_python_3_11_slim():
    assert dockerfile_instructions()[0] == ("FROM", "python:3.11-slim")


def test_dockerfile_installs_the_pinned_runtime_requirements_only():
    instructions = dockerfile_instructions()
    installs = [args for kind, args in instructions if kind == "RUN" and "pip install" in args]
    assert len(installs) == 1
    assert "-r requirements/base.txt" in installs[0]
    assert "dev.txt" not in DOCKERFILE.read_text(encoding="utf-8")
    copied = [args for kind, args in instructions if kind == "COPY"]
    assert copied[0].startswith("requirements/base.txt")


def test_dockerfile_keeps_the_build_time_key_out_of_the_image():
    instructions = dockerfile_instructions()
    (collect,) = [args for kind, args in instructions if "collectstatic" in args]
    assert "SECRET_KEY=" in collect
    for kind, args in instructions:
        if kind in {"ENV", "ARG"}:
            assert "SECRET_KEY" not in args and "IDENTITY_HASH_KEY" not in args


def test_dockerfile_runs_as_a_non_root_user_after_the_build_steps():
    instructions = dockerfile_instructions()
    users = [index for index, (kind, _) in enumerate(instructions) if kind == "USER"]
    assert users, "the image runs as root"
    last_user = instructions[users[-1]][1]
    assert last_user not in {"root", "0"}
    assert all(kind != "RUN" for kind, _ in instructions[users[-1] :])


def test_dockerfiles_collectstatic_step_succeeds(tmp_path):
    (collect,) = [args for kind, args in dockerfile_instructions() if "collectstatic" in args]
    words = shlex.split(collect)
    assignments = dict(word.split("=", 1) for word in words if re.match(r"^[A-Z_]+=", word))
    command = [word for word in words if not re.match(r"^[A-Z_]+=", word)]
    assert command[:2] == ["python", "manage.py"]
    result = run_manage(*command[2:], env=clean_env(**assignments, STATIC_ROOT=str(tmp_path)))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "staticfiles.json").is_file()
    assert list(tmp_path.glob("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.*.css"))


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_build():
    ignored = (REPO_ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".env", ".git", ".venv", "db.sqlite3*"} <= set(ignored)
