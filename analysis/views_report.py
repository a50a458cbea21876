"""The drafted report of the latest run: ``/results/<slug>/report/`` and ``report.docx``.

    GET  <slug>/report/        the draft as a page (printable to an A4 PDF from the browser),
                               each sentence linked to its table on the results page, each
                               paragraph rewritable; ?lang=zh-hans|en picks the language
                               (default the page's), the results page's filters apply
    GET  <slug>/report.docx    the same, as a Word file with headings, tables and charts
    POST <slug>/report/edit/   store an analyst's rewrite of one finding (empty: remove it)

Access as on the results page (admins, and analysts granted the questionnaire). The report
reads the run's stored document, or the filtered document the results page computes: the
very rows the page shows, never a second computation of its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.http import content_disposition_header
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from analysis.report_docx import report_docx
from analysis.services.filtered import PAGE_FILTERS
from analysis.services.report_build import BuiltReport, report_build
from analysis.services.report_edits import (
    TEXT_LIMIT,
    ReportEditInvalid,
    report_edit_save,
)
from analysis.views import _granted, _LoginRequired

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class ReportEditForm(forms.Form):
    key = forms.CharField(max_length=200)
    text = forms.CharField(max_length=TEXT_LIMIT, required=False, strip=True)


def _language(raw: str | None) -> str:
    codes = [code for code, _name in settings.LANGUAGES]
    return raw if raw in codes else (get_language() or settings.LANGUAGE_CODE)


def _asked(data: Any) -> dict[str, str]:
    return {name: data[name][:200] for name in PAGE_FILTERS if data.get(name)}


def _anchor_id(key: str) -> str:
    return "f-" + re.sub(r"[^A-Za-z0-9_-]+", "-", key)


def _source_url(slug: str, asked: dict[str, str], anchor: str) -> str:
    """The results page's place a finding comes from, with the report's filters."""
    query, _hash, fragment = anchor.partition("#")
    params = dict(asked)
    if query.startswith("?"):
        params.update(item.split("=", 1) for item in query[1:].split("&") if "=" in item)
    url = reverse("analysis-pages:results", kwargs={"slug": slug})
    return f"{url}{'?' + urlencode(params) if params else ''}#{fragment}"


def _page(
    request: HttpRequest,
    report: BuiltReport,
    *,
    status: int = 200,
    errors: dict[str, Any] | None = None,
) -> HttpResponse:
    slug = report.questionnaire.slug
    query = {**report.asked, "lang": report.language}
    context: dict[str, Any] = {
        "questionnaire": report.questionnaire,
        "title": report.title,
        "subtitle": report.subtitle,
        "report": report,
        "language": report.language,
        "results_url": _source_url(slug, report.asked, "run").removesuffix("#run"),
        "docx_url": reverse("analysis-pages:report-docx", kwargs={"slug": slug})
        + "?"
        + urlencode(query),
        "edit_url": reverse("analysis-pages:report-edit", kwargs={"slug": slug}),
        "languages": [
            (
                code,
                name,
                reverse("analysis-pages:report", kwargs={"slug": slug})
                + "?"
                + urlencode({**report.asked, "lang": code}),
            )
            for code, name in settings.LANGUAGES
        ],
        "filter_fields": sorted(report.asked.items()),
        "errors": errors or {},
        "text_limit": TEXT_LIMIT,
    }
    if report.draft is not None:
        shown = report.shown
        context["chapters"] = [
            {
                "title": chapter.title,
                "key": chapter.key,
                "parts": [
                    {
                        "title": part.title,
                        "heading": len(chapter.parts) > 1 or part.title != chapter.title,
                        "chart": part.chart,
                        "table": part.table,
                        "findings": [
                            {
                                "shown": shown[finding.key],
                                "id": _anchor_id(finding.key),
                                "source": _source_url(slug, report.asked, finding.anchor),
                            }
                            for finding in part.findings
                        ],
                    }
                    for part in chapter.parts
                ],
            }
            for chapter in report.draft.chapters
        ]
    return render(request, "analysis/report.html", context, status=status)


def _reading_report(view: Callable[[HttpRequest, BuiltReport], HttpResponse]) -> Callable:
    """A view of the report of ``slug`` as its reader asked for it (language, filters): the
    access check, and the draft built in the report's language, before ``view`` renders it."""

    @wraps(view)
    def reading(request: HttpRequest, slug: str) -> HttpResponse:
        try:
            questionnaire = _granted(request, slug)
        except _LoginRequired:
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        language = _language(request.GET.get("lang"))
        with translation.override(language):
            report = report_build(
                questionnaire=questionnaire, language=language, asked=_asked(request.GET)
            )
            return view(request, report)

    return reading


@require_GET
@_reading_report
def report_page(request: HttpRequest, report: BuiltReport) -> HttpResponse:
    """The drafted report, with the analysts' rewrites."""
    return _page(request, report)


@require_GET
@_reading_report
def report_docx_download(request: HttpRequest, report: BuiltReport) -> HttpResponse:
    """The drafted report as a Word file."""
    slug = report.questionnaire.slug
    if report.draft is None:
        raise Http404(_("No analysis of %(slug)s has finished yet.") % {"slug": slug})
    response = HttpResponse(report_docx(report), content_type=DOCX_TYPE)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"{slug}-report-{report.language}.docx"
    )
    return response


@require_POST
def report_edit(request: HttpRequest, slug: str) -> HttpResponse:
    """Store one rewrite, then back to its paragraph (the page with the error, 400, else)."""
    try:
        questionnaire = _granted(request, slug)
    except _LoginRequired:
        return redirect_to_login(
            reverse("analysis-pages:report", kwargs={"slug": slug}), settings.LOGIN_URL
        )
    language = _language(request.POST.get("lang"))
    asked = _asked(request.POST)
    with translation.override(language):
        report = report_build(questionnaire=questionnaire, language=language, asked=asked)
        if report.draft is None:
            raise Http404(_("No analysis of %(slug)s has finished yet.") % {"slug": slug})
        form = ReportEditForm(request.POST)
        if not form.is_valid():
            return _page(request, report, status=400, errors=form.errors)
        key = form.cleaned_data["key"]
        try:
            report_edit_save(
                questionnaire=questionnaire,
                draft=report.draft,
                scope=report.scope,
                key=key,
                text="" if request.POST.get("revert") else form.cleaned_data["text"],
                user=request.user,
            )
        except ReportEditInvalid as error:
            return _page(request, report, status=400, errors=error.fields)
    url = reverse("analysis-pages:report", kwargs={"slug": slug})
    query = urlencode({**asked, "lang": language})
    return HttpResponseRedirect(f"{url}?{query}#{_anchor_id(key)}", status=303)
