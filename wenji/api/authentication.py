"""API authentication: DRF's token authentication, with the user's roles read in the same
query as the token and its user (``wenji.access``), and all three remembered in the cache
(``wenji.api.token_cache``: dropped on revocation, deactivation and role changes), so a
collector's submissions do not read them each time. A token's user must be active, as in DRF.

Wrong tokens are counted per hashed address (``wenji.api.throttling.TokenFailures``): past
``API_TOKEN_FAILURE_LIMIT`` the address gets 429 for any token, right or wrong, until the
window ends, so tokens cannot be guessed by trying many. The address's failures and the
offered token's cache entry are read in one round trip; for a view that asks for it
(``wenji.api.throttling.RateTakenWithToken``: the submissions), the same round trip takes the
user's rate limit, so a collector's submission makes one round trip to Redis in all."""

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
from wenji.api.throttling import (
    RATE_TAKEN,
    RateTaken,
    TokenFailures,
    give_back,
    rate_taken,
)
from wenji.api.token_cache import (
    token_cache_key,
    token_user_get,
    token_user_id_hint,
    token_user_id_note,
    token_user_of,
    token_user_remember,
)


class TokenRolesAuthentication(TokenAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = get_authorization_header(request)
        if not header:
            return None  # no token offered: nothing to count
        failures = TokenFailures(request)
        # The address's failures and the offered token's cache entry: one round trip, which
        # also takes the view's rate limit if it asks for that (RateTakenWithToken).
        self._offered = _offered_key(header, self.keyword)
        if self._offered is None:
            exceeded, self._entry = failures.exceeded(), None
        else:
            entry_key = token_cache_key(self._offered)
            take = _rate_to_take(request, entry_key)
            exceeded, self._entry, taken = failures.exceeded_reading(entry_key, take)
            if taken is not None:
                setattr(request, RATE_TAKEN, taken)
        if exceeded:
            raise exceptions.Throttled(
                wait=failures.window,
                detail=_("Too many wrong API tokens from this address; try again later."),
            )
        try:
            found = super().authenticate(request)
        except exceptions.AuthenticationFailed:
            give_back(request)
            failures.record()
            raise
        if found is not None and self._offered is not None:
            token_user_id_note(entry_key, found[0].pk)
            taken = rate_taken(request)
            if taken is not None and taken.user_pk != found[0].pk:  # the token is another's
                give_back(request)
        return found

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


def _rate_to_take(request: Request, entry_key: str) -> RateTaken | None:
    """The rate limit to take with the token's read: the view's ``token_rate``, for the user
    this process last saw with this token (unknown the first time: nothing taken)."""
    view = (request.parser_context or {}).get("view")
    throttle = getattr(view, "token_rate", None)
    if throttle is None:
        return None
    user_pk = token_user_id_hint(entry_key)
    return None if user_pk is None else throttle().to_take(user_pk)


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
