"""Respondent identities, kept only as keyed hashes (``wenji.hashing``), and the signed
device cookie.

The raw value (a WeChat openid, a device id, a collector's respondent key) is hashed the
moment it arrives and is never stored or logged; the same raw value always gives the same
hash, which is what duplicate detection needs.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.core import signing

from survey.models import Respondent
from wenji.hashing import keyed_hash

DEVICE_COOKIE_NAME = "wenji_device"
DEVICE_COOKIE_SALT = "wenji.device"
DEVICE_COOKIE_MAX_AGE = 2 * 365 * 24 * 3600


@dataclass(frozen=True)
class Identity:
    """A respondent identity as received. ``repr`` hides the raw value."""

    kind: str  # Respondent.Kind
    raw: str

    def __repr__(self) -> str:
        return f"Identity(kind={self.kind!r}, raw=<hidden>)"


def identity_hash(identity: Identity) -> str:
    return keyed_hash("respondent", identity.kind, identity.raw)


def respondent_upsert(*, identity: Identity) -> Respondent:
    """The respondent with this identity, created if new, in one statement.

    INSERT … ON CONFLICT DO UPDATE: inside a transaction it also locks the respondent's row
    until commit, which is what serialises one respondent's concurrent submissions.
    """
    if identity.kind not in Respondent.Kind.values:
        raise ValueError(f"unknown identity kind {identity.kind!r}")
    if not identity.raw or len(identity.raw) > 256:
        raise ValueError("an identity must be 1 to 256 characters")
    (respondent,) = Respondent.objects.bulk_create(
        [Respondent(identity_hash=identity_hash(identity), kind=identity.kind)],
        update_conflicts=True,
        unique_fields=["identity_hash"],
        update_fields=["kind"],
    )
    return respondent


def device_id_new() -> str:
    return secrets.token_urlsafe(24)


def device_cookie_value(device_id: str) -> str:
    return signing.dumps(device_id, salt=DEVICE_COOKIE_SALT, compress=False)


def device_id_from_cookie(value: str | None) -> str | None:
    """The device id in a signed cookie, or None when it is missing or was tampered with."""
    if not value:
        return None
    try:
        device_id = signing.loads(value, salt=DEVICE_COOKIE_SALT, max_age=DEVICE_COOKIE_MAX_AGE)
    except signing.BadSignature:
        return None
    return device_id if isinstance(device_id, str) else None
