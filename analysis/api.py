"""The analysis API under /api/v1/questionnaires/<slug>/analysis/ (see docs/analysis-runs.md).

    POST runs/            request a run (202; gives back the queued run if one is waiting)
    GET  runs/            the runs, newest first (paginated, without results)
    GET  runs/<id>/       one run: poll its status and progress
    GET  ./               the latest successful run's results; ?run=<id> for an older one
    GET  texts/           open answers of one question (?question=&q=&page=), with word counts

Access as in ``wenji.api.permissions``: admins, and analysts granted the questionnaire; one
not granted is "not found" (404), another role is refused (403), anonymous asks to log in
(401). Errors have the API's one shape (``wenji.api.errors``).
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from analysis.models import AnalysisRun
from analysis.selectors import latest_successful_run, run_get, run_list
from analysis.services.filtered import PAGE_FILTERS, filtered_results
from analysis.services.runs import analysis_run_request
from analysis.services.texts import (
    MAX_PAGE_SIZE,
    MAX_QUERY_LENGTH,
    PAGE_SIZE,
    TextQuestion,
    text_answers,
    text_questions,
    text_terms,
)
from survey.filters import STATUS_CHOICES, filters_parse, responses_filtered
from survey.labels import label_text
from survey.models import Questionnaire, Response
from wenji.api.errors import error_body
from wenji.api.pagination import JobPagination
from wenji.api.parsers import JSONBodyParser
from wenji.api.permissions import IsAnalyst, granted_questionnaire
from wenji.api.schema import MAX_ID, SLUG_PARAMETER, errors
from wenji.api.serializers import ErrorOut, JobErrorOut

# --- serializers -----------------------------------------------------------------------------


class AnalysisRunOut(serializers.Serializer):
    id = serializers.IntegerField()
    questionnaire = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=AnalysisRun.Status.choices)
    status_label = serializers.CharField(
        source="get_status_display", help_text=gettext_lazy("The status in the reader's language.")
    )
    trigger = serializers.ChoiceField(choices=AnalysisRun.Trigger.choices)
    progress = serializers.IntegerField(help_text=gettext_lazy("0–100, rises as the run goes."))
    definition_version = serializers.IntegerField(allow_null=True)
    attempts = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    heartbeat_at = serializers.DateTimeField(allow_null=True)
    response_count = serializers.IntegerField(
        allow_null=True, help_text=gettext_lazy("Responses collected when the run started.")
    )
    counts = serializers.JSONField(
        help_text=gettext_lazy(
            "The validity summary: collected, valid, invalid, invalid_by_reason, flagged, "
            "valid_rate, median_duration, speeder_threshold (empty until computed)."
        )
    )
    requested_by = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    results_url = serializers.SerializerMethodField()

    def get_questionnaire(self, run: AnalysisRun) -> str:
        return self.context["questionnaire"].slug

    def get_requested_by(self, run: AnalysisRun) -> str | None:
        return run.requested_by.get_username() if run.requested_by else None

    @extend_schema_field(JobErrorOut(allow_null=True))
    def get_error(self, run: AnalysisRun) -> dict[str, Any] | None:
        if run.status != AnalysisRun.Status.FAILED:
            return None
        message = _("The analysis failed: %(error)s") % {"error": run.error}
        return error_body("analysis_failed", message)

    def get_url(self, run: AnalysisRun) -> str:
        slug = self.context["questionnaire"].slug
        return reverse("analysis-api:run-detail", kwargs={"slug": slug, "run_id": run.pk})

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_results_url(self, run: AnalysisRun) -> str | None:
        if run.status != AnalysisRun.Status.DONE:
            return None
        slug = self.context["questionnaire"].slug
        return f"{reverse('analysis-api:results', kwargs={'slug': slug})}?run={run.pk}"


class AnalysisResultsOut(serializers.Serializer):
    run = AnalysisRunOut()
    results = serializers.JSONField(
        help_text=gettext_lazy("The results document: see docs/analysis-results.md.")
    )


class ResultsFiltersIn(serializers.Serializer):
    """The reader's filters (survey.filters), as query parameters of the results and texts."""

    status = serializers.ChoiceField(
        choices=STATUS_CHOICES,
        required=False,
        help_text=gettext_lazy(
            "Filter: which responses by validity status (default valid: valid or flagged)."
        ),
    )
    submitted_from = serializers.CharField(
        required=False,
        max_length=40,
        help_text=gettext_lazy("Filter: a date (from its start) or date-time, inclusive."),
    )
    submitted_to = serializers.CharField(
        required=False,
        max_length=40,
        help_text=gettext_lazy("Filter: a date (through its end) or date-time, inclusive."),
    )
    channel = serializers.ChoiceField(
        choices=Response.Channel.choices,
        required=False,
        help_text=gettext_lazy("Filter: only responses that came this way."),
    )
    segment = serializers.CharField(
        required=False, max_length=64, help_text=gettext_lazy("Filter: a segment's code.")
    )
    answer = serializers.CharField(
        required=False,
        max_length=200,
        help_text=gettext_lazy("Filter: Q3=1 (chose option 1 of Q3) or Q5.a=1 (matrix item)."),
    )


