"""The Content-Security-Policy header, from ``settings.CONTENT_SECURITY_POLICY``.

``content_security_policy()`` is the policy every response carries (set by
``config.middleware.ContentSecurityPolicyMiddleware``); a page that needs more passes it:
``style_sources`` adds sources (hashes of its inline styles) to ``style-src``, and
``frame_ancestors`` replaces who may frame it.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings


def content_security_policy(
    *, style_sources: Iterable[str] = (), frame_ancestors: Iterable[str] | None = None
) -> str:
    directives = {name: list(sources) for name, sources in settings.CONTENT_SECURITY_POLICY.items()}
    directives["style-src"] = [*directives.get("style-src", []), *style_sources]
    if frame_ancestors is not None:
        directives["frame-ancestors"] = list(frame_ancestors)
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())
