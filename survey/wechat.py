"""WeChat: silent ``snsapi_base`` OAuth for the respondent's openid, and the JS-SDK signature
for the share card.

Promises:
- nothing here raises on WeChat's behalf: a timeout, a refused connection, a non-JSON body or
  an ``errcode`` reply is logged (without the app secret, the code, tokens or the openid) and
  comes back as None, which the form reads as "no identity from WeChat" / "no share card";
- the access token and the jsapi ticket are fetched at most once per lifetime (both last
  7200 s) and cached in the Django cache for ``expires_in - 300`` seconds;
- a code is exchanged once; WeChat refuses a reused one, and so the caller gets None.

HTTP goes through ``urllib.request`` with a short timeout to ``settings.WECHAT_API_BASE``;
tests point it (and ``WECHAT_OPEN_BASE``) at ``tests/fakes/wechat.py``.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

logger = logging.getLogger(__name__)

HTTP_TIMEOUT_SECONDS = 3
CACHE_MARGIN_SECONDS = 300
MIN_CACHE_SECONDS = 60
USER_AGENT_MARK = "MicroMessenger"
SHARE_APIS = ("updateAppMessageShareData", "updateTimelineShareData")


def wechat_configured() -> bool:
    return bool(settings.WECHAT_APP_ID and settings.WECHAT_APP_SECRET)


def wechat_browser(request: HttpRequest) -> bool:
    """Inside WeChat's built-in browser (its user agent says MicroMessenger)."""
    return USER_AGENT_MARK in request.headers.get("User-Agent", "")


def wechat_active(request: HttpRequest) -> bool:
    """WeChat features apply: the app is configured and the page is open inside WeChat."""
    return wechat_configured() and wechat_browser(request)


def wechat_state_new() -> str:
    return secrets.token_urlsafe(18)


def wechat_authorize_url(*, redirect_uri: str, state: str) -> str:
    """Where to send the browser for a silent openid (``snsapi_base`` asks the user nothing)."""
    query = urlencode(
        {
            "appid": settings.WECHAT_APP_ID,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": "snsapi_base",
            "state": state,
        }
    )
    return f"{settings.WECHAT_OPEN_BASE}/connect/oauth2/authorize?{query}#wechat_redirect"


def wechat_openid_exchange(*, code: str) -> str | None:
    """The openid the OAuth ``code`` stands for, or None (bad, reused or expired code, or
    WeChat unreachable)."""
    if not code or len(code) > 512:
        return None
    reply = _get_json(
        "/sns/oauth2/access_token",
        {
            "appid": settings.WECHAT_APP_ID,
            "secret": settings.WECHAT_APP_SECRET,
            "code": code,
            "grant_type": "authorization_code",
        },
        what="oauth code exchange",
    )
    openid = reply.get("openid") if reply else None
    return openid if isinstance(openid, str) and 0 < len(openid) <= 128 else None


def wechat_access_token() -> str | None:
    """The app's access token (client_credential), cached below its lifetime."""
    key = f"wechat:access_token:{settings.WECHAT_APP_ID}"
    token = cache.get(key)
    if token:
        return token
    reply = _get_json(
        "/cgi-bin/token",
        {
            "grant_type": "client_credential",
            "appid": settings.WECHAT_APP_ID,
            "secret": settings.WECHAT_APP_SECRET,
        },
        what="access token",
    )
    return _cache_reply(key, reply, "access_token")


def wechat_jsapi_ticket() -> str | None:
    """The JS-SDK ticket, cached below its lifetime; None when WeChat does not give one."""
    key = f"wechat:jsapi_ticket:{settings.WECHAT_APP_ID}"
    ticket = cache.get(key)
    if ticket:
        return ticket
    access_token = wechat_access_token()
    if access_token is None:
        return None
    reply = _get_json(
        "/cgi-bin/ticket/getticket",
        {"access_token": access_token, "type": "jsapi"},
        what="jsapi ticket",
    )
    return _cache_reply(key, reply, "ticket")


@dataclass(frozen=True)
class JsSdkConfig:
    """What ``wx.config`` needs; the ticket itself never leaves the server."""

    app_id: str
    timestamp: int
    nonce_str: str
    signature: str

    def as_json(self) -> dict[str, object]:
        return {
            "appId": self.app_id,
            "timestamp": self.timestamp,
            "nonceStr": self.nonce_str,
            "signature": self.signature,
            "jsApiList": list(SHARE_APIS),
        }


def jsapi_signature(*, ticket: str, nonce_str: str, timestamp: int, url: str) -> str:
    """WeChat's JS-SDK signature: sha1 of the four fields in this order, the URL without its
    fragment."""
    url = url.split("#", 1)[0]
    text = f"jsapi_ticket={ticket}&noncestr={nonce_str}&timestamp={timestamp}&url={url}"
    return hashlib.sha1(text.encode()).hexdigest()


def wechat_js_config(*, url: str) -> JsSdkConfig | None:
    """A signed JS-SDK config for the page at ``url``, or None when WeChat is not reachable."""
    ticket = wechat_jsapi_ticket()
    if ticket is None:
        return None
    nonce_str = secrets.token_hex(8)
    timestamp = int(time.time())
    signature = jsapi_signature(ticket=ticket, nonce_str=nonce_str, timestamp=timestamp, url=url)
    return JsSdkConfig(settings.WECHAT_APP_ID, timestamp, nonce_str, signature)


def _cache_reply(key: str, reply: dict | None, field: str) -> str | None:
    value = reply.get(field) if reply else None
    if not isinstance(value, str) or not value:
        return None
    try:
        expires_in = int(reply.get("expires_in", 7200))
    except (TypeError, ValueError):
        expires_in = 7200
    cache.set(key, value, timeout=max(expires_in - CACHE_MARGIN_SECONDS, MIN_CACHE_SECONDS))
    return value


def _get_json(path: str, params: dict[str, str], *, what: str) -> dict | None:
    """GET ``WECHAT_API_BASE + path`` and the JSON object it answers, or None on any failure.

    Logs say which call failed and WeChat's errcode/errmsg, never the URL (it carries the
    secret, the code or a token).
    """
    url = f"{settings.WECHAT_API_BASE}{path}?{urlencode(params)}"
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
            body = response.read(64 * 1024)
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        logger.warning("wechat %s failed: %s", what, type(exc).__name__)
        return None
    try:
        reply = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        logger.warning("wechat %s: the reply is not JSON", what)
        return None
    if not isinstance(reply, dict):
        logger.warning("wechat %s: the reply is not a JSON object", what)
        return None
    if reply.get("errcode"):
        errmsg = str(reply.get("errmsg", ""))[:200]
        logger.warning("wechat %s refused: errcode=%s %s", what, reply.get("errcode"), errmsg)
        return None
    return reply