class AnalysisResultsIn(ResultsFiltersIn):
    run = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text=gettext_lazy("A done run's id (default: the latest)."),
    )


class TextAnswersIn(ResultsFiltersIn):
    question = serializers.CharField(
        max_length=64, help_text=gettext_lazy("A text question, or one with an “other” option.")
    )
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MAX_QUERY_LENGTH,
        help_text=gettext_lazy("Only texts that contain this (case-insensitive)."),
    )
    page = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID, default=1)
    page_size = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_PAGE_SIZE, default=PAGE_SIZE
    )


class TextAnswerOut(serializers.Serializer):
    response_id = serializers.IntegerField()
    option = serializers.CharField(
        allow_null=True, help_text=gettext_lazy("The “other” option's code; null for a text.")
    )
    text = serializers.CharField()
    submitted_at = serializers.DateTimeField()


class TermOut(serializers.Serializer):
    term = serializers.CharField()
    answers = serializers.IntegerField(help_text=gettext_lazy("Answers that use the word."))


class TermsOut(serializers.Serializer):
    read = serializers.IntegerField(help_text=gettext_lazy("Answers segmented (the newest)."))
    total = serializers.IntegerField()
    terms = TermOut(many=True)


class TextAnswersOut(serializers.Serializer):
    question = serializers.CharField()
    label = serializers.CharField()
    kind = serializers.ChoiceField(choices=[("text", "text"), ("other", "other")])
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    results = TextAnswerOut(many=True)
    terms = TermsOut()


