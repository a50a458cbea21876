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
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import content_disposition_header
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from analysis.models import AnalysisRun
from analysis.report_docx import report_docx
from analysis.selectors import collection_facts, latest_successful_run
from analysis.services.filtered import PAGE_FILTERS, FilteredTooLarge, filtered_results
from analysis.services.report import Collection, Draft, report_draft
from analysis.services.report_edits import (
    TEXT_LIMIT,
    ReportEditInvalid,
    report_apply,
    report_edit_save,
    report_edits,
)
from analysis.views import _granted, _LoginRequired
from survey.filters import FiltersInvalid, filters_parse
from survey.labels import label_text
from survey.models import Questionnaire, Response
from survey.structure import structure_for

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class ReportEditForm(forms.Form):
    key = forms.CharField(max_length=200)
    text = forms.CharField(max_length=TEXT_LIMIT, required=False, strip=True)


@dataclass
class _Report:
    questionnaire: Questionnaire
    language: str
    asked: dict[str, str]
    run: AnalysisRun | None = None
    draft: Draft | None = None
    scope: str = ""
    filter_errors: list[str] = field(default_factory=list)


def _language(raw: str | None) -> str:
    codes = [code for code, _name in settings.LANGUAGES]
    return raw if raw in codes else (get_language() or settings.LANGUAGE_CODE)


def _asked(data: Any) -> dict[str, str]:
    return {name: data[name][:200] for name in PAGE_FILTERS if data.get(name)}


def _prepare(questionnaire: Questionnaire, language: str, asked: dict[str, str]) -> _Report:
    """The draft of the latest run in ``language`` over the ``asked`` filters (to be called
    inside ``translation.override(language)``)."""
    report = _Report(questionnaire=questionnaire, language=language, asked=asked)
    report.run = latest_successful_run(questionnaire)
    if report.run is None or not report.run.results:
        return report
    document = report.run.results
    if asked:
        try:
            document = filtered_results(questionnaire=questionnaire, filters=filters_parse(asked))
            report.scope = urlencode(sorted(asked.items()))
        except FiltersInvalid as error:
            fields = error.fields or {"": [error.message]}
            report.filter_errors = [
                f"{name}: {' '.join(m)}" if name else " ".join(m) for name, m in fields.items()
            ]
        except FilteredTooLarge as error:
            report.filter_errors = [error.message]
    first, last, channels = collection_facts(questionnaire, report.run.last_response_id)
    names = dict(Response.Channel.choices)
    structure = structure_for(questionnaire)
    collection = Collection(
        first=timezone.localdate(first).isoformat() if first else "",
        last=timezone.localdate(last).isoformat() if last else "",
        channels=[str(names.get(channel, channel)) for channel in channels],
        skipped=frozenset(q.code for q in structure.questions.values() if q.attention_expect),
    )
    report.draft = report_draft(document, language=language, collection=collection)
    return report


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


def _titles(report: _Report) -> tuple[str, str]:
    title = _("%(title)s: survey report (draft)") % {
        "title": label_text(report.questionnaire.title, report.language)
    }
    run = report.run
    finished = timezone.localtime(run.finished_at).strftime("%Y-%m-%d %H:%M") if run else ""
    subtitle = _("Drafted from analysis run #%(run)s of %(date)s.") % {
        "run": run.pk if run else "–",
        "date": finished,
    }
    return title, subtitle


def _page(
    request: HttpRequest,
    report: _Report,
    *,
    status: int = 200,
    errors: dict[str, Any] | None = None,
) -> HttpResponse:
    slug = report.questionnaire.slug
    title, subtitle = _titles(report)
    query = {**report.asked, "lang": report.language}
    context: dict[str, Any] = {
        "questionnaire": report.questionnaire,
        "title": title,
        "subtitle": subtitle,
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
        shown = report_apply(
            report.draft,
            report_edits(
                questionnaire=report.questionnaire, language=report.language, scope=report.scope
            ),
        )
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


@require_GET
def report_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The drafted report, with the analysts' rewrites."""
    try:
        questionnaire = _granted(request, slug)
    except _LoginRequired:
        return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
    language = _language(request.GET.get("lang"))
    with translation.override(language):
        return _page(request, _prepare(questionnaire, language, _asked(request.GET)))


@require_GET
def report_docx_download(request: HttpRequest, slug: str) -> HttpResponse:
    """The drafted report as a Word file."""
    try:
        questionnaire = _granted(request, slug)
    except _LoginRequired:
        return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
    language = _language(request.GET.get("lang"))
    with translation.override(language):
        report = _prepare(questionnaire, language, _asked(request.GET))
        if report.draft is None:
            raise Http404(_("No analysis of %(slug)s has finished yet.") % {"slug": slug})
        shown = report_apply(
            report.draft,
            report_edits(questionnaire=questionnaire, language=language, scope=report.scope),
        )
        title, subtitle = _titles(report)
        content = report_docx(
            report.draft,
            shown,
            title=title,
            subtitle=subtitle,
            created=report.run.finished_at if report.run else None,
            stale_note=_("figures changed since this paragraph was rewritten"),
            no_chart_note=_("(The chart could not be drawn here: the server lacks Cairo.)"),
        )
    response = HttpResponse(content, content_type=DOCX_TYPE)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"{questionnaire.slug}-report-{language}.docx"
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
        report = _prepare(questionnaire, language, asked)
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
