"""A questionnaire's brand, stored and shown (the format and its rules: ``survey.brand``).

Promises:
- ``brand_store`` makes the questionnaire's brand what a valid definition's ``brand`` says: the
  colour, thank-you message, redirect and share prompt in ``Questionnaire.brand`` (saved by the
  caller, with the rest of the definition), each picture in its ``BrandImage`` row, written only
  when its bytes change; a picture the definition drops is deleted.
- ``brand_export`` gives the ``brand`` value back as the definition had it (pictures as data
  URIs), so a file's export equals its import; None when there is no brand. Its pictures are
  read only when asked for.
- ``brand_page`` is what a respondent's page shows: colours (as inline CSS and its CSP hash),
  picture URLs that change with the picture (cached for a year), the thank-you message in the
  active language. It reads no picture bytes. ``brand_page_from_document`` is the same for a
  draft (the studio's preview), pictures inline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse

from survey.brand import (
    IMAGE_KINDS,
    IMAGE_TYPES,
    REDIRECT_DELAY_SECONDS,
    Picture,
    brand_css,
    css_hash,
    data_uri,
    picture_from_uri,
)
from survey.labels import label_text
from survey.models import BrandImage, Questionnaire

_PLAIN_KEYS = ("colour", "thanks", "redirect", "share")


def brand_store(*, questionnaire: Questionnaire, brand: dict[str, Any] | None) -> None:
    """Set ``questionnaire.brand`` (not saved) and its pictures' rows from a valid ``brand``."""
    brand = brand or {}
    stored: dict[str, Any] = {k: brand[k] for k in _PLAIN_KEYS if brand.get(k) is not None}
    had_pictures = any(kind in (questionnaire.brand or {}) for kind in IMAGE_KINDS)
    has_pictures = any(brand.get(kind) is not None for kind in IMAGE_KINDS)
    current = (
        {row.kind: row for row in BrandImage.objects.filter(questionnaire=questionnaire)}
        if questionnaire.pk and (had_pictures or has_pictures)
        else {}
    )
    for kind in IMAGE_KINDS:
        if brand.get(kind) is None:
            if kind in current:
                current[kind].delete()
            continue
        picture = picture_from_uri(brand[kind], kind)
        stored[kind] = {
            "sha256": picture.sha256,
            "type": picture.content_type,
            "width": picture.width,
            "height": picture.height,
        }
        row = current.get(kind)
        if row is None:
            BrandImage.objects.create(
                questionnaire=questionnaire,
                kind=kind,
                sha256=picture.sha256,
                content_type=picture.content_type,
                data=picture.data,
            )
        elif row.sha256 != picture.sha256:
            row.sha256, row.content_type, row.data = (
                picture.sha256,
                picture.content_type,
                picture.data,
            )
            row.save(update_fields=["sha256", "content_type", "data"])
    questionnaire.brand = stored


def brand_export(*, questionnaire: Questionnaire, pictures: bool = True) -> dict[str, Any] | None:
    """The definition's ``brand`` value (pictures as data URIs), or None without a brand. With
    ``pictures`` false a picture is named by its hash (``sha256:…``) and no bytes are read: for
    what only compares definitions (the digest leaves the brand out)."""
    stored = questionnaire.brand or {}
    if not stored:
        return None
    kinds = [kind for kind in IMAGE_KINDS if kind in stored]
    rows = (
        {row.kind: row for row in BrandImage.objects.filter(questionnaire=questionnaire)}
        if kinds and pictures
        else {}
    )
    brand: dict[str, Any] = {}
    for key in ("colour", *IMAGE_KINDS, "thanks", "redirect", "share"):
        if key not in stored:
            continue
        if key not in IMAGE_KINDS:
            brand[key] = stored[key]
        elif not pictures:
            brand[key] = f"sha256:{stored[key]['sha256']}"
        elif key in rows:
            brand[key] = data_uri(rows[key].content_type, bytes(rows[key].data))
    return brand


@dataclass(frozen=True)
class Image:
    url: str
    width: int
    height: int


@dataclass(frozen=True)
class BrandPage:
    """What a respondent's page shows of the brand (empty: the platform's own look)."""

    css: str = ""
    logo: Image | None = None
    cover: Image | None = None
    thanks: str = ""
    redirect: str = ""
    redirect_seconds: int = REDIRECT_DELAY_SECONDS
    share: bool = False
    style_sources: list[str] = field(default_factory=list)


def _page(brand: dict[str, Any], images: dict[str, Image]) -> BrandPage:
    css = brand_css(brand.get("colour"))
    return BrandPage(
        css=css,
        logo=images.get("logo"),
        cover=images.get("cover"),
        thanks=label_text(brand.get("thanks")),
        redirect=brand.get("redirect") or "",
        share=bool(brand.get("share")),
        style_sources=[css_hash(css)] if css else [],
    )


def brand_image_path(questionnaire: Questionnaire, kind: str) -> str | None:
    stored = (questionnaire.brand or {}).get(kind)
    if not stored:
        return None
    name = f"{kind}-{stored['sha256'][:16]}.{IMAGE_TYPES.get(stored['type'], 'png')}"
    return reverse("survey:brand-image", args=[questionnaire.slug, name])


def brand_page(questionnaire: Questionnaire) -> BrandPage:
    """The brand of ``questionnaire`` in force, for its pages; no query."""
    brand = questionnaire.brand or {}
    images = {}
    for kind in IMAGE_KINDS:
        path = brand_image_path(questionnaire, kind)
        if path:
            images[kind] = Image(path, brand[kind]["width"], brand[kind]["height"])
    return _page(brand, images)


def brand_page_from_document(document: dict[str, Any]) -> BrandPage:
    """The brand of a (valid) draft document, pictures inline: the studio's preview."""
    brand = document.get("brand") or {}
    images = {}
    for kind in IMAGE_KINDS:
        if brand.get(kind):
            picture: Picture = picture_from_uri(brand[kind], kind)
            images[kind] = Image(picture.data_uri(), picture.width, picture.height)
    return _page(brand, images)
