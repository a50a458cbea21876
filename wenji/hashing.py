"""Keyed hashes of personal data: respondent identities and IP addresses.

The raw value is hashed with ``settings.IDENTITY_HASH_KEY`` the moment it arrives and is never
stored or logged. The same raw value always gives the same hash (what duplicate detection and
rate limiting need); without the key a hash cannot be reversed or tested against guesses.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest


def keyed_hash(*parts: str) -> str:
    message = "\x1f".join(parts).encode()
    return hmac.new(settings.IDENTITY_HASH_KEY.encode(), message, hashlib.sha256).hexdigest()


def ip_hash(ip_address: str | None) -> str:
    return keyed_hash("ip", ip_address) if ip_address else ""


def address_pseudonym(ip_address: str | None) -> str | None:
    """A keyed pseudonym of an address in the form of an IPv6 address (the unique-local range
    ``fd00::/8``), for libraries that store addresses in an address column (django-axes): the
    same address always gives the same pseudonym, which tells nothing without the key."""
    if not ip_address:
        return None
    digest = bytes.fromhex(keyed_hash("address", ip_address))
    return str(ipaddress.IPv6Address(b"\xfd" + digest[:15]))


def request_address_pseudonym(request: HttpRequest) -> str | None:
    """The pseudonym of the request's client address (``REMOTE_ADDR``, as the throttles use
    with no trusted proxy)."""
    return address_pseudonym(request.META.get("REMOTE_ADDR"))
