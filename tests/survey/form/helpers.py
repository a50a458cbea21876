"""Reading the form page and building POST bodies from answers objects, for the form tests."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

FORM_URL = "/s/ipb-survey/"


class _Elements(HTMLParser):
    """Every start tag with its attributes, in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {key: value or "" for key, value in attrs}))


def elements(html: str, tag: str | None = None) -> list[dict[str, str]]:
    parser = _Elements()
    parser.feed(html)
    return [attrs | {"<tag>": name} for name, attrs in parser.tags if tag in (None, name)]


def hidden_fields(html: str) -> dict[str, str]:
    """start_token and submission_id of the main form."""
    return {
        attrs["name"]: attrs.get("value", "")
        for attrs in elements(html, "input")
        if attrs.get("type") == "hidden" and attrs.get("name") in ("start_token", "submission_id")
    }


def post_data(answers: dict[str, Any], fields: dict[str, str]) -> dict[str, Any]:
    """The POST body a browser sends for these answers (the format's JSON shape)."""
    data: dict[str, Any] = dict(fields)
    for code, value in answers.items():
        if isinstance(value, list):
            data[code] = [str(v) for v in value]
        elif isinstance(value, dict):
            for item, cell in value.items():
                data[f"{code}.{item}"] = str(cell)
        else:
            data[code] = str(value)
    return data


def open_form(client, url: str = FORM_URL, **headers: str) -> tuple[Any, dict[str, str]]:
    response = client.get(url, **headers)
    assert response.status_code == 200, response.status_code
    return response, hidden_fields(response.content.decode())


def markup(response) -> str:
    """The page without the script's JSON config (which lists every message the script may
    show), so that assertions read what is on the page."""
    html = response.content.decode()
    start = html.find('<script id="wf-config"')
    return html if start < 0 else html[:start] + html[html.index("</script>", start) + 9 :]
