"""A questionnaire's brand: the look of its respondents' pages (the definition's ``brand`` key).

    brand:
      colour: "#b3261e"                 # buttons, links, progress, the chosen option
      logo: "data:image/png;base64,…"   # at the top of every page, at most 64 KB
      cover: "data:image/jpeg;base64,…" # above the title, at most 256 KB
      thanks: {zh-hans: …, en: …}       # the thank-you page's message (a label)
      redirect: "https://…"             # where the thank-you page sends people on (after 5 s)
      share: true                       # the thank-you page asks people to pass the survey on

Promises:
- The rulebook (``survey.interchange_checks``) refuses a brand whose colour is not ``#rrggbb``
  dark enough for white text and to read on white (WCAG AA, contrast at least 4.5:
  ``colour_problem``), whose picture is not a PNG or JPEG data URI within its size that
  decodes (``picture_from_uri``), or whose redirect is not an http(s) address
  (``redirect_problem``). Pure: no database.
- ``brand_css(colour)`` is the page's colours as a tiny stylesheet; the pages send it inline
  with its hash in the Content-Security-Policy, so a brand costs no request.
- Pictures travel in files as data URIs and are stored as ``BrandImage`` rows
  (``survey.services.brand``); nothing here reads the database.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

BRAND_KEYS = ("colour", "logo", "cover", "thanks", "redirect", "share")
IMAGE_KINDS = ("logo", "cover")
IMAGE_MAX_BYTES = {"logo": 64 * 1024, "cover": 256 * 1024}
IMAGE_MAX_SIDE = 4000
IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpg"}
MIN_CONTRAST = 4.5
REDIRECT_MAX_LENGTH = 500
REDIRECT_DELAY_SECONDS = 5
DEFAULT_COLOUR = "#0b57d0"

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_DATA_URI = re.compile(r"^data:(image/(?:png|jpeg));base64,([A-Za-z0-9+/=\s]+)$")
_REDIRECT = re.compile(r"^https?://[^\s/?#]+[^\s]*$")
_MAGIC = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}


@dataclass(frozen=True)
class Picture:
    """A decoded picture: its type, bytes, pixel size and content hash."""

    content_type: str
    data: bytes
    width: int
    height: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def data_uri(self) -> str:
        return data_uri(self.content_type, self.data)


def data_uri(content_type: str, data: bytes) -> str:
    return f"data:{content_type};base64,{base64.b64encode(data).decode('ascii')}"


class PictureInvalid(ValueError):
    pass


def picture_read(data: bytes, kind: str, content_type: str | None = None) -> Picture:
    """``data`` as a ``Picture`` for ``kind`` (logo or cover), or ``PictureInvalid`` saying why
    (in the active language)."""
    limit = IMAGE_MAX_BYTES[kind]
    found = next((t for t, magic in _MAGIC.items() if data.startswith(magic)), None)
    if found is None or (content_type is not None and found != content_type):
        raise PictureInvalid(_("must be a PNG or JPEG picture"))
    if len(data) > limit:
        raise PictureInvalid(
            _("is %(size)d KB; at most %(limit)d KB")
            % {"size": -(-len(data) // 1024), "limit": limit // 1024}
        )
    from PIL import Image, UnidentifiedImageError  # only when a picture is read

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise PictureInvalid(_("is not a picture that can be read")) from exc
    if max(width, height) > IMAGE_MAX_SIDE:
        raise PictureInvalid(
            _("is %(w)d × %(h)d pixels; at most %(max)d on a side")
            % {"w": width, "h": height, "max": IMAGE_MAX_SIDE}
        )
    return Picture(found, data, width, height)


def picture_from_uri(value: Any, kind: str) -> Picture:
    """A ``data:image/png;base64,…`` (or jpeg) value as a ``Picture``; ``PictureInvalid``."""
    match = _DATA_URI.match(value) if isinstance(value, str) else None
    if match is None:
        raise PictureInvalid(_("must be a data URI: data:image/png;base64,… or image/jpeg"))
    try:
        data = base64.b64decode(re.sub(r"\s", "", match.group(2)), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PictureInvalid(_("is not valid base64")) from exc
    return picture_read(data, kind, match.group(1))


def contrast_on_white(colour: str) -> float:
    """WCAG contrast ratio of ``#rrggbb`` against white."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    luminance = 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    return 1.05 / (luminance + 0.05)


def colour_problem(colour: Any) -> str | None:
    """Why ``colour`` cannot be a brand colour (in the active language), or None."""
    if not isinstance(colour, str) or not _COLOUR.match(colour):
        return _("must be a colour like #0b57d0")
    ratio = contrast_on_white(colour)
    if ratio < MIN_CONTRAST:
        return _(
            "is too light: white text on it, and it on white, have a contrast of %(ratio).1f; "
            "at least %(min).1f is needed to be readable"
        ) % {"ratio": ratio, "min": MIN_CONTRAST}
    return None


def redirect_problem(redirect: Any) -> str | None:
    """Why ``redirect`` cannot be the thank-you page's next address, or None."""
    if (
        isinstance(redirect, str)
        and len(redirect) <= REDIRECT_MAX_LENGTH
        and _REDIRECT.match(redirect)
    ):
        return None
    return _("must be an http:// or https:// address of at most %(n)d characters") % {
        "n": REDIRECT_MAX_LENGTH
    }


def _mix(colour: str, weight: float) -> str:
    """``colour`` mixed with white (``weight`` of the colour)."""
    channels = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(c * weight + 255 * (1 - weight)):02x}" for c in channels)


def brand_css(colour: str | None) -> str:
    """The page's colours for ``colour`` ('' for the platform's own)."""
    if not colour or colour.lower() == DEFAULT_COLOUR:
        return ""
    return f":root{{--accent:{colour.lower()};--accent-soft:{_mix(colour, 0.1)}}}"


def css_hash(css: str) -> str:
    """The Content-Security-Policy source that allows ``<style>{css}</style>``."""
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode("ascii")
    return f"'sha256-{digest}'"
