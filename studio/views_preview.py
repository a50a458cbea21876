"""The live preview: the draft as respondents will see it, by the form's own renderer, logic
working, answers checked and never stored; framed by the builder at 375 px.

    GET/POST /studio/<slug>/preview/
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_http_methods

from studio.pages import login_guard, studio_questionnaire
from survey.interchange_checks import definition_problems
from survey.services.brand import brand_page, brand_page_from_document
from survey.services.drafts import definition_draft_get
from survey.structure import structure_for, structure_from_document
from survey.views import questionnaire_preview
from wenji.csp import content_security_policy


@xframe_options_sameorigin
@require_http_methods(["GET", "HEAD", "POST"])
@login_guard
def studio_preview(request: HttpRequest, slug: str) -> HttpResponse:
    questionnaire = studio_questionnaire(request, slug, edit=False)
    state = definition_draft_get(questionnaire=questionnaire)
    if state.drafted and not definition_problems(state.document):
        structure = structure_from_document(state.document, questionnaire=questionnaire)
        brand = brand_page_from_document(state.document)
    else:  # no draft: the definition in force (a stored draft is always valid, but be sure)
        structure = structure_for(questionnaire)
        brand = brand_page(questionnaire)
    response = questionnaire_preview(request, questionnaire, structure, brand)
    # The builder frames this page: its policy lets our own pages (and only them) do that.
    response["Content-Security-Policy"] = content_security_policy(
        style_sources=brand.style_sources, frame_ancestors=["'self'"]
    )
    return response
