"""Keyed hashes of personal data: respondent identities and IP addresses.

The raw value is hashed with ``settings.IDENTITY_HASH_KEY`` the moment it arrives and is never
stored or logged. The same raw value always gives the same hash (what duplicate detection and
rate limiting need); without the key a hash cannot be reversed or tested against guesses.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings


def keyed_hash(*parts: str) -> str:
    message = "\x1f".join(parts).encode()
    return hmac.new(settings.IDENTITY_HASH_KEY.encode(), message, hashlib.sha256).hexdigest()


def ip_hash(ip_address: str | None) -> str:
    return keyed_hash("ip", ip_address) if ip_address else ""
