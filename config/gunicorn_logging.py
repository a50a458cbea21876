"""gunicorn's access log without personal data (``gunicorn.conf.py`` names this class).

Every line keeps what operations need (time, method, path, status, size, duration) and drops
what identifies a person: the client address becomes a short keyed hash (``wenji.hashing``,
the same key as everywhere; enough to tell clients apart, not to find who they are), the user
agent, the referer and every header atom are gone, and the values of query parameters that
carry secrets (WeChat's OAuth ``code`` and ``state``, tokens, tickets, keys) are redacted.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

from gunicorn import glogging

REDACTED = "[redacted]"
_SECRET_KEY = re.compile(r"code|state|token|ticket|secret|password|key|signature|openid", re.I)


def redact_query(query: str) -> str:
    """The query string with the values of secret-looking parameters replaced."""
    if not query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(k, REDACTED if _SECRET_KEY.search(k) else v) for k, v in pairs], safe="[]")


def redact_uri(uri: str) -> str:
    path, _, query = uri.partition("?")
    return f"{path}?{redact_query(query)}" if query else path


def address_hash(address: str | None) -> str:
    if not address:
        return "-"
    from wenji.hashing import ip_hash  # Django's settings are loaded in the workers by now

    return "ip:" + ip_hash(address)[:16]


class PrivateAccessLogger(glogging.Logger):
    def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        atoms = {k: v for k, v in atoms.items() if not k.startswith("{")}  # headers, environ
        raw_uri = redact_uri(environ.get("RAW_URI", ""))
        atoms.update(
            h=address_hash(environ.get("REMOTE_ADDR")),
            a="-",
            f="-",
            q=redact_query(environ.get("QUERY_STRING", "")),
            r=f"{environ.get('REQUEST_METHOD')} {raw_uri} {environ.get('SERVER_PROTOCOL')}",
        )
        return atoms
