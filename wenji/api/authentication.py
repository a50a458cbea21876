"""API authentication: DRF's token authentication, with the user's roles read in the same
query as the token and its user (``wenji.access``), and all three remembered in the cache
(``wenji.api.token_cache``: dropped on revocation, deactivation and role changes), so a
collector's submissions do not read them each time. A token's user must be active, as in DRF.

Wrong tokens are counted per hashed address (``wenji.api.throttling.TokenFailures``): past
``API_TOKEN_FAILURE_LIMIT`` the address gets 429 for any token, right or wrong, until the
window ends, so tokens cannot be guessed by trying many. The address's failures and the
offered token's cache entry are read in one round trip."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.authtoken.models import Token
from rest_framework.request import Request

from wenji.access import ROLES, remember_roles
from wenji.api.throttling import TokenFailures
from wenji.api.token_cache import (
    token_cache_key,
    token_user_get,
    token_user_of,
    token_user_remember,
)


class TokenRolesAuthentication(TokenAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = get_authorization_header(request)
        if not header:
            return None  # no token offered: nothing to count
        failures = TokenFailures(request)
        # The address's failures and the offered token's cache entry: one round trip.
        self._offered = _offered_key(header, self.keyword)
        if self._offered is None:
            exceeded, self._entry = failures.exceeded(), None
        else:
            exceeded, self._entry = failures.exceeded_reading(token_cache_key(self._offered))
        if exceeded:
            raise exceptions.Throttled(
                wait=failures.window,
                detail=_("Too many wrong API tokens from this address; try again later."),
            )
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            failures.record()
            raise

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        if key == getattr(self, "_offered", None):
            remembered = token_user_of(self._entry)
        else:
            remembered = token_user_get(key)
        if remembered is not None:
            user, roles = remembered
            remember_roles(user, roles)
            return user, Token(key=key, user=user)
        memberships = get_user_model().groups.through.objects.filter(user_id=OuterRef("user_id"))
        held = {f"holds_{role}": Exists(memberships.filter(group__name=role)) for role in ROLES}
        model = self.get_model()
        token = model.objects.select_related("user").annotate(**held).filter(key=key).first()
        if token is None or not token.user.is_active:
            # DRF's own refusal, with its translated message (an unknown token, an inactive user).
            return super().authenticate_credentials(key)
        roles = remember_roles(
            token.user, (role for role in ROLES if getattr(token, f"holds_{role}"))
        )
        token_user_remember(key, token.user, roles)
        return token.user, token


def _offered_key(header: bytes, keyword: str) -> str | None:
    """The token in an ``Authorization: Token <key>`` header, if it has that shape (DRF's
    own parsing still decides, and words any refusal)."""
    parts = header.split()
    if len(parts) != 2 or parts[0].lower() != keyword.lower().encode():
        return None
    try:
        return parts[1].decode()
    except UnicodeError:
        return None
