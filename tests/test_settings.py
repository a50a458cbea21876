"""Settings: the strict environment parsers, start-up rules, the deploy check, and what every
response carries (Content-Security-Policy, HSTS only over HTTPS, language, /healthz).

Start-up and ``check --deploy`` run in a subprocess with a controlled environment, because
the settings module is read once per process.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key
from django.db import OperationalError

from config.env import (
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_str,
    env_url,
    parse_database_url,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
ENV_EXAMPLE = REPO_ROOT / ".env.example"
SETTINGS_FILE = REPO_ROOT / "config" / "settings.py"
GUNICORN_CONF = REPO_ROOT / "gunicorn.conf.py"
ALLOWED_SOURCES = {"'self'", "'none'", "data:"}


# --- helpers shared with tests/test_compose.py ----------------------------------------------
@dataclass(frozen=True)
class EnvEntry:
    """One ``NAME=value`` line of .env.example; ``active`` is False for ``#NAME=default``."""

    name: str
    value: str
    active: bool
    section: str
    comment: str


_ASSIGNMENT = re.compile(r"^(?P<commented>#)?(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")
_SECTION = re.compile(r"^# ====\s*(?P<title>.+?)\s*=*$")


def read_env_example() -> list[EnvEntry]:
    """Every variable line of .env.example with its section and the comment line above it."""
    entries: list[EnvEntry] = []
    section, previous = "", ""
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if heading := _SECTION.match(line):
            section = heading["title"]
        elif match := _ASSIGNMENT.match(line):
            entries.append(
                EnvEntry(
                    name=match["name"],
                    value=match["value"],
                    active=match["commented"] is None,
                    section=section,
                    comment=previous if previous.startswith("# ") else "",
                )
            )
        previous = line
    return entries


def production_variables() -> dict[str, str]:
    """The active lines of .env.example's production section."""
    return {
        entry.name: entry.value
        for entry in read_env_example()
        if entry.active and "production" in entry.section
    }


