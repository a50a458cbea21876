"""The analyst results page, ``/results/<slug>/`` (routes: analysis/page_urls.py).

    GET  <slug>/          the latest successful run's tables, charts, banner cross-tabs and
                          segment profiles; ?banner=<key> picks the banner, ?rank=best ranks;
                          the filters of survey.filters (submitted_from, submitted_to,
                          channel, segment, answer) compute the same over the responses
                          they select (analysis.services.filtered)
    POST <slug>/run/      request a run now ("re-run"), then back to the page
    GET  <slug>/texts/    open answers of one question: searchable, paged, with word counts
    GET  <slug>/table.xlsx?question=<code>[&banner=<key>]   one question's table and cross-tab
    GET  <slug>/responses/<id>/   one response as answered, its validity marks and history
    POST <slug>/responses/<id>/   a person's decision on its status (kept over the rules)

Access as in the analysis API: admins, and analysts granted the questionnaire. Anonymous users
are sent to the login page, other roles are refused (403), a questionnaire not granted is not
found (404). The page reads the stored results document, never the answers; the only reads of
responses are two grouped counts (per day, per channel) on an indexed column.
"""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from analysis.models import AnalysisRun
from analysis.presenters import (
    RANK_BEST,
    collection_present,
    response_sections,
    results_present,
)
from analysis.selectors import (
    active_run,
    latest_successful_run,
    response_get,
    responses_collected,
    responses_per_channel,
    responses_per_day,
    status_history,
)
from analysis.services.filtered import PAGE_FILTERS, FilteredTooLarge, filtered_results
from analysis.services.runs import analysis_run_request
from analysis.services.tables import weighted_for_reading
from analysis.services.texts import text_answers, text_questions, text_terms
from analysis.workbook import TablesWorkbook
from survey.filters import (
    STATUS_CHOICES,
    STATUS_VALID,
    FiltersInvalid,
    filters_parse,
    responses_filtered,
)
from survey.labels import label_text, reason_labels
from survey.models import Questionnaire, Response
from survey.services.quotas import quota_progress
from survey.services.review import StatusChangeInvalid, response_set_status
from survey.structure import structure_for
from wenji.access import ADMIN, ANALYST, is_admin, questionnaire_for_user, user_roles

DAYS_CHARTED = 30
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class _LoginRequired(Exception):
    """Raised by ``_granted`` for an anonymous visitor (turned into a redirect)."""


def _granted(request: HttpRequest, slug: str) -> Questionnaire:
    """The questionnaire if the user may read its results; else 403/404 (or _LoginRequired)."""
    if not request.user.is_authenticated:
        raise _LoginRequired
    roles = user_roles(request.user)
    if ADMIN not in roles and ANALYST not in roles:
        raise PermissionDenied(_("Only analysts and admins may read results."))
    questionnaire = questionnaire_for_user(
        slug=slug, user=request.user, admin=is_admin(request.user)
    )
    if questionnaire is None:
        raise Http404(_("There is no questionnaire %s you can access.") % slug)
    return questionnaire


def _page_url(
    slug: str, banner: str = "", rank: str = "", filters: dict[str, str] | None = None
) -> str:
    query = {key: value for key, value in (("banner", banner), ("rank", rank)) if value}
    query.update(filters or {})
    url = reverse("analysis-pages:results", kwargs={"slug": slug})
    return f"{url}?{urlencode(query)}" if query else url


def _with_query(url: str, query: dict[str, str]) -> str:
    return f"{url}?{urlencode(query)}" if query else url


def _run_context(questionnaire: Questionnaire, run: AnalysisRun | None) -> dict[str, Any]:
    active = active_run(questionnaire)
    collected = responses_collected(questionnaire)
    seen = (run.counts or {}).get("collected", run.response_count) if run else None
    status_url = None
    if active is not None:
        status_url = reverse(
            "analysis-api:run-detail", kwargs={"slug": questionnaire.slug, "run_id": active.pk}
        )
    return {
        "run": run,
        "run_collected": seen,
        "new_responses": max(collected - (seen or 0), 0) if run else collected,
        "active": active,
        "status_url": status_url,
        "runs_url": reverse("analysis-api:runs", kwargs={"slug": questionnaire.slug}),
    }