class AnalysisRunPageOut(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = AnalysisRunOut(many=True)


# --- views -----------------------------------------------------------------------------------


def _not_found(description: str) -> dict[int, OpenApiResponse]:
    return {404: OpenApiResponse(response=ErrorOut, description=description)}


_NO_QUESTIONNAIRE = "No such questionnaire, or it is not granted to you."
RUN_ID_PARAMETER = OpenApiParameter(
    "run_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The run's id."
)


def _run_id(text: str) -> int | None:
    """The run id of the URL (which takes any text, see analysis/urls.py), or None."""
    number = int(text) if text.isascii() and text.isdigit() else 0
    return number if 0 < number <= MAX_ID else None


def _run_out(run: AnalysisRun, questionnaire: Questionnaire) -> dict[str, Any]:
    return AnalysisRunOut(run, context={"questionnaire": questionnaire}).data


class AnalysisRunsView(APIView):
    # One URL, two operations (as DRF's ListCreateAPIView): request a run, list the runs.

    permission_classes = [IsAnalyst]
    parser_classes = [JSONBodyParser]

    @extend_schema(
        operation_id="analysis_run_create",
        summary="Request an analysis run",
        parameters=[SLUG_PARAMETER],
        description="Queues a run of the whole analysis (validity, tables, tests). When a run "
        "is already queued, that run is the answer (at most one waits per questionnaire). "
        "Poll the run's `url` for status and progress. No body.",
        request=None,
        responses={202: AnalysisRunOut, **errors(401, 403), **_not_found(_NO_QUESTIONNAIRE)},
        tags=["analysis"],
    )
    def post(self, request: Request, slug: str) -> ApiResponse:
        questionnaire = granted_questionnaire(request, slug)
        run = analysis_run_request(
            questionnaire_id=questionnaire.pk,
            trigger=AnalysisRun.Trigger.MANUAL,
            requested_by=request.user,
        )
        # With Celery eager (a laptop) the run was executed on commit, just now: show that.
        fresh = run_get(questionnaire=questionnaire, run_id=run.pk) or run
        return ApiResponse(_run_out(fresh, questionnaire), status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        operation_id="analysis_run_list",
        summary="A questionnaire's analysis runs, newest first",
        parameters=[SLUG_PARAMETER],
        description="Paginated (`?page=`, `?page_size=` up to 200); without results documents.",
        responses={200: AnalysisRunPageOut, **errors(401, 403), **_not_found(_NO_QUESTIONNAIRE)},
        tags=["analysis"],
    )
    def get(self, request: Request, slug: str) -> ApiResponse:
        questionnaire = granted_questionnaire(request, slug)
        paginator = JobPagination()
        page = paginator.paginate_queryset(run_list(questionnaire=questionnaire), request, self)
        runs = AnalysisRunOut(page, many=True, context={"questionnaire": questionnaire}).data
        return paginator.get_paginated_response(runs)


class AnalysisRunDetailView(APIView):
    permission_classes = [IsAnalyst]

    @extend_schema(
        operation_id="analysis_run_detail",
        summary="One analysis run: status, progress, counts, error",
        parameters=[SLUG_PARAMETER, RUN_ID_PARAMETER],
        description="Poll this while the run is queued or running; `progress` rises to 100.",
        responses={
            200: AnalysisRunOut,
            **errors(401, 403),
            **_not_found("No such questionnaire (or not granted to you), or no such run."),
        },
        tags=["analysis"],
    )
    def get(self, request: Request, slug: str, run_id: str) -> ApiResponse:
        questionnaire = granted_questionnaire(request, slug)
        number = _run_id(run_id)
        run = run_get(questionnaire=questionnaire, run_id=number) if number else None
        if run is None:
            message = _("Questionnaire %(slug)s has no analysis run %(id)s.")
            raise NotFound(message % {"slug": slug, "id": run_id})
        return ApiResponse(_run_out(run, questionnaire))


class AnalysisResultsView(APIView):
    permission_classes = [IsAnalyst]

    @extend_schema(
        operation_id="analysis_results",
        summary="The results of the latest successful analysis run (or of ?run=<id>)",
        description="Only done runs have results; a failed or unfinished run never replaces "
        "the latest successful one. 404 until a run has finished. With filters (the exports' "
        "grammar: status, submitted_from, submitted_to, channel, segment, answer) the same "
        "document is computed now over the responses they select (valid ones unless status "
        "says otherwise) (`results.filters` says which; "
        "`results.base.all_valid` is the unfiltered base); above the live limit, a 400.",
        parameters=[SLUG_PARAMETER, AnalysisResultsIn],
        responses={
            200: AnalysisResultsOut,
            **errors(400, 401, 403),
            **_not_found(
                "No such questionnaire (or not granted to you), no finished run yet, or that "
                "run has no results (not done, or its results were cleared as too old)."
            ),
        },
        tags=["analysis"],
    )
    def get(self, request: Request, slug: str) -> ApiResponse:
        questionnaire = granted_questionnaire(request, slug)
        # A plain dict, not the QueryDict: DRF would read "?run=" as no run at all.
        query = AnalysisResultsIn(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        run_id = query.validated_data.get("run")
        asked = {k: v for k, v in query.validated_data.items() if k in PAGE_FILTERS}
        if run_id is None:
            run = latest_successful_run(questionnaire)
            missing = _("No analysis of %(slug)s has finished yet.")
        else:
            run = run_get(questionnaire=questionnaire, run_id=run_id, results=True)
            missing = _("Analysis run %(id)s of %(slug)s has no results.")
        if run is None or run.status != AnalysisRun.Status.DONE or run.results is None:
            raise NotFound(missing % {"slug": slug, "id": run_id})
        results = run.results
        if asked:  # refusals (invalid_filters, filtered_too_large) are 400s naming the field
            filters = filters_parse(asked)
            results = filtered_results(questionnaire=questionnaire, filters=filters)
        body = {"run": _run_out(run, questionnaire), "results": results}
        return ApiResponse(body)


class TextAnswersView(APIView):
    permission_classes = [IsAnalyst]

    @extend_schema(
        operation_id="analysis_texts",
        summary="Open answers of one question, searchable and paged, with word counts",
        description="The texts of a text question, or the “other, please specify” texts of a "
        "choice question, over valid responses, newest first; `terms` are the most used words "
        "(Chinese segmented with jieba, stop words dropped) over the matching answers, at most "
        "the newest 20,000 (`read` says how many).",
        parameters=[SLUG_PARAMETER, TextAnswersIn],
        responses={
            200: TextAnswersOut,
            **errors(400, 401, 403),
            **_not_found(_NO_QUESTIONNAIRE),
        },
        tags=["analysis"],
    )
    def get(self, request: Request, slug: str) -> ApiResponse:
        questionnaire = granted_questionnaire(request, slug)
        query = TextAnswersIn(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        data = query.validated_data
        question = text_question(questionnaire, data["question"])
        q = data.get("q", "")
        asked = {k: v for k, v in data.items() if k in PAGE_FILTERS}
        within = None
        if asked:  # a refusal (invalid_filters) is a 400 naming the field
            filters = filters_parse(asked)
            within = responses_filtered(questionnaire=questionnaire, filters=filters)
        page = text_answers(
            questionnaire=questionnaire,
            question=question,
            q=q,
            within=within,
            page=data["page"],
            page_size=data["page_size"],
        )
        terms = text_terms(questionnaire=questionnaire, question=question, q=q, within=within)
        body = {
            "question": question.code,
            "label": label_text(question.label),
            "kind": question.kind,
            "count": page.count,
            "page": page.page,
            "pages": page.pages,
            "results": [
                {
                    "response_id": answer.response_id,
                    "option": answer.option,
                    "text": answer.text,
                    "submitted_at": answer.submitted_at,
                }
                for answer in page.answers
            ],
            "terms": {
                "read": terms.read,
                "total": terms.total,
                "terms": [{"term": term, "answers": count} for term, count in terms.terms],
            },
        }
        return ApiResponse(TextAnswersOut(body).data)


def text_question(questionnaire: Questionnaire, code: str) -> TextQuestion:
    """The question ``code`` if it has texts; else a 400 naming ``question``."""
    questions = {question.code: question for question in text_questions(questionnaire)}
    if code not in questions:
        choices = ", ".join(questions) or _("none")
        message = _("%(code)s has no text answers; questions with texts: %(choices)s.")
        raise ValidationError({"question": [message % {"code": code, "choices": choices}]})
    return questions[code]