def clean_env(**variables: str) -> dict[str, str]:
    """A process environment with nothing of ours in it except ``variables``."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TMPDIR") if key in os.environ}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(variables)
    return env


def generated_keys() -> dict[str, str]:
    return {"SECRET_KEY": get_random_secret_key(), "IDENTITY_HASH_KEY": get_random_secret_key()}


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


_SETTINGS_PROBE = """
import json, django
django.setup()
from django.conf import settings
print(json.dumps({name: getattr(settings, name) for name in %r}, default=str))
"""


def settings_in_subprocess(names: list[str], env: dict[str, str]) -> dict[str, object]:
    """The given settings as a fresh process sees them under ``env`` (values via str())."""
    result = subprocess.run(
        [sys.executable, "-c", _SETTINGS_PROBE % (names,)],
        cwd=REPO_ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings", "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def csp_sources(header: str) -> dict[str, list[str]]:
    directives = (part.split() for part in header.split(";") if part.strip())
    return {words[0]: words[1:] for words in directives}


# --- parsers ---------------------------------------------------------------------------------
@pytest.mark.parametrize("word", ["true", "TRUE", "1", "yes", "on", " True "])
def test_env_bool_reads_true_words(monkeypatch, word):
    monkeypatch.setenv("WENJI_FLAG", word)
    assert env_bool("WENJI_FLAG", False) is True


@pytest.mark.parametrize("word", ["false", "False", "0", "no", "off"])
def test_env_bool_reads_false_words(monkeypatch, word):
    monkeypatch.setenv("WENJI_FLAG", word)
    assert env_bool("WENJI_FLAG", True) is False


@pytest.mark.parametrize("word", ["maybe", "2", "y", "enabled"])
def test_env_bool_refuses_anything_else_and_names_the_variable(monkeypatch, word):
    monkeypatch.setenv("WENJI_FLAG", word)
    with pytest.raises(ImproperlyConfigured, match="WENJI_FLAG must be true or false"):
        env_bool("WENJI_FLAG", False)


@pytest.mark.parametrize("value", [None, "", "   "])
def test_unset_or_blank_variables_take_the_default(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("WENJI_VALUE", raising=False)
    else:
        monkeypatch.setenv("WENJI_VALUE", value)
    assert env_bool("WENJI_VALUE", True) is True
    assert env_int("WENJI_VALUE", 7, minimum=1) == 7
    assert env_str("WENJI_VALUE", "fallback") == "fallback"
    assert env_list("WENJI_VALUE", ["a"]) == ["a"]
    assert env_choice("WENJI_VALUE", "INFO", ["INFO", "DEBUG"]) == "INFO"


def test_env_int_reads_a_whole_number(monkeypatch):
    monkeypatch.setenv("WENJI_COUNT", " 42 ")
    assert env_int("WENJI_COUNT", 1, minimum=0) == 42


def test_env_int_refuses_words(monkeypatch):
    monkeypatch.setenv("WENJI_COUNT", "ten")
    with pytest.raises(ImproperlyConfigured, match="WENJI_COUNT must be a whole number"):
        env_int("WENJI_COUNT", 1)


def test_env_int_refuses_a_value_below_the_minimum(monkeypatch):
    monkeypatch.setenv("WENJI_COUNT", "512")
    with pytest.raises(ImproperlyConfigured, match="WENJI_COUNT must be at least 1024, got 512"):
        env_int("WENJI_COUNT", 4096, minimum=1024)


def test_env_list_splits_on_commas_and_drops_empty_items(monkeypatch):
    monkeypatch.setenv("WENJI_HOSTS", " a.example.org, ,b.example.org ")
    assert env_list("WENJI_HOSTS") == ["a.example.org", "b.example.org"]


def test_env_choice_accepts_any_case_and_refuses_unknown_values(monkeypatch):
    monkeypatch.setenv("WENJI_LEVEL", "warning")
    assert env_choice("WENJI_LEVEL", "INFO", ["INFO", "WARNING"]) == "WARNING"
    monkeypatch.setenv("WENJI_LEVEL", "LOUD")
    with pytest.raises(ImproperlyConfigured, match="WENJI_LEVEL must be one of INFO, WARNING"):
        env_choice("WENJI_LEVEL", "INFO", ["INFO", "WARNING"])


def test_env_url_drops_the_trailing_slash_and_refuses_non_http_values(monkeypatch):
    monkeypatch.setenv("WENJI_API", "http://127.0.0.1:9999/")
    assert env_url("WENJI_API", "https://example.org") == "http://127.0.0.1:9999"
    monkeypatch.setenv("WENJI_API", "api.weixin.qq.com")
    with pytest.raises(ImproperlyConfigured, match="WENJI_API must be an http"):
        env_url("WENJI_API", "https://example.org")


def test_parse_database_url_reads_a_postgres_url():
    database = parse_database_url(
        "postgres://wenji:p%40ss@db.internal:6543/wenji_prod?sslmode=require&conn_max_age=0"
    )
    assert database == {
        "ENGINE": "wenji.postgresql",
        "NAME": "wenji_prod",
        "USER": "wenji",
        "PASSWORD": "p@ss",
        "HOST": "db.internal",
        "PORT": "6543",
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {"sslmode": "require"},
    }


def test_parse_database_url_keeps_connections_for_a_minute_by_default():
    database = parse_database_url("postgresql://localhost/wenji")
    assert (database["NAME"], database["HOST"], database["PORT"]) == ("wenji", "localhost", "")
    assert database["CONN_MAX_AGE"] == 60


@pytest.mark.parametrize(
    ("url", "name"),
    [("sqlite:///db.sqlite3", "db.sqlite3"), ("sqlite:////var/lib/wenji.db", "/var/lib/wenji.db")],
)
def test_parse_database_url_reads_relative_and_absolute_sqlite_paths(url, name):
    assert parse_database_url(url) == {"ENGINE": "django.db.backends.sqlite3", "NAME": name}


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root@localhost/wenji", "scheme 'mysql' is not supported"),
        ("postgres://localhost:5432/", "needs a database name"),
        ("postgres://localhost", "needs a database name"),
        ("postgres://localhost:port/wenji", "invalid port"),
        ("postgres://localhost/wenji?conn_max_age=forever", "conn_max_age must be a whole"),
        ("sqlite://", "needs a file path"),
        ("sqlite://db.sqlite3", "takes no host"),
    ],
)
def test_parse_database_url_refuses_malformed_urls_with_a_message(url, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        parse_database_url(url)


# --- start-up ----------------------------------------------------------------------------------
@pytest.mark.parametrize("missing", ["SECRET_KEY", "IDENTITY_HASH_KEY"])
def test_start_up_without_debug_refuses_a_missing_key_and_names_it(missing):
    env = clean_env(DEBUG="false", **generated_keys())
    del env[missing]
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=REPO_ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert f"{missing} must be set unless DEBUG=true" in result.stderr


def test_manage_py_check_refuses_a_missing_secret_key_without_debug():
    result = run_manage("check", env=clean_env(DEBUG="false", IDENTITY_HASH_KEY="k"))
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_start_up_refuses_a_boolean_it_does_not_understand():
    result = run_manage("check", env=clean_env(DEBUG="maybe", **generated_keys()))
    assert result.returncode != 0
    assert "DEBUG must be true or false, got 'maybe'" in result.stderr


def test_debug_starts_without_keys_and_with_laptop_hosts():
    seen = settings_in_subprocess(["DEBUG", "ALLOWED_HOSTS"], clean_env(DEBUG="true"))
    assert seen == {"DEBUG": True, "ALLOWED_HOSTS": ["127.0.0.1", "localhost"]}


def test_a_laptop_without_urls_gets_sqlite_in_process_tasks_and_a_local_cache():
    seen = settings_in_subprocess(
        ["DATABASES", "CELERY_TASK_ALWAYS_EAGER", "CELERY_BROKER_URL", "CACHES"],
        clean_env(**generated_keys()),
    )
    assert seen["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert seen["CELERY_TASK_ALWAYS_EAGER"] is True
    assert seen["CELERY_BROKER_URL"] == "memory://"
    assert seen["CACHES"]["default"]["BACKEND"].endswith("LocMemCache")


def test_database_and_redis_urls_switch_on_postgresql_and_a_real_broker():
    env = clean_env(
        DATABASE_URL="postgres://wenji:secret@db:5432/wenji",
        REDIS_URL="redis://cache:6379/0",
        **generated_keys(),
    )
    seen = settings_in_subprocess(
        ["DATABASES", "CELERY_TASK_ALWAYS_EAGER", "CELERY_BROKER_URL", "CACHES"], env
    )
    assert seen["DATABASES"]["default"]["ENGINE"] == "wenji.postgresql"
    assert seen["DATABASES"]["default"]["HOST"] == "db"
    assert seen["CELERY_TASK_ALWAYS_EAGER"] is False
    assert seen["CELERY_BROKER_URL"] == "redis://cache:6379/0"
    assert seen["CACHES"]["default"] == {
        "BACKEND": "wenji.cache.RedisCache",
        "LOCATION": "redis://cache:6379/0",
        "KEY_PREFIX": "wenji",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
    }


def test_the_postgresql_backend_runs_on_psycopg_3():
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    assert is_psycopg3


def test_chinese_is_the_default_language_and_times_are_stored_in_utc_shown_in_shanghai():
    seen = settings_in_subprocess(
        ["LANGUAGE_CODE", "LANGUAGES", "USE_TZ", "TIME_ZONE", "CELERY_TIMEZONE"],
        clean_env(**generated_keys()),
    )
    assert seen["LANGUAGE_CODE"] == "zh-hans"
    assert [code for code, _name in seen["LANGUAGES"]] == ["zh-hans", "en"]
    assert (seen["USE_TZ"], seen["TIME_ZONE"], seen["CELERY_TIMEZONE"]) == (
        True,
        "Asia/Shanghai",
        "UTC",
    )


def test_time_zone_and_wechat_api_base_can_be_overridden():
    env = clean_env(
        TIME_ZONE="Asia/Urumqi", WECHAT_API_BASE="http://127.0.0.1:9000/", **generated_keys()
    )
    seen = settings_in_subprocess(["TIME_ZONE", "WECHAT_API_BASE", "WECHAT_APP_ID"], env)
    assert seen == {
        "TIME_ZONE": "Asia/Urumqi",
        "WECHAT_API_BASE": "http://127.0.0.1:9000",
        "WECHAT_APP_ID": "",
    }


def test_wechat_api_base_defaults_to_the_real_api(settings):
    assert settings.WECHAT_API_BASE == "https://api.weixin.qq.com"


# --- .env.example and the deploy check --------------------------------------------------------
# env_bool("NAME", ...), a local _env_rate("NAME", ...), os.environ.get("NAME"), getenv("NAME")
_ENV_READ = re.compile(r"(?:env_\w+\(|environ\.get\(|getenv\(|environ\[)\s*\"([A-Z][A-Z0-9_]*)\"")


def _variables_read_by(path: Path) -> set[str]:
    return set(_ENV_READ.findall(path.read_text(encoding="utf-8")))


def test_env_example_documents_every_variable_the_settings_and_gunicorn_read():
    read = _variables_read_by(SETTINGS_FILE) | _variables_read_by(GUNICORN_CONF)
    assert {"DEBUG", "SECRET_KEY", "DATABASE_URL", "WECHAT_API_BASE"} <= read
    documented = {entry.name for entry in read_env_example()}
    assert read - documented == set()


def test_env_example_lists_each_variable_once_with_a_comment_above_it():
    entries = read_env_example()
    names = [entry.name for entry in entries]
    assert len(names) == len(set(names)), "a variable appears twice"
    assert [entry.name for entry in entries if not entry.comment] == []


def test_env_example_groups_the_variables():
    sections = {entry.section.split()[0].rstrip(":") for entry in read_env_example()}
    assert {"core", "database", "redis", "submissions", "WeChat", "security"} <= sections


def test_env_example_leaves_every_secret_blank():
    for name in ("SECRET_KEY", "IDENTITY_HASH_KEY", "POSTGRES_PASSWORD", "WECHAT_APP_SECRET"):
        (entry,) = [entry for entry in read_env_example() if entry.name == name]
        assert entry.value == "", f"{name} has a value in .env.example"


def test_deploy_check_passes_with_the_documented_production_variables():
    production = production_variables()
    assert production["DEBUG"] == "false"
    env = clean_env(**production, **generated_keys())
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_deploy_check_fails_without_the_production_section():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env=clean_env(ALLOWED_HOSTS="survey.example.org", **generated_keys()),
    )
    assert result.returncode != 0
    assert "security.W021" in result.stderr  # HSTS preload is opt-in


# --- what responses carry ----------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/healthz", "/admin/login/", "/no-such-page/", "/api/v1/docs/"])
def test_every_response_carries_a_policy_that_allows_only_our_own_host(client, path):
    response = client.get(path)
    policy = csp_sources(response.headers["Content-Security-Policy"])
    assert {"default-src", "script-src", "style-src", "img-src", "object-src"} <= set(policy)
    assert {source for sources in policy.values() for source in sources} <= ALLOWED_SOURCES
    assert policy["script-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]


@pytest.mark.django_db
def test_hsts_is_sent_over_https_only(client):
    assert "Strict-Transport-Security" not in client.get("/admin/login/").headers
    hsts = client.get("/admin/login/", secure=True).headers["Strict-Transport-Security"]
    assert hsts == "max-age=31536000; includeSubDomains"


@pytest.mark.django_db
def test_healthz_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-store" in response.headers["Cache-Control"]


@pytest.mark.django_db
def test_healthz_answers_probes_by_internal_address_over_plain_http(client, settings):
    settings.ALLOWED_HOSTS = ["survey.example.org"]
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz", HTTP_HOST="127.0.0.1:8000").status_code == 200
    assert client.get("/admin/login/", HTTP_HOST="127.0.0.1:8000").status_code == 400
    redirect = client.get("/admin/login/", HTTP_HOST="survey.example.org")
    assert redirect.status_code == 301
    assert redirect.headers["Location"].startswith("https://survey.example.org/")


class _BrokenConnection:
    def cursor(self) -> None:
        raise OperationalError("connection refused")


def test_healthz_answers_503_when_the_database_does_not(client, monkeypatch, caplog):
    monkeypatch.setattr("config.views.connection", _BrokenConnection())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}
    assert "database did not answer" in caplog.text


def test_the_admin_speaks_english_to_an_english_browser(client):
    response = client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.headers["Content-Language"] == "en"
    assert "Log in" in response.content.decode()


def test_the_admin_speaks_chinese_by_default(client):
    response = client.get("/admin/login/")
    assert response.headers["Content-Language"] == "zh-hans"
    page = response.content.decode()
    assert "登录" in page
    assert "Log in" not in page


# --- API docs under the policy -----------------------------------------------------------------
class _PageAssets(HTMLParser):
    """Collects what a page would load, and any inline script or style it carries."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.urls += [value for name, value in attrs if name in {"src", "href"} and value]
        if "style" in values or tag == "style":
            self.inline.append(f"<{tag}> style")
        if any(name.startswith("on") for name in values):
            self.inline.append(f"<{tag}> event handler")
        self._in_script = tag == "script" and not values.get("src")

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(f"inline script: {data.strip()[:40]}")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