def _exports_context(questionnaire: Questionnaire) -> dict[str, str]:
    slug = questionnaire.slug
    csv = reverse("exports-api:responses-csv", kwargs={"slug": slug})
    language = {"language": get_language()}
    return {
        "exports_url": reverse("exports-api:exports", kwargs={"slug": slug}),
        "wide_csv_url": f"{csv}?{urlencode({'bom': 'true', **language})}",
        "codes_csv_url": f"{csv}?{urlencode({'bom': 'true', 'values': 'codes'})}",
        "long_csv_url": f"{csv}?{urlencode({'kind': 'responses_long', 'bom': 'true', **language})}",
        "tables_csv_url": f"{csv}?{urlencode({'kind': 'tables', 'bom': 'true'})}",
        "comparisons_csv_url": f"{csv}?{urlencode({'kind': 'comparisons', 'bom': 'true'})}",
    }


@require_GET
def results_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The results of the questionnaire's latest successful run, with the run's progress."""
    try:
        questionnaire = _granted(request, slug)
    except _LoginRequired:
        return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
    run = latest_successful_run(questionnaire)
    banner = request.GET.get("banner", "")
    ranked = request.GET.get("rank", "") == RANK_BEST
    asked = _asked(request)
    context: dict[str, Any] = {
        "questionnaire": questionnaire,
        "title": _("Results: %(title)s") % {"title": label_text(questionnaire.title)},
        "rank": RANK_BEST if ranked else "",
        "banner_key": banner,
        "rerun_url": reverse("analysis-pages:rerun", kwargs={"slug": slug}),
        "texts_url": reverse("analysis-pages:texts", kwargs={"slug": slug}),
        "table_xlsx_url": reverse("analysis-pages:table-xlsx", kwargs={"slug": slug}),
        "page_path": _page_url(slug, banner, RANK_BEST if ranked else "", asked),
        "asked": asked,
        "filter_query": urlencode(asked),
        "clear_url": _page_url(slug, banner, RANK_BEST if ranked else ""),
        "report_url": _with_query(reverse("analysis-pages:report", kwargs={"slug": slug}), asked),
        "report_docx_url": _with_query(
            reverse("analysis-pages:report-docx", kwargs={"slug": slug}), asked
        ),
        "channel_choices": Response.Channel.choices,
        "status_choices": STATUS_CHOICES[1:],
        # from the run's document: the page reads no more rows for them
        "segment_choices": [
            (segment["code"], label_text(segment.get("label")) or segment["code"])
            for segment in ((run.results or {}).get("segments") or [] if run else [])
        ],
        **collection_present(
            days=responses_per_day(questionnaire, DAYS_CHARTED),
            channels=responses_per_channel(questionnaire),
        ),
        **_run_context(questionnaire, run),
        **_exports_context(questionnaire),
        "quotas": quota_progress(questionnaire=questionnaire, language=get_language()),
    }
    document = run.results if run is not None else None
    if asked and document:
        try:
            document = filtered_results(questionnaire=questionnaire, filters=filters_parse(asked))
            status = document["filters"]["status"]
            context["filtered"] = {
                "valid": document["base"]["valid"],
                "all_valid": document["base"].get("all_valid"),
                "status": "" if status == STATUS_VALID else dict(STATUS_CHOICES)[status],
            }
        except FiltersInvalid as error:
            context["filter_errors"] = error.fields or {"": [error.message]}
        except FilteredTooLarge as error:
            context["filter_errors"] = {"": [error.message]}
    if document and document.get("weighted"):
        document = _weighting_view(request, document, context)
    if document:
        compare = (request.GET.get("compare_a", "")[:64], request.GET.get("compare_b", "")[:64])
        context.update(results_present(document, banner=banner, ranked=ranked, compare=compare))
    return render(request, "analysis/results.html", context)


def _weighting_view(
    request: HttpRequest, document: dict[str, Any], context: dict[str, Any]
) -> dict[str, Any]:
    """A weighted questionnaire's page shows the weighted tables unless ``?weights=off``; the
    switch, the bases and the run's weighting diagnostics go to the page."""
    on = request.GET.get("weights", "") != "off"
    query = request.GET.copy()
    query.pop("weights", None)
    off = request.GET.copy()
    off["weights"] = "off"
    weighted = document["weighted"]
    context["weighting"] = {
        "on": on,
        "on_url": f"?{query.urlencode()}" if query else "?",
        "off_url": f"?{off.urlencode()}",
        "base": weighted.get("base") or {},
        "diagnostics": (document.get("validity") or {}).get("weighting") or {},
    }
    return weighted_for_reading(document) if on else document


