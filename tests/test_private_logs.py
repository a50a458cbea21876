"""The access log holds no raw client address, user agent or secret query value: gunicorn started
as the web service starts it, asked what a WeChat sign-in and a browser ask, its log read back."""

from __future__ import annotations

import http.client
import subprocess
import time

from config.gunicorn_logging import REDACTED, redact_query, redact_uri
from tests.test_compose import (
    REPO_ROOT,
    VENV_BIN,
    compose,  # noqa: F401  (fixtures)
    free_port,
    production_variables,
    services,  # noqa: F401
)
from tests.test_settings import clean_env, generated_keys

USER_AGENT = "Mozilla/5.0 (iPhone) MicroMessenger/8.0.50 SecretAgentMarker"
OAUTH = "/s/ipb-survey/?code=OAUTHCODEMARKER&state=STATEMARKER&lang=en"


def test_secret_query_values_are_redacted_and_others_kept():
    assert redact_query("code=abc&state=x&lang=en") == f"code={REDACTED}&state={REDACTED}&lang=en"
    assert redact_uri("/api/?access_token=t1&page=2") == "/api/?access_token=[redacted]&page=2"
    assert redact_uri("/s/ipb-survey/") == "/s/ipb-survey/"


def _get(port: int, path: str) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"User-Agent": USER_AGENT, "Host": "localhost"})
        connection.getresponse().read()
    finally:
        connection.close()


def test_the_access_log_of_gunicorn_holds_no_raw_identifier(services, tmp_path):  # noqa: F811
    port = free_port()
    serve = services["web"]["command"][2].split("exec ", 1)[1]
    serve = serve.replace("0.0.0.0:8000", f"127.0.0.1:{port}")
    variables = {
        **production_variables(),
        **generated_keys(),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'web.sqlite3'}",
        "WEB_CONCURRENCY": "1",
        "ALLOWED_HOSTS": "localhost",
        "SECURE_SSL_REDIRECT": "false",
    }
    env = clean_env(**variables)
    env["PATH"] = f"{VENV_BIN}:{env['PATH']}"
    log = tmp_path / "access.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            ["sh", "-c", f"exec {serve}"],
            cwd=REPO_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    _get(port, "/healthz")
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            _get(port, OAUTH)
            _get(port, "/api/v1/questionnaires/ipb-survey/definition/?token=TOKENMARKER")
            time.sleep(0.5)
        finally:
            server.terminate()
            server.wait(timeout=30)

    # gunicorn's own start-up line names the address it listens on; that is not a client's.
    text = "\n".join(line for line in log.read_text().splitlines() if "Listening at" not in line)
    lines = [line for line in text.splitlines() if '"GET ' in line]
    assert len(lines) >= 3, text
    markers = ("127.0.0.1", "SecretAgentMarker", "OAUTHCODEMARKER", "STATEMARKER", "TOKENMARKER")
    for marker in markers:
        assert marker not in text, marker
    assert all(line.startswith("ip:") for line in lines), lines
    assert any("code=[redacted]&state=[redacted]&lang=en" in line for line in lines), lines
