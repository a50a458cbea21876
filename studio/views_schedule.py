"""When a questionnaire takes responses, and how many at most (admins).

POST /studio/<slug>/schedule/   opens_at, closes_at (local date and time), response_limit
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from studio.pages import login_guard, studio_questionnaire
from survey.services.collection import ScheduleInvalid, questionnaire_schedule_set

LOCAL = "%Y-%m-%dT%H:%M"


def _moment(label: str) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=False,
        input_formats=[LOCAL, "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL),
    )


class ScheduleForm(forms.Form):
    opens_at = _moment(gettext_lazy("Takes responses from"))
    closes_at = _moment(gettext_lazy("Takes responses until"))
    response_limit = forms.IntegerField(
        label=gettext_lazy("At most this many responses"), required=False, min_value=1
    )


def schedule_form(questionnaire) -> ScheduleForm:
    return ScheduleForm(
        initial={
            "opens_at": questionnaire.opens_at,
            "closes_at": questionnaire.closes_at,
            "response_limit": questionnaire.response_limit,
        }
    )


@require_POST
@login_guard
def studio_schedule(request: HttpRequest, slug: str) -> HttpResponse:
    questionnaire = studio_questionnaire(request, slug, edit=True)
    form = ScheduleForm(request.POST)
    back = reverse("studio:builder", kwargs={"slug": slug}) + "#schedule"
    if not form.is_valid():
        for field, errors in form.errors.items():
            for error in errors:
                messages.error(request, f"{form.fields[field].label}: {error}")
        return HttpResponseRedirect(back)
    try:
        questionnaire_schedule_set(questionnaire=questionnaire, **form.cleaned_data)
    except ScheduleInvalid as error:
        messages.error(request, error.message)
        return HttpResponseRedirect(back)
    messages.success(request, _("The schedule was saved."))
    return HttpResponseRedirect(back)