@require_POST
def results_rerun(request: HttpRequest, slug: str) -> HttpResponse:
    """Request a run (or join the one already queued) and go back to the page."""
    try:
        questionnaire = _granted(request, slug)
    except _LoginRequired:
        return redirect_to_login(_page_url(slug), settings.LOGIN_URL)
    analysis_run_request(
        questionnaire_id=questionnaire.pk,
        trigger=AnalysisRun.Trigger.MANUAL,
        requested_by=request.user,
    )
    banner = request.POST.get("banner", "")
    rank = RANK_BEST if request.POST.get("rank", "") == RANK_BEST else ""
    return HttpResponseRedirect(_page_url(questionnaire.slug, banner, rank))


def _asked(request: HttpRequest) -> dict[str, str]:
    """The reader's filters in the query string (survey.filters; checked where they are used)."""
    return {name: request.GET[name][:200] for name in PAGE_FILTERS if request.GET.get(name)}


def _whole_number(text: str | None, default: int = 1) -> int:
    return int(text) if text and text.isascii() and text.isdigit() and len(text) < 10 else default


@require_GET
def results_texts(request: HttpRequest, slug: str) -> HttpResponse:
    """The open answers of one question (``?question=``; default the first with texts),
    filtered by ``?q=``, 20 a page (``?page=``), with the most used words."""
    try:
        questionnaire = _granted(request, slug)
    except _LoginRequired:
        return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
    questions = text_questions(questionnaire)
    language = get_language()
    context: dict[str, Any] = {
        "questionnaire": questionnaire,
        "title": _("Open answers: %(title)s") % {"title": label_text(questionnaire.title)},
        "results_url": _page_url(slug),
        "response_base": reverse("analysis-pages:results", kwargs={"slug": slug}) + "responses/",
        "questions": [(q.code, label_text(q.label, language) or q.code) for q in questions],
        "page_path": request.get_full_path(),
    }
    code = request.GET.get("question", "")
    chosen = next((q for q in questions if q.code == code), questions[0] if questions else None)
    if code and (chosen is None or chosen.code != code):
        context["notice"] = _("%(code)s has no open answers; showing %(shown)s.") % {
            "code": code,
            "shown": chosen.code if chosen else "–",
        }
    asked, within = _asked(request), None
    if asked:
        try:
            filters = filters_parse(asked)
            within = responses_filtered(questionnaire=questionnaire, filters=filters)
        except FiltersInvalid as error:
            context["notice"] = (
                error.message
                + " "
                + " ".join(message for messages in error.fields.values() for message in messages)
            )
            asked = {}
    context["asked"] = asked
    context["filter_query"] = urlencode(asked)
    if chosen is not None:
        q = request.GET.get("q", "")[:100]
        page = text_answers(
            questionnaire=questionnaire,
            question=chosen,
            q=q,
            within=within,
            page=_whole_number(request.GET.get("page")),
        )
        terms = text_terms(questionnaire=questionnaire, question=chosen, q=q, within=within)
        base = reverse("analysis-pages:texts", kwargs={"slug": slug})

        def link(number: int) -> str:
            query = {"question": chosen.code, "page": number, **({"q": q} if q else {}), **asked}
            return f"{base}?{urlencode(query)}"

        others = {
            option: label_text(label, language) or option
            for option, label in chosen.options.items()
        }
        context.update(
            question=chosen,
            question_label=label_text(chosen.label, language) or chosen.code,
            q=q,
            page=page,
            answers=[(answer, others.get(answer.option or "", "")) for answer in page.answers],
            terms=terms,
            previous_url=link(page.page - 1) if page.page > 1 else "",
            next_url=link(page.page + 1) if page.page < page.pages else "",
        )
    return render(request, "analysis/texts.html", context)


