"""Respondents' data, for admins (PIPL art. 47): delete one respondent's responses when they
ask, and set how long identities are kept (``settings.identity_retention_days``).

    GET/POST /studio/<slug>/privacy/    POST ``action``: forget, retention

Deleting goes through ``survey.services.forget`` (the same service as the API: hashed as when
they answered, one transaction, an audit row without the identity) after an explicit
confirmation; the page shows how many responses went and never echoes the identity back.
The retention period is a setting of the definition: it is saved in the draft through the
one rulebook and applies once published, like every other change.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from studio.pages import SAVED, login_guard, studio_draft_save, studio_questionnaire
from survey.interchange_problems import MAX_RETENTION_DAYS
from survey.labels import label_text
from survey.models import Questionnaire, Respondent
from survey.services.drafts import definition_draft_get
from survey.services.forget import ForgetInvalid, forget_identity, respondent_forget


class ForgetForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("The identity they gave"), choices=Respondent.Kind.choices
    )
    value = forms.CharField(label=gettext_lazy("Identity"), max_length=256, strip=False)
    collector = forms.CharField(
        label=gettext_lazy("Collector account (for a collector's respondent key)"),
        max_length=150,
        required=False,
    )
    confirm = forms.BooleanField(
        label=gettext_lazy("I understand that their responses are deleted for good."),
    )


class RetentionForm(forms.Form):
    days = forms.IntegerField(
        label=gettext_lazy("Keep respondents' identities for (days)"),
        min_value=1,
        max_value=MAX_RETENTION_DAYS,
        required=False,
        help_text=gettext_lazy(
            "After that, responses keep their answers but lose who gave them (the identity "
            "and address hashes). Empty: kept as long as the responses."
        ),
    )


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@login_guard
def studio_privacy(request: HttpRequest, slug: str) -> HttpResponse:
    questionnaire = studio_questionnaire(request, slug, edit=True)
    state = definition_draft_get(questionnaire=questionnaire)
    days = (state.document.get("settings") or {}).get("identity_retention_days")
    forget, retention = ForgetForm(), RetentionForm(initial={"days": days})
    if request.method == "POST" and request.POST.get("action") == "forget":
        forget = ForgetForm(request.POST)
        if forget.is_valid():
            data = forget.cleaned_data
            try:
                identity = forget_identity(
                    kind=data["kind"], value=data["value"], collector=data["collector"]
                )
            except ForgetInvalid as error:
                for field, problems in error.fields.items():
                    forget.add_error(field, problems)
            else:
                deleted = respondent_forget(
                    questionnaire=questionnaire, identity=identity, user=request.user
                )
                messages.success(request, _deleted_message(deleted))
                return HttpResponseRedirect(reverse("studio:privacy", kwargs={"slug": slug}))
        return _page(request, questionnaire, state, forget, retention, status=400)
    if request.method == "POST" and request.POST.get("action") == "retention":
        retention = RetentionForm(request.POST)
        if retention.is_valid():
            document = dict(state.document)
            settings = dict(document.get("settings") or {})
            if retention.cleaned_data["days"] is None:
                settings.pop("identity_retention_days", None)
            else:
                settings["identity_retention_days"] = retention.cleaned_data["days"]
            document["settings"] = settings
            status, problems = studio_draft_save(request, questionnaire, document)
            if status == SAVED:
                return HttpResponseRedirect(reverse("studio:privacy", kwargs={"slug": slug}))
            for problem in problems:
                retention.add_error("days", problem.message)
            return _page(request, questionnaire, state, forget, retention, status=status)
        return _page(request, questionnaire, state, forget, retention, status=400)
    return _page(request, questionnaire, state, forget, retention)


def _deleted_message(deleted: int) -> str:
    if not deleted:
        return _("No response of this identity was found; the request is on record all the same.")
    return ngettext(
        "%(count)s response of this respondent was deleted, with its answers.",
        "%(count)s responses of this respondent were deleted, with their answers.",
        deleted,
    ) % {"count": deleted}


def _page(
    request: HttpRequest,
    questionnaire: Questionnaire,
    state: Any,
    forget: ForgetForm,
    retention: RetentionForm,
    *,
    status: int = 200,
) -> HttpResponse:
    context = {
        "title": _("Respondents' data: %(title)s")
        % {"title": label_text(state.document.get("title"), get_language())},
        "questionnaire": questionnaire,
        "state": state,
        "forget": forget,
        "retention": retention,
        "published_days": questionnaire.identity_retention_days,
        "builder_url": reverse("studio:builder", kwargs={"slug": questionnaire.slug}),
    }
    return render(request, "studio/privacy.html", context, status=status)
