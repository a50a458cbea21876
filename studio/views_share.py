"""Sharing a questionnaire: its link, its QR code (SVG and PNG), a poster for WeChat groups,
the WeChat share card (its title and text editable), and a link snippet for web pages.

    GET/POST /studio/<slug>/share/          the page; POST sets the share card's words
    GET      /studio/<slug>/share/qr.svg    GET /studio/<slug>/share/qr.png
    GET      /studio/<slug>/share/poster.svg   title, QR and short text, 750 × 1100
"""

from __future__ import annotations

import io
import re
import textwrap

import segno
from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from studio.pages import login_guard, studio_questionnaire
from survey.labels import label_text
from survey.models import Questionnaire
from survey.services.collection import (
    SHARE_IMAGE_MAX_BYTES,
    ShareCardInvalid,
    questionnaire_share_card_set,
)
from survey.views import share_description, share_image_url, share_title
from wenji.access import is_admin

POSTER_WIDTH, POSTER_HEIGHT = 750, 1100


class ShareCardForm(forms.Form):
    share_title = forms.CharField(
        label=gettext_lazy("Share card title"), max_length=64, required=False
    )
    share_description = forms.CharField(
        label=gettext_lazy("Share card text"),
        max_length=120,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy(
            "Empty: the questionnaire's title and the start of its introduction."
        ),
    )
    share_image = forms.FileField(
        label=gettext_lazy("Share card picture"),
        required=False,
        help_text=gettext_lazy(
            "A square PNG or JPEG of at most 256 KB; empty keeps the one there is."
        ),
    )
    remove_image = forms.BooleanField(
        label=gettext_lazy("Use the default picture again"), required=False
    )


def _link(request: HttpRequest, questionnaire: Questionnaire) -> str:
    return request.build_absolute_uri(reverse("survey:form", args=[questionnaire.slug]))


def _qr(request: HttpRequest, questionnaire: Questionnaire) -> segno.QRCode:
    return segno.make(_link(request, questionnaire), error="m")


@require_http_methods(["GET", "HEAD", "POST"])
@login_guard
def studio_share(request: HttpRequest, slug: str) -> HttpResponse:
    questionnaire = studio_questionnaire(request, slug, edit=request.method == "POST")
    if request.method == "POST":
        form = ShareCardForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["share_image"]
            try:
                questionnaire_share_card_set(
                    questionnaire=questionnaire,
                    title=form.cleaned_data["share_title"],
                    description=form.cleaned_data["share_description"],
                    image=upload.read(SHARE_IMAGE_MAX_BYTES + 1) if upload else None,
                    remove_image=form.cleaned_data["remove_image"],
                )
            except ShareCardInvalid as error:
                for field, problems in error.fields.items():
                    for problem in problems:
                        form.add_error(field, problem)
            else:
                messages.success(request, _("The share card was saved."))
                return HttpResponseRedirect(reverse("studio:share", kwargs={"slug": slug}))
    else:
        form = ShareCardForm(
            initial={
                "share_title": questionnaire.share_title,
                "share_description": questionnaire.share_description,
            }
        )
    link = _link(request, questionnaire)
    context = {
        "title": _("Share: %(title)s") % {"title": label_text(questionnaire.title)},
        "questionnaire": questionnaire,
        "admin": is_admin(request.user),
        "link": link,
        "snippet": f'<a href="{escape(link)}" target="_blank" rel="noopener">'
        f"{escape(share_title(questionnaire))}</a>",
        "card_title": share_title(questionnaire),
        "card_description": share_description(questionnaire),
        "cover_url": share_image_url(request, questionnaire),
        "form": form,
        "builder_url": reverse("studio:builder", kwargs={"slug": slug}),
        "open": questionnaire.status == Questionnaire.Status.OPEN,
    }
    return render(
        request, "studio/share.html", context, status=200 if form.is_bound is False else 400
    )