def results_response(request: HttpRequest, slug: str, response_id: str) -> HttpResponse:
    """One response: its answers in words, its status and broken rules, who decided what;
    POST ``status`` and ``reason`` to decide its status (then back here)."""
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD, POST"})
    try:
        questionnaire = _granted(request, slug)
    except _LoginRequired:
        return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
    number = _whole_number(response_id, default=0)
    response = response_get(questionnaire=questionnaire, response_id=number)
    if response is None:
        raise Http404(_("%(slug)s has no response %(id)s.") % {"slug": slug, "id": response_id})
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            response_set_status(
                response=response,
                status=request.POST.get("status", ""),
                reason=request.POST.get("reason", ""),
                user=request.user,
            )
        except StatusChangeInvalid as error:
            errors = error.fields or {"status": [error.message]}
        else:
            return HttpResponseRedirect(request.path)
    language = get_language()
    names = reason_labels()
    history = status_history(response=response)
    context = {
        "questionnaire": questionnaire,
        "title": _("Response #%(id)s") % {"id": response.pk},
        "response": response,
        "results_url": _page_url(slug),
        "reasons": [names.get(kind, kind) for kind in response.reasons],
        "sections": response_sections(structure_for(questionnaire), response.answers, language),
        "history": history,
        "statuses": Response.Status.choices,
        "errors": errors,
        "posted": request.POST if errors else {},
    }
    return render(request, "analysis/response.html", context, status=400 if errors else 200)


@require_GET
def results_table_xlsx(request: HttpRequest, slug: str) -> HttpResponse:
    """One question's table (and its cross-tab by ``?banner=``, all banners without it) as a
    small XLSX: the report workbook's About, Frequencies and Cross-tabs sheets for that
    question, with the page's filters applied."""
    try:
        questionnaire = _granted(request, slug)
    except _LoginRequired:
        return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
    run = latest_successful_run(questionnaire)
    if run is None or not run.results:
        raise Http404(_("No analysis of %(slug)s has finished yet.") % {"slug": slug})
    document = run.results
    asked = _asked(request)
    if asked:
        try:
            document = filtered_results(questionnaire=questionnaire, filters=filters_parse(asked))
        except (FiltersInvalid, FilteredTooLarge) as error:
            return HttpResponse(error.message, status=400, content_type="text/plain")
    code = request.GET.get("question", "")
    table = next((t for t in document.get("questions") or [] if t["code"] == code), None)
    if table is None:
        raise Http404(_("There is no question %(code)s in these results.") % {"code": code[:40]})
    banner = [e for e in document.get("banner") or [] if e["key"] == request.GET.get("banner")]
    one = {**document, "questions": [table], "banner": banner or document.get("banner") or []}
    workbook = TablesWorkbook(one, language=get_language(), questionnaire=questionnaire, run=run)
    book = workbook.build(one_question=True)
    buffer = io.BytesIO()
    book.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"{questionnaire.slug}-{table['code']}.xlsx"
    )
    return response