def _docs_page_assets(client) -> _PageAssets:
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    assets = _PageAssets()
    assets.feed(response.content.decode())
    return assets


def test_api_docs_page_has_no_inline_script_or_style(client):
    assert _docs_page_assets(client).inline == []


def test_api_docs_page_loads_everything_from_our_own_host(client, settings):
    urls = _docs_page_assets(client).urls
    assert len(urls) >= 4  # icon, stylesheet, two bundles, init script
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        if url.startswith(settings.STATIC_URL):
            assert finders.find(url.removeprefix(settings.STATIC_URL)), f"{url} is not shipped"


def test_api_docs_init_script_is_served_as_javascript_from_a_url(client):
    (script_url,) = [url for url in _docs_page_assets(client).urls if "script" in url]
    response = client.get(script_url)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/javascript")
    script = response.content.decode()
    assert "SwaggerUIBundle(" in script
    assert '"validatorUrl": null' in script  # no badge fetched from swagger.io
    assert "http://" not in script and "https://" not in script


@pytest.mark.browser
def test_api_docs_render_in_chromium_without_a_policy_violation(live_server, browser):
    violations: list[str] = []
    foreign: list[str] = []
    page = browser.new_page()
    try:
        page.on(
            "console",
            lambda message: (
                violations.append(message.text)
                if "Content Security Policy" in message.text
                else None
            ),
        )
        page.on(
            "request",
            lambda request: (
                foreign.append(request.url)
                if not request.url.startswith((live_server.url, "data:"))
                else None
            ),
        )
        page.goto(f"{live_server.url}/api/v1/docs/")
        page.wait_for_selector(".swagger-ui .info .title", timeout=15000)
        title = page.inner_text(".swagger-ui .info .title")
    finally:
        page.close()
    assert "Wenji API" in title
    assert violations == []
    assert foreign == []


@pytest.mark.parametrize(
    ("keys", "refused"),
    [
        ({"SECRET_KEY": "s" * 50, "IDENTITY_HASH_KEY": "k"}, "wenji.E002"),
        ({"SECRET_KEY": "short", "IDENTITY_HASH_KEY": "k" * 50}, "wenji.E001"),
        ({"SECRET_KEY": "same-" * 10, "IDENTITY_HASH_KEY": "same-" * 10}, "wenji.E003"),
    ],
)
def test_the_deploy_check_refuses_weak_or_shared_keys(keys, refused):
    environment = {**production_variables(), **keys}
    result = run_manage("check", "--deploy", "--fail-level", "ERROR", env=clean_env(**environment))
    assert result.returncode != 0
    assert refused in result.stderr + result.stdout


def test_the_deploy_check_accepts_two_long_different_keys():
    environment = {**production_variables(), **generated_keys()}
    result = run_manage("check", "--deploy", "--fail-level", "ERROR", env=clean_env(**environment))
    assert result.returncode == 0, result.stderr
