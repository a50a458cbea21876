"""What the form costs a phone on a slow network: bytes, requests, hosts, cache headers."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MAX_BYTES = 30 * 1024
MAX_REQUESTS = 4


def test_the_form_and_everything_it_loads_fit_in_30_kb_and_4_requests(ipb, server, phone):
    page = phone.new_page()
    finished = []
    page.on("requestfinished", lambda request: finished.append(request))
    page.goto(server("/s/ipb-survey/"), wait_until="networkidle")

    hosts = {urlsplit(request.url).netloc for request in finished}
    assert hosts == {server.host}, hosts
    assert len(finished) <= MAX_REQUESTS, [r.url for r in finished]
    sizes = [request.sizes() for request in finished]
    transferred = sum(s["responseBodySize"] + s["responseHeadersSize"] for s in sizes)
    print(
        f"\nform page: {len(finished)} requests, {transferred} bytes transferred "
        + ", ".join(
            f"{urlsplit(r.url).path}={s['responseBodySize']}"
            for r, s in zip(finished, sizes, strict=True)
        )
    )
    assert transferred <= MAX_BYTES

    responses = {urlsplit(request.url).path: request.response() for request in finished}
    html = responses["/s/ipb-survey/"]
    assert html.headers["content-encoding"] == "gzip"
    assert html.headers["cache-control"] == "private, no-cache"
    statics = [path for path in responses if path.startswith("/static/")]
    assert len(statics) == 2  # form.css and form.js, nothing else
    for path in statics:
        headers = responses[path].headers
        name = path.rsplit("/", 1)[1]
        assert len(name.split(".")) == 3, f"{name} has no content hash"
        assert headers["content-encoding"] == "gzip"
        assert "max-age=31536000" in headers["cache-control"]
        assert "immutable" in headers["cache-control"]


def test_a_second_visit_loads_the_static_files_from_the_cache(ipb, server, phone):
    page = phone.new_page()
    page.goto(server("/s/ipb-survey/"), wait_until="networkidle")
    assert len(server.seen) == 3
    page.goto(server("/s/ipb-survey/thanks/"), wait_until="networkidle")
    assert server.seen[3:] == [("GET", "/s/ipb-survey/thanks/")]
