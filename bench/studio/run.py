"""Studio benchmark: what the builder weighs on the reference questionnaire, and how long one
edit takes, through Django's full request stack (middleware, sessions, CSRF, the rulebook and
the draft's row lock) against PostgreSQL.

    .venv/bin/python bench/studio/run.py [--edits 200] [--db wenji_bench_studio]

It creates the database ``wenji_bench_studio`` afresh, migrates it, imports and publishes the
reference questionnaire, logs an admin in, and then:

- **page weight**: the builder's HTML for one question (``/studio/ipb-survey/?q=Q5``, the
  largest editor: a matrix) and every stylesheet, script and image it asks for, each
  gzip-compressed as WhiteNoise serves them; the number of requests;
- **edit round trip**: ``--edits`` times, the autosave POST that saves that question (a label
  that changes each time) into the draft as the admin types, answered in JSON; and the Save
  button's POST with the GET of the builder it redirects to; p50, p95 and max in ms.

Goals (the Studio issue): at most 150 KB compressed and 10 requests; p95 of an edit at most
100 ms. Not a test: it prints its figures and ends with one JSON line.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import statistics
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
PG = "postgres://postgres@127.0.0.1:5432"
PAGE = "/studio/ipb-survey/?q=Q5"
SAVE = "/studio/ipb-survey/questions/Q5/"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--db", default="wenji_bench_studio")
    return parser.parse_args()


def setup(db: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}"')
        conn.execute(f'CREATE DATABASE "{db}"')
    os.environ.update(
        DATABASE_URL=f"{PG}/{db}",
        SECRET_KEY="bench-" + "k" * 50,
        IDENTITY_HASH_KEY="bench-identity-key-" + "i" * 32,
        DEBUG="false",
        SECURE_SSL_REDIRECT="false",
        ALLOWED_HOSTS="testserver",
        LOG_LEVEL="WARNING",
        CELERY_TASK_ALWAYS_EAGER="true",
        REDIS_URL="",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


class _EditorForm(HTMLParser):
    """The fields of the editor's form in the builder's HTML, as a browser would post them."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.data: dict[str, str] = {}
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        found = dict(attrs)
        if tag == "form" and (found.get("action") or "").endswith("/questions/Q5/"):
            self.inside = True
        if not self.inside or "name" not in found:
            return
        if tag == "input" and found.get("type") == "checkbox":
            if "checked" in found:
                self.data[found["name"]] = "on"
        elif tag == "input":
            self.data[found["name"]] = found.get("value") or ""
        elif tag == "textarea":
            self.textarea = found["name"]
            self.data[self.textarea] = ""

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.data[self.textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self.textarea = None
        if tag == "form":
            self.inside = False


def editor_data(html: bytes) -> dict:
    parser = _EditorForm()
    parser.feed(html.decode())
    return parser.data


def page_weight(client) -> dict:
    from django.contrib.staticfiles import finders  # the files as they are in static/

    html = client.get(PAGE).content
    sizes = {"page": (len(html), len(gzip.compress(html, 9)))}
    frames = re.findall(rb'<iframe src="([^"#]+)', html)  # the live preview, framed
    pages = [html]
    for frame in frames:
        body = client.get(frame.decode()).content
        sizes[frame.decode()] = (len(body), len(gzip.compress(body, 9)))
        pages.append(body)
    assets = dict.fromkeys(
        a for page in pages for a in re.findall(rb'(?:href|src)="(/static/[^"]+)"', page)
    )
    for asset in assets:
        path = finders.find(asset.decode().removeprefix("/static/").split("?")[0])
        body = Path(path).read_bytes()
        sizes[asset.decode()] = (len(body), len(gzip.compress(body, 9)))
    for name, (raw, packed) in sizes.items():
        print(f"  {name:<40} {raw / 1024:7.1f} KB  {packed / 1024:6.1f} KB gzip")
    total = sum(packed for _raw, packed in sizes.values())
    return {"requests": len(sizes), "kb_gzip": round(total / 1024, 1)}


def _percentiles(timings: list[float], prefix: str) -> dict:
    timings = sorted(timings)
    return {
        f"{prefix}p50_ms": round(statistics.median(timings), 1),
        f"{prefix}p95_ms": round(timings[int(len(timings) * 0.95) - 1], 1),
        f"{prefix}max_ms": round(timings[-1], 1),
    }


def edits(client, count: int) -> dict:
    """Each edit twice: as the builder makes it while the admin types (the autosave POST,
    answered in JSON), and as the Save button does (POST, then the page it redirects to)."""
    autosave, reload = [], []
    for n in range(count):
        data = editor_data(client.get(PAGE).content)
        data["q-label_zh-hans"] = f"您对使用过的党建学习类APP以下方面的评价是？（{n}）"
        start = time.perf_counter()
        answered = client.post(SAVE, data, HTTP_X_AUTOSAVE="1")
        autosave.append((time.perf_counter() - start) * 1000)
        if answered.status_code != 200:
            raise SystemExit(f"autosave {n} was refused: {answered.status_code}")
        data["etag"] = answered.json()["etag"]
        data["q-label_zh-hans"] += "。"
        start = time.perf_counter()
        saved = client.post(SAVE, data)
        client.get(saved["Location"])
        reload.append((time.perf_counter() - start) * 1000)
        if saved.status_code != 302:
            raise SystemExit(f"edit {n} was refused: {saved.status_code}")
    return {**_percentiles(autosave, ""), **_percentiles(reload, "save_reload_")}


def main() -> None:
    args = parse_args()
    setup(args.db)
    from django.contrib.auth.models import Group, User
    from django.test import Client

    from survey.interchange import load_definition
    from survey.services.questionnaires import questionnaire_import, questionnaire_publish

    text = (ROOT / "examples" / "ipb-survey.yaml").read_text(encoding="utf-8")
    questionnaire_publish(questionnaire=questionnaire_import(definition=load_definition(text)))
    admin = User.objects.create_user("bench-studio", password=None)
    admin.groups.add(Group.objects.get_or_create(name="admin")[0])
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(admin)

    print(f"builder page {PAGE}:")
    weight = page_weight(client)
    print(f"  {weight['requests']} requests, {weight['kb_gzip']} KB gzip (goal ≤ 10, ≤ 150 KB)")
    print(f"\n{args.edits} edits of Q5 saved into the draft:")
    timing = edits(client, args.edits)
    print(
        f"  autosave (one edit's round trip): p50 {timing['p50_ms']} ms, "
        f"p95 {timing['p95_ms']} ms (goal ≤ 100), max {timing['max_ms']} ms"
    )
    print(
        f"  Save button (POST + the page it redirects to): p50 {timing['save_reload_p50_ms']} "
        f"ms, p95 {timing['save_reload_p95_ms']} ms, max {timing['save_reload_max_ms']} ms"
    )
    result = {
        "bench": "studio",
        "n": args.edits,
        **weight,
        **timing,
        "limit_kb_gzip": 150,
        "limit_requests": 10,
        "limit_p95_ms": 100,
        "machine": f"{platform.machine()} {os.cpu_count()} cpu, Python {platform.python_version()}",
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
