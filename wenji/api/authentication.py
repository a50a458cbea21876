"""API authentication: DRF's token authentication, with the user's roles read in the same
query as the token and its user (``wenji.access``), so an API call costs one query
less. A token's user must be active, as in DRF."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef
from rest_framework.authentication import TokenAuthentication

from wenji.access import ROLES, remember_roles


class TokenRolesAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        memberships = get_user_model().groups.through.objects.filter(user_id=OuterRef("user_id"))
        held = {f"holds_{role}": Exists(memberships.filter(group__name=role)) for role in ROLES}
        model = self.get_model()
        token = model.objects.select_related("user").annotate(**held).filter(key=key).first()
        if token is None or not token.user.is_active:
            # DRF's own refusal, with its translated message (an unknown token, an inactive user).
            return super().authenticate_credentials(key)
        remember_roles(token.user, (role for role in ROLES if getattr(token, f"holds_{role}")))
        return token.user, token
