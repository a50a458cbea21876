"""Who an API token belongs to, remembered in the shared cache so that a collector's
submissions do not look the token, its user and the user's roles up in the database each time.

Promises:
- An entry is the user (active, with their roles) of one token, kept ``API_TOKEN_CACHE_SECONDS``
  (default 60) under a keyed hash of the token: the token itself is never a cache key.
- It is dropped at once when the token is deleted (revoked), when its user is saved (made
  inactive, made admin or not, a new password) and when the user's role groups change: the
  next request reads the database again. Across processes too: the cache is Redis.
- While the cache is down, nothing is remembered and every request reads the database, as it
  would without this module; the TTL bounds how long any missed invalidation can last.
- Each process also keeps, by cache key, the id of the user it last saw with a token
  (``token_user_id_hint``): only a hint for planning the next round trip, never trusted as
  who the token belongs to (that is always the entry or the database).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models.signals import m2m_changed, post_delete, post_save
from redis.exceptions import RedisError
from rest_framework.authtoken.models import Token

from wenji.hashing import keyed_hash
from wenji.lru import LocalLru

PREFIX = "api-token:"


def token_cache_key(token_key: str) -> str:
    """The cache key of a token's entry (to read it with other keys in one round trip)."""
    return PREFIX + keyed_hash(f"api-token:{token_key}")[:40]


def token_user_get(token_key: str) -> tuple[Any, frozenset[str]] | None:
    """The active user of this token and their roles, if remembered."""
    try:
        found = cache.get(token_cache_key(token_key))
    except (RedisError, OSError):
        return None
    return token_user_of(found)


def token_user_of(found: Any) -> tuple[Any, frozenset[str]] | None:
    """The user and roles of a cache entry read by ``token_cache_key`` (None: not remembered)."""
    if not found:
        return None
    return found["user"], frozenset(found["roles"])


def token_user_id_hint(entry_key: str) -> Any:
    """The id of the user this process last saw with the token of this cache key, if any: a
    hint only (a token's user is checked on every request), so that a round trip can be
    planned before the token is read (``wenji.api.throttling.RateTakenWithToken``)."""
    return _user_ids.get(entry_key)


def token_user_id_note(entry_key: str, user_pk: Any) -> None:
    if _user_ids.get(entry_key) != user_pk:
        _user_ids.put(entry_key, user_pk)


_user_ids: LocalLru[str, Any] = LocalLru(10_000)  # this process's hints, by token cache key


def token_user_remember(token_key: str, user: Any, roles: Iterable[str]) -> None:
    with contextlib.suppress(RedisError, OSError):  # down: the next request reads the database
        cache.set(
            token_cache_key(token_key),
            {"user": user, "roles": sorted(roles)},
            settings.API_TOKEN_CACHE_SECONDS,
        )


def token_users_forget(token_keys: Iterable[str]) -> None:
    keys = [token_cache_key(key) for key in token_keys]
    if not keys:
        return
    with contextlib.suppress(RedisError, OSError):  # down: bounded by the TTL
        cache.delete_many(keys)


def _forget_user(user_id: Any) -> None:
    token_users_forget(Token.objects.filter(user_id=user_id).values_list("key", flat=True))


def _token_deleted(sender: Any, instance: Token, **kwargs: Any) -> None:
    token_users_forget([instance.key])


def _user_saved(sender: Any, instance: Any, **kwargs: Any) -> None:
    _forget_user(instance.pk)


def _groups_changed(sender: Any, instance: Any, action: str, pk_set: Any, **kwargs: Any) -> None:
    if not action.startswith("post_"):
        return
    if isinstance(instance, get_user_model()):
        _forget_user(instance.pk)
    else:  # a group's members changed: each of them
        for user_id in pk_set or instance.user_set.values_list("pk", flat=True):
            _forget_user(user_id)


def connect() -> None:
    """Connect the invalidations (``wenji.apps`` or the API's app config calls it once)."""
    user_model = get_user_model()
    post_delete.connect(_token_deleted, sender=Token, dispatch_uid="token-cache-delete")
    post_save.connect(_user_saved, sender=user_model, dispatch_uid="token-cache-user")
    m2m_changed.connect(
        _groups_changed, sender=user_model.groups.through, dispatch_uid="token-cache-groups"
    )
