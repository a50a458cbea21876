"""Static files are compressed under ``python3 -m wenji up`` too (DEBUG, no collectstatic:
WhiteNoise serves the apps' own files), and an unchanged one is a 304; plain names are
revalidated rather than cached for a year (an upgrade must reach the phone)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from django.test import Client, override_settings

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.django_db

SCRIPT = "/static/survey/form.js"


@pytest.fixture
def debug_static():
    # what settings.py gives with DEBUG=true (read by WhiteNoise when a client's handler starts)
    with override_settings(
        DEBUG=True, WHITENOISE_AUTOREFRESH=True, WHITENOISE_USE_FINDERS=True, WHITENOISE_MAX_AGE=0
    ):
        yield Client()


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_the_form_script_is_gzipped_and_revalidated(debug_static):
    response = debug_static.get(SCRIPT, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "max-age=0" in response["Cache-Control"]
    original = (REPO_ROOT / "static" / "survey" / "form.js").read_bytes()
    compressed = body_of(response)
    assert gzip.decompress(compressed) == original and len(compressed) < len(original) / 2
    again = debug_static.get(
        SCRIPT, HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=response["ETag"]
    )
    assert again.status_code == 304


def test_a_client_without_gzip_gets_the_plain_file(debug_static):
    response = debug_static.get(SCRIPT)
    assert "Content-Encoding" not in response
    assert body_of(response) == Path(REPO_ROOT / "static/survey/form.js").read_bytes()
