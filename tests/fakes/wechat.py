"""A local stand-in for WeChat's OAuth and API endpoints, for tests.

A tiny threaded ``http.server`` on 127.0.0.1 with a random port, serving the three calls the
form makes plus the authorize page (which WeChat shows inside its app; here it redirects
straight back with a fresh code, as the silent ``snsapi_base`` scope does):

- ``GET /connect/oauth2/authorize?appid&redirect_uri&response_type=code&scope&state``
  → 302 to ``redirect_uri?code=…&state=…``;
- ``GET /sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code``
  → ``{"openid": …}``; a code works once (then errcode 40163, as WeChat answers);
- ``GET /cgi-bin/token?grant_type=client_credential&appid&secret`` → an access token;
- ``GET /cgi-bin/ticket/getticket?access_token&type=jsapi`` → a jsapi ticket.

Wrong app id or secret → errcode 40125/40013. ``fail[path] = errcode`` makes every call to
that path answer with the error; ``calls`` counts calls per path.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

AUTHORIZE = "/connect/oauth2/authorize"
CODE_EXCHANGE = "/sns/oauth2/access_token"
TOKEN = "/cgi-bin/token"
TICKET = "/cgi-bin/ticket/getticket"


class FakeWeChat:
    """Start with ``start()``, stop with ``stop()``; ``base_url`` is for both settings."""

    def __init__(self, *, app_id: str, app_secret: str, openid: str = "oFake-openid-0001") -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.openid = openid
        self.codes: dict[str, str] = {}  # code → openid, until exchanged
        self.used_codes: set[str] = set()
        self.access_tokens: set[str] = set()
        self.ticket = "fake-jsapi-ticket-" + secrets.token_hex(8)
        self.calls: Counter[str] = Counter()
        self.fail: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeWeChat:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._handle(self)

            def log_message(self, format: str, *args: object) -> None:
                pass  # quiet tests

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def new_code(self, openid: str | None = None) -> str:
        code = "code-" + secrets.token_hex(8)
        with self._lock:
            self.codes[code] = openid or self.openid
        return code

    # --- the endpoints ----------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        with self._lock:
            self.calls[parts.path] += 1
        if parts.path in self.fail:
            self._json(request, {"errcode": self.fail[parts.path], "errmsg": "fake failure"})
            return
        handler = {
            AUTHORIZE: self._authorize,
            CODE_EXCHANGE: self._exchange,
            TOKEN: self._token,
            TICKET: self._ticket,
        }.get(parts.path)
        if handler is None:
            request.send_error(404)
            return
        handler(request, query)

    def _authorize(self, request: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        if query.get("appid") != self.app_id or query.get("scope") != "snsapi_base":
            request.send_error(400, "bad appid or scope")
            return
        back = query["redirect_uri"]
        params = urlencode({"code": self.new_code(), "state": query.get("state", "")})
        request.send_response(302)
        request.send_header("Location", f"{back}{'&' if '?' in back else '?'}{params}")
        request.end_headers()

    def _exchange(self, request: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        if not self._app_ok(query) or query.get("grant_type") != "authorization_code":
            self._json(request, {"errcode": 40125, "errmsg": "invalid appsecret"})
            return
        code = query.get("code", "")
        with self._lock:
            if code in self.used_codes:
                reply = {"errcode": 40163, "errmsg": "code been used"}
            elif code not in self.codes:
                reply = {"errcode": 40029, "errmsg": "invalid code"}
            else:
                self.used_codes.add(code)
                reply = {
                    "access_token": "user-token-" + secrets.token_hex(6),
                    "expires_in": 7200,
                    "refresh_token": "refresh-" + secrets.token_hex(6),
                    "openid": self.codes.pop(code),
                    "scope": "snsapi_base",
                }
        self._json(request, reply)

    def _token(self, request: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        if not self._app_ok(query) or query.get("grant_type") != "client_credential":
            self._json(request, {"errcode": 40013, "errmsg": "invalid appid"})
            return
        token = "app-token-" + secrets.token_hex(8)
        with self._lock:
            self.access_tokens.add(token)
        self._json(request, {"access_token": token, "expires_in": 7200})

    def _ticket(self, request: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        if query.get("access_token") not in self.access_tokens or query.get("type") != "jsapi":
            self._json(request, {"errcode": 40001, "errmsg": "invalid credential"})
            return
        self._json(
            request, {"errcode": 0, "errmsg": "ok", "ticket": self.ticket, "expires_in": 7200}
        )

    def _app_ok(self, query: dict[str, str]) -> bool:
        return query.get("appid") == self.app_id and query.get("secret") == self.app_secret

    @staticmethod
    def _json(request: BaseHTTPRequestHandler, payload: dict) -> None:
        body = json.dumps(payload).encode()
        request.send_response(200)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)