def _file(body: bytes, content_type: str, name: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response


@require_GET
@login_guard
def studio_share_qr_svg(request: HttpRequest, slug: str) -> HttpResponse:
    questionnaire = studio_questionnaire(request, slug, edit=False)
    buffer = io.BytesIO()
    _qr(request, questionnaire).save(
        buffer, kind="svg", scale=8, border=2, xmldecl=False, title=label_text(questionnaire.title)
    )
    return _file(buffer.getvalue(), "image/svg+xml", f"{slug}-qr.svg")


@require_GET
@login_guard
def studio_share_qr_png(request: HttpRequest, slug: str) -> HttpResponse:
    questionnaire = studio_questionnaire(request, slug, edit=False)
    buffer = io.BytesIO()
    _qr(request, questionnaire).save(buffer, kind="png", scale=12, border=2)
    return _file(buffer.getvalue(), "image/png", f"{slug}-qr.png")


def _lines(text: str, width: int, most: int) -> list[str]:
    """Lines of at most ``width`` characters (Chinese has no spaces to break at)."""
    lines = textwrap.wrap(text, width=width, break_long_words=True) or [""]
    if len(lines) > most:
        lines = [*lines[: most - 1], lines[most - 1][: width - 1] + "…"]
    return lines


@require_GET
@login_guard
def studio_share_poster(request: HttpRequest, slug: str) -> HttpResponse:
    """A poster for WeChat groups as SVG (the page turns it into a PNG in the browser, which
    has the fonts): the title, the QR code, the share text and a line to scan."""
    questionnaire = studio_questionnaire(request, slug, edit=False)
    qr = _qr(request, questionnaire).svg_inline(scale=12, border=1, dark="#1f1f1f")
    size = 480
    title_lines = _lines(share_title(questionnaire), 14, 3)
    text_lines = _lines(share_description(questionnaire), 22, 3)
    parts = [
        f'<rect width="{POSTER_WIDTH}" height="{POSTER_HEIGHT}" fill="#fdf6ec"/>',
        f'<rect x="0" y="0" width="{POSTER_WIDTH}" height="16" fill="#c9302c"/>',
    ]
    y = 130
    for line in title_lines:
        parts.append(
            f'<text x="{POSTER_WIDTH // 2}" y="{y}" text-anchor="middle" font-size="46" '
            f'font-weight="700" fill="#1f1f1f">{escape(line)}</text>'
        )
        y += 62
    top = y + 10
    parts.append(
        f'<rect x="{(POSTER_WIDTH - size) // 2 - 20}" y="{top - 20}" width="{size + 40}" '
        f'height="{size + 40}" rx="16" fill="#fff"/>'
    )
    # segno's inline SVG has its own size: nest its drawing, scaled to the poster's box
    natural = re.search(r'width="(\d+)"', qr)
    side = natural.group(1) if natural else str(size)
    drawing = qr[qr.index(">") + 1 : qr.rindex("</svg>")]
    inner = (
        f'<svg x="{(POSTER_WIDTH - size) // 2}" y="{top}" width="{size}" height="{size}" '
        f'viewBox="0 0 {side} {side}">{drawing}</svg>'
    )
    parts.append(inner)
    y = top + size + 90
    for line in text_lines:
        parts.append(
            f'<text x="{POSTER_WIDTH // 2}" y="{y}" text-anchor="middle" font-size="30" '
            f'fill="#444">{escape(line)}</text>'
        )
        y += 44
    scan = _("Scan the code to answer")
    parts.append(
        f'<text x="{POSTER_WIDTH // 2}" y="{POSTER_HEIGHT - 60}" text-anchor="middle" '
        f'font-size="28" fill="#c9302c">{escape(scan)}</text>'
    )
    body = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{POSTER_WIDTH}" '
        f'height="{POSTER_HEIGHT}" viewBox="0 0 {POSTER_WIDTH} {POSTER_HEIGHT}" '
        f'font-family="sans-serif">{"".join(parts)}</svg>'
    )
    return _file(body.encode(), "image/svg+xml", f"{slug}-poster.svg")
