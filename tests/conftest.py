"""Shared fixtures, and the rule for tests that need a real server or browser.

A test marked ``postgres``, ``redis``, ``celery_worker``, ``browser`` or ``cairo`` skips with a
visible reason where that part is missing (a laptop), and fails instead of skipping when
``REQUIRE_SERVICES=1`` (CI), so a green CI run never hides a skipped integration test.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings

REPO_ROOT = Path(__file__).resolve().parent.parent
REFERENCE_DIR = REPO_ROOT.parent / "shared" / "reference"
EXAMPLE_DEFINITION = REPO_ROOT / "examples" / "ipb-survey.yaml"
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "").strip().lower() in {"1", "true", "yes"}


def _redis_reachable() -> str | None:
    url = settings.REDIS_URL
    if not url:
        return "REDIS_URL is not set"
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), 2):
            return None
    except OSError as exc:
        return f"Redis at {parts.hostname}:{parts.port} is unreachable ({exc})"


def _postgres_missing() -> str | None:
    from django.db import connection

    if connection.vendor != "postgresql":
        return "DATABASE_URL does not point at PostgreSQL"
    return None


def _browser_missing() -> str | None:
    if not Path("/usr/bin/chromium").exists() and not shutil.which("chromium"):
        return "Debian's chromium is not installed"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed"
    return None


def _cairo_missing() -> str | None:
    try:
        import cairosvg  # noqa: F401  (loads the Cairo C library)
    except OSError as error:
        return f"the Cairo library is not installed ({error})"
    return None


def _pspp_missing() -> str | None:
    if not shutil.which("pspp"):
        return "GNU PSPP (Debian's pspp) is not installed"
    return None


SERVICE_CHECKS = {
    "postgres": _postgres_missing,
    "redis": _redis_reachable,
    "celery_worker": _redis_reachable,
    "browser": _browser_missing,
    "cairo": _cairo_missing,
    "pspp": _pspp_missing,
}


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker, check in SERVICE_CHECKS.items():
        if item.get_closest_marker(marker) is None:
            continue
        missing = check()
        if missing is None:
            continue
        message = f"needs {marker}: {missing}"
        if REQUIRE_SERVICES:
            pytest.fail(f"{message} (REQUIRE_SERVICES=1 forbids skipping)", pytrace=False)
        pytest.skip(message)


@pytest.fixture(autouse=True)
def no_questionnaire_remembered():
    """No test's submission uses a questionnaire an earlier test's submission remembered."""
    from wenji.access import remembered_questionnaires_clear

    remembered_questionnaires_clear()


@pytest.fixture(autouse=True)
def no_new_data_window_known():
    """No test counts on a delayed analysis trigger that an earlier test sent."""
    from survey.services.notify import new_data_windows_forget

    new_data_windows_forget()


@pytest.fixture
def redis_commands(monkeypatch):
    """``record(*names)``: from now on, the list of those commands the cache's Redis client
    sends (by this process only, unlike Redis's server-wide counters)."""

    def record(*names: str) -> list[str]:
        from django.core.cache import cache

        client_class = type(cache._cache.get_client(write=True))
        execute = client_class.execute_command
        sent: list[str] = []

        def spy(self, *args, **options):
            if args[0] in names:
                sent.append(args[0])
            return execute(self, *args, **options)

        monkeypatch.setattr(client_class, "execute_command", spy)
        return sent

    return record


@pytest.fixture(scope="session")
def reference_definition_path() -> Path:
    """The reference questionnaire file shipped in the repo (a copy of shared/reference's)."""
    return EXAMPLE_DEFINITION


@pytest.fixture
def ipb_draft(db, reference_definition_path):
    """The reference questionnaire, imported through the service, still a draft."""
    from survey.interchange import load_definition
    from survey.services.questionnaires import questionnaire_import

    definition = load_definition(reference_definition_path.read_text(encoding="utf-8"))
    return questionnaire_import(definition=definition)


@pytest.fixture
def ipb(ipb_draft):
    """The reference questionnaire, open for submissions."""
    from survey.services.questionnaires import questionnaire_publish

    return questionnaire_publish(questionnaire=ipb_draft)


# One headless Chromium per session, shared by every browser test (Playwright's sync API
# cannot run twice at once in one thread).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


# --- people and API clients -------------------------------------------------------------------


@pytest.fixture
def make_user(db):
    """A user with the given roles (group names), granted the given questionnaires; with
    ``identity=True`` also the ``view_respondent_identity`` permission."""
    from django.contrib.auth.models import Group, Permission, User

    from survey.models import QuestionnaireAccess

    def make(
        name: str,
        *roles: str,
        grants: tuple = (),
        superuser: bool = False,
        identity: bool = False,
    ) -> User:
        user = User.objects.create_user(name, password=None, is_superuser=superuser)
        user.groups.add(*(Group.objects.get_or_create(name=role)[0] for role in roles))
        for questionnaire in grants:
            QuestionnaireAccess.objects.create(user=user, questionnaire=questionnaire)
        if identity:
            user.user_permissions.add(
                Permission.objects.get(
                    codename="view_respondent_identity", content_type__app_label="survey"
                )
            )
        return User.objects.get(pk=user.pk)  # no cached permissions

    return make


@pytest.fixture
def client_for():
    """An API client authenticated by the user's token (anonymous for None)."""
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    def build(user) -> APIClient:
        client = APIClient()
        if user is not None:
            token, _created = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return build


@pytest.fixture
def analyst(make_user, ipb):
    return make_user("analyst", "analyst", grants=(ipb,))


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Chromium for the session. Playwright's own default of disabling the
    back/forward cache is dropped: the form's back-button handling is tested with it.

    Playwright's sync API keeps an asyncio loop running in this thread, which Django's
    async-safety check mistakes for async code calling the ORM (fixtures, flushes); the
    check is switched off for the browser tests only, as Playwright's docs advise.
    """
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            ignore_default_args=["--disable-back-forward-cache"],
        )
        try:
            yield chromium
        finally:
            chromium.close()
            if previous is None:
                os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
            else:
                os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


# --- language and outside services ------------------------------------------------------------


@pytest.fixture
def english(settings):
    """For tests that read messages in English (Chinese is checked in tests/test_translations.py):
    ``pytestmark = pytest.mark.usefixtures("english")``."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def fake_wechat(settings):
    """WeChat configured and pointed at a local fake (a fresh app id per test, so cached
    tokens of one test never serve another)."""
    import secrets

    from django.core.cache import cache

    from tests.fakes.wechat import FakeWeChat

    fake = FakeWeChat(app_id="wx" + secrets.token_hex(8), app_secret=secrets.token_hex(16))
    fake.start()
    settings.WECHAT_APP_ID = fake.app_id
    settings.WECHAT_APP_SECRET = fake.app_secret
    settings.WECHAT_API_BASE = fake.base_url
    settings.WECHAT_OPEN_BASE = fake.base_url
    try:
        yield fake
    finally:
        fake.stop()
        cache.delete_many(
            [f"wechat:{what}:{fake.app_id}" for what in ("access_token", "jsapi_ticket")]
        )


@pytest.fixture
def keep_test_connection():
    """The WSGI app closes the database connection after each request (as in production),
    which would end the test's transaction on PostgreSQL; Django's own test client turns
    that off the same way (for tests that call the app through WSGI, e.g. schemathesis)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)
