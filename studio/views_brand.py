"""The look of a questionnaire's pages for respondents: its colour, logo and cover picture, and
its thank-you page (message, share prompt, next address).

    GET/POST /studio/<slug>/brand/

The brand is part of the definition (``brand``, see ``survey.brand``): it is saved in the
draft through the one rulebook (which names the field it refuses), shows at once in the
builder's preview, and applies to the public pages once the draft is published. An upload
keeps the picture there is unless it is replaced or removed.
"""

from __future__ import annotations

import copy
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from studio.pages import SAVED, login_guard, studio_draft_save, studio_questionnaire
from survey.brand import DEFAULT_COLOUR, IMAGE_KINDS, IMAGE_MAX_BYTES, PictureInvalid, picture_read
from survey.forms.labels import LabelField
from survey.labels import label_text
from survey.services.drafts import definition_draft_get
from wenji.access import is_admin


class BrandForm(forms.Form):
    colour = forms.CharField(
        label=gettext_lazy("Colour"),
        required=False,
        max_length=7,
        widget=forms.TextInput(attrs={"placeholder": DEFAULT_COLOUR, "data-colour": ""}),
        help_text=gettext_lazy(
            "Buttons, links, the progress bar and chosen answers. Dark enough for white text "
            "(contrast at least 4.5). Empty: the platform's blue."
        ),
    )
    logo = forms.FileField(
        label=gettext_lazy("Logo"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg"}),
        help_text=gettext_lazy("PNG or JPEG, at most 64 KB; shown 40 px high at the top."),
    )
    remove_logo = forms.BooleanField(label=gettext_lazy("Remove the logo"), required=False)
    cover = forms.FileField(
        label=gettext_lazy("Cover picture"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg"}),
        help_text=gettext_lazy(
            "PNG or JPEG, at most 256 KB, about 750 × 300; shown above the title."
        ),
    )
    remove_cover = forms.BooleanField(
        label=gettext_lazy("Remove the cover picture"), required=False
    )
    thanks = LabelField(
        label=gettext_lazy("Thank-you message"),
        required=False,
        textarea=True,
        help_text=gettext_lazy("Empty: “Your answers have been received.”"),
    )
    share = forms.BooleanField(
        label=gettext_lazy("Ask people to pass the survey on, on the thank-you page"),
        required=False,
    )
    redirect = forms.CharField(
        label=gettext_lazy("Then go on to"),
        required=False,
        max_length=500,
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
        help_text=gettext_lazy(
            "An address the thank-you page opens after 5 seconds (people can stay). Empty: none."
        ),
    )

    def picture(self, kind: str) -> str | None:
        """The uploaded ``kind`` as a data URI; None without an upload (adds the field's error
        when the file is not a picture the brand may have)."""
        upload = self.cleaned_data.get(kind)
        if not upload:
            return None
        try:
            picture = picture_read(upload.read(IMAGE_MAX_BYTES[kind] + 1), kind)
        except PictureInvalid as error:
            self.add_error(kind, _("The file %(problem)s.") % {"problem": str(error)})
            return None
        return picture.data_uri()


def _initial(brand: dict[str, Any]) -> dict[str, Any]:
    return {
        "colour": brand.get("colour", ""),
        "thanks": brand.get("thanks", ""),
        "share": bool(brand.get("share")),
        "redirect": brand.get("redirect", ""),
    }


def _apply(form: BrandForm, brand: dict[str, Any]) -> dict[str, Any] | None:
    """The edited brand (keeping pictures not replaced or removed); None when an upload failed."""
    data = form.cleaned_data
    changed: dict[str, Any] = {}
    if data["colour"].strip():
        changed["colour"] = data["colour"].strip().lower()
    for kind in IMAGE_KINDS:
        uploaded = form.picture(kind)
        if uploaded:
            changed[kind] = uploaded
        elif not data[f"remove_{kind}"] and brand.get(kind):
            changed[kind] = brand[kind]
    if data["thanks"]:
        changed["thanks"] = data["thanks"]
    if data["redirect"].strip():
        changed["redirect"] = data["redirect"].strip()
    if data["share"]:
        changed["share"] = True
    return None if form.errors else changed


@require_http_methods(["GET", "HEAD", "POST"])
@login_guard
def studio_brand(request: HttpRequest, slug: str) -> HttpResponse:
    questionnaire = studio_questionnaire(request, slug, edit=request.method == "POST")
    state = definition_draft_get(questionnaire=questionnaire)
    current = state.document.get("brand") or {}
    if request.method != "POST":
        return _page(request, questionnaire, state, BrandForm(initial=_initial(current)))
    form = BrandForm(request.POST, request.FILES)
    brand = _apply(form, current) if form.is_valid() else None
    if brand is None:
        return _page(request, questionnaire, state, form, status=400)
    document = copy.deepcopy(state.document)
    if brand:
        document["brand"] = brand
    else:
        document.pop("brand", None)
    status, problems = studio_draft_save(request, questionnaire, document)
    if status != SAVED:
        for problem in problems:
            field = problem.place.removeprefix("brand.").split(".")[0]
            form.add_error(field if field in form.fields else None, problem.message)
        return _page(request, questionnaire, state, form, status=status)
    return HttpResponseRedirect(reverse("studio:brand", kwargs={"slug": slug}))


def _page(
    request: HttpRequest, questionnaire: Any, state: Any, form: BrandForm, status: int = 200
) -> HttpResponse:
    current = state.document.get("brand") or {}
    context = {
        "title": _("Look: %(title)s") % {"title": label_text(state.document.get("title"))},
        "questionnaire": questionnaire,
        "state": state,
        "admin": is_admin(request.user),
        "form": form,
        "current_logo": current.get("logo"),
        "current_cover": current.get("cover"),
        "builder_url": reverse("studio:builder", kwargs={"slug": questionnaire.slug}),
        "preview_url": reverse("studio:preview", kwargs={"slug": questionnaire.slug}),
    }
    return render(request, "studio/brand.html", context, status=status)
