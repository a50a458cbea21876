"""Real-browser fixtures: Debian's headless Chromium driven by Playwright, against the app
served as in production: DEBUG off, static files collected (hashed, pre-compressed) into a
temporary STATIC_ROOT and served by WhiteNoise, not by a test-only static handler.

The server is Django's LiveServerThread running the plain WSGI application; tests using it
need ``@pytest.mark.django_db(transaction=True)`` (the server thread sees only committed
rows, or shares the in-memory SQLite connection as pytest-django's live_server does).
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import django.contrib.admin
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django.test import override_settings
from django.test.testcases import LiveServerThread

from tests.conftest import REPO_ROOT

WECHAT_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2f) NetType/WIFI "
    "Language/zh_CN"
)
PHONE = {"width": 375, "height": 667}
ARTIFACTS = REPO_ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``collectstatic`` of the project's own static files and the admin's (its pages are
    tested here too) into a temporary STATIC_ROOT; the storage, hashing and compression are the
    production ones. Not the API docs' bundles: other tests look those up by their plain names,
    which a manifest listing them would hash.
    """
    root = tmp_path_factory.mktemp("static")
    overrides = override_settings(STATIC_ROOT=root)
    overrides.enable()
    try:
        # Only around collectstatic: other tests of the session look static files up too.
        admin_static = Path(django.contrib.admin.__file__).resolve().parent / "static"
        with override_settings(
            STATICFILES_FINDERS=["django.contrib.staticfiles.finders.FileSystemFinder"],
            STATICFILES_DIRS=[*settings.STATICFILES_DIRS, admin_static],
        ):
            call_command("collectstatic", interactive=False, verbosity=0)
        yield root
    finally:
        overrides.disable()
        shutil.rmtree(root, ignore_errors=True)


class _PlainApp:
    """LiveServerThread wraps the app in a static handler; this one passes everything on, so
    WhiteNoise (in MIDDLEWARE) serves /static/ as it does in production. It also notes each
    request's method and path (``Server.seen``)."""

    seen: list[tuple[str, str]] = []

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        self.seen.append((environ["REQUEST_METHOD"], environ["PATH_INFO"]))
        return self.application(environ, start_response)


@dataclass
class Server:
    url: str
    seen: list[tuple[str, str]]
    host: str = field(init=False)

    def __post_init__(self) -> None:
        self.host = urlsplit(self.url).netloc

    def __call__(self, path: str) -> str:
        return f"{self.url}{path}"


@pytest.fixture
def server(collected_static: Path, transactional_db: None) -> Iterator[Server]:
    """The app on a random port of 127.0.0.1, for one test."""
    shared = {
        conn.alias: conn
        for conn in connections.all()
        if conn.vendor == "sqlite" and conn.is_in_memory_db()
    }
    thread = LiveServerThread("127.0.0.1", _PlainApp, connections_override=shared, port=0)
    thread.daemon = True
    for conn in shared.values():
        conn.inc_thread_sharing()
    thread.start()
    thread.is_ready.wait()
    try:
        if thread.error:
            raise thread.error
        _PlainApp.seen = []
        yield Server(f"http://127.0.0.1:{thread.port}", _PlainApp.seen)
    finally:
        thread.terminate()
        # Request threads finish closing their connections before the sharing ends.
        for other in threading.enumerate():
            if other.name.endswith("(process_request_thread)"):
                other.join(timeout=5)
        for conn in shared.values():
            conn.dec_thread_sharing()


@pytest.fixture
def new_context(browser, server: Server) -> Iterator[Callable[..., object]]:
    """Make browser contexts (phone-sized, inside WeChat by default); all are closed before
    the server stops, so no request is left half-served."""
    contexts = []

    def make(**options: object) -> object:
        options = {"viewport": PHONE, "user_agent": WECHAT_UA} | options
        context = browser.new_context(**options)
        contexts.append(context)
        return context

    try:
        yield make
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def phone(new_context) -> object:
    """A fresh phone-sized context inside WeChat (by its user agent), JavaScript on."""
    return new_context(locale="zh-CN", device_scale_factor=2)


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
