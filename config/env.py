"""Strict parsers for settings read from environment variables.

Each parser refuses a value it does not understand instead of guessing: a typo in
production configuration must stop the process at start-up, not change behaviour silently.
A variable that is unset or blank (``NAME=`` in an env file) takes the default.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
_POSTGRES_SCHEMES = {"postgres", "postgresql", "pgsql"}


def _raw(name: str) -> str | None:
    """The stripped value of ``name``, or None when it is unset or blank."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    return raw.strip()


def env_str(name: str, default: str = "") -> str:
    """The stripped value of ``name``; ``default`` when unset or blank."""
    raw = _raw(name)
    return default if raw is None else raw


def env_bool(name: str, default: bool) -> bool:
    """true/1/yes/on or false/0/no/off (any case); anything else is refused."""
    raw = _raw(name)
    if raw is None:
        return default
    value = raw.lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    """A whole number, at least ``minimum`` when given; the default is not checked."""
    raw = _raw(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    """Comma-separated values, stripped, empty items dropped."""
    raw = _raw(name)
    if raw is None:
        return list(default or [])
    return [part.strip() for part in raw.split(",") if part.strip()]


def env_choice(name: str, default: str, choices: Iterable[str]) -> str:
    """One of ``choices`` (compared case-insensitively, returned as spelled in ``choices``)."""
    allowed = {choice.lower(): choice for choice in choices}
    raw = _raw(name)
    if raw is None:
        return default
    if raw.lower() not in allowed:
        raise ImproperlyConfigured(
            f"{name} must be one of {', '.join(allowed.values())}, got {raw!r}"
        )
    return allowed[raw.lower()]


def env_url(name: str, default: str) -> str:
    """An absolute http(s) URL without a trailing slash (so callers can append paths)."""
    value = env_str(name, default)
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ImproperlyConfigured(f"{name} must be an http:// or https:// URL, got {value!r}")
    return value.rstrip("/")


def parse_database_url(url: str) -> dict[str, Any]:
    """Turn ``postgres://u:p@host:port/name?opt=v`` or ``sqlite:///path`` into a DATABASES entry.

    Query options go to the driver (``sslmode=require``), except ``conn_max_age`` (seconds a
    connection is reused, default 60). Anything malformed raises ImproperlyConfigured naming
    DATABASE_URL.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        return _sqlite_database(parts.netloc, parts.path)
    if scheme not in _POSTGRES_SCHEMES:
        raise ImproperlyConfigured(
            f"DATABASE_URL scheme {parts.scheme!r} is not supported: use postgres:// or sqlite:///"
        )
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise ImproperlyConfigured("DATABASE_URL needs a database name: postgres://host/NAME")
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured(f"DATABASE_URL has an invalid port: {parts.netloc!r}") from None
    options = dict(parse_qsl(parts.query))
    raw_max_age = options.pop("conn_max_age", "60")
    try:
        conn_max_age = int(raw_max_age)
    except ValueError:
        raise ImproperlyConfigured(
            f"DATABASE_URL conn_max_age must be a whole number of seconds, got {raw_max_age!r}"
        ) from None
    return {
        "ENGINE": "wenji.postgresql",
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(port or ""),
        "CONN_MAX_AGE": conn_max_age,
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": options,
    }


def _sqlite_database(netloc: str, path: str) -> dict[str, Any]:
    # sqlite:///relative.db or sqlite:////absolute/path.db; a host part is a typo.
    if netloc:
        raise ImproperlyConfigured(
            f"DATABASE_URL for sqlite takes no host ({netloc!r}): sqlite:///db.sqlite3"
        )
    name = unquote(path[1:] if path.startswith("/") else path)
    if not name:
        raise ImproperlyConfigured(
            "DATABASE_URL for sqlite needs a file path: sqlite:///db.sqlite3"
        )
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": name}
