"""The REST API, one view per operation. Views check who is asking, parse input with an
``...In`` serializer, call one selector or service and answer with an ``...Out`` serializer;
errors of every kind reach the client through ``wenji.api.errors`` in one shape, and access is
checked as ``wenji.api.permissions`` says.
"""

from __future__ import annotations

from functools import partial

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from survey.api.serializers import (
    IDEMPOTENCY_HEADER,
    DefinitionOut,
    ResponseDetailOut,
    ResponseFilterIn,
    ResponseOut,
    StatusChangeIn,
    SubmissionIn,
    SubmissionOut,
)
from survey.models import Questionnaire, Response
from survey.selectors_responses import questionnaire_by_slug, response_get, response_list
from survey.services.identity import Identity
from survey.services.questionnaires import questionnaire_export
from survey.services.responses import SubmissionError, response_submit
from survey.services.review import response_set_status
from wenji.access import (
    is_admin,
    may_read_definition,
    questionnaire_for_user_remembered,
    questionnaire_forget,
    questionnaire_remember,
)
from wenji.api.pagination import StrictPageNumberPagination
from wenji.api.parsers import JSONBodyParser
from wenji.api.permissions import IsAnalyst, IsCollector, granted_questionnaire
from wenji.api.schema import MAX_ID, SLUG_PARAMETER, errors
from wenji.api.throttling import (
    DefinitionThrottle,
    RateTakenWithToken,
    SubmitThrottle,
    client_ip,
)

RESPONSE_ID_PARAMETER = OpenApiParameter(
    "response_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The response's id."
)


class DefinitionView(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [DefinitionThrottle]

    @extend_schema(
        operation_id="questionnaire_definition",
        parameters=[SLUG_PARAMETER],
        summary="A questionnaire's definition (questionnaire/v1)",
        description="Public for open and closed questionnaires; drafts only for admins and "
        "analysts granted the questionnaire.",
        responses={200: DefinitionOut, **errors(401, 404, 429)},
        tags=["questionnaires"],
    )
    def get(self, request: Request, slug: str) -> ApiResponse:
        questionnaire = questionnaire_by_slug(slug=slug)
        if questionnaire is None or not may_read_definition(request.user, questionnaire):
            raise NotFound(_("There is no questionnaire %s.") % slug)
        body = {
            "slug": questionnaire.slug,
            "status": questionnaire.status,
            "definition_version": questionnaire.definition_version,
            "definition": questionnaire_export(questionnaire=questionnaire),
        }
        return ApiResponse(DefinitionOut(body).data)


class SubmissionCreateView(RateTakenWithToken, APIView):
    permission_classes = [IsCollector]
    throttle_classes = [SubmitThrottle]
    token_rate = SubmitThrottle  # taken in the token's round trip: one round trip to Redis
    parser_classes = [JSONBodyParser]

    @extend_schema(
        operation_id="submission_create",
        summary="Submit one response",
        description="Stores a response once per submission_id: a retry with the same id and "
        "answers answers 200 with the stored response; other answers under the same id are "
        "a 409. For collectors granted the questionnaire, and admins.",
        parameters=[
            SLUG_PARAMETER,
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                OpenApiTypes.UUID,
                OpenApiParameter.HEADER,
                description="The submission_id, as a header (must match the body's if both).",
            ),
        ],
        request=SubmissionIn,
        responses={
            201: OpenApiResponse(SubmissionOut, description="Stored."),
            200: OpenApiResponse(SubmissionOut, description="Already stored (a retry)."),
            **errors(400, 401, 403, 404, 409, 413, 415, 429),
        },
        tags=["submissions"],
    )
    def post(self, request: Request, slug: str) -> ApiResponse:
        # The questionnaire as this process found it for this collector before, if it did:
        # response_submit's INSERT checks the row is unchanged and still granted.
        who = {"slug": slug, "user": request.user, "admin": is_admin(request.user)}
        questionnaire, remembered = questionnaire_for_user_remembered(**who)
        if questionnaire is None:
            raise NotFound(_("There is no questionnaire %s you can access.") % slug)
        data = SubmissionIn(
            data=request.data,
            context={"idempotency_key": request.headers.get(IDEMPOTENCY_HEADER)},
        )
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        key = fields.get("respondent_key")
        submit = partial(
            response_submit,
            answers=fields["answers"],
            submission_id=fields["submission_id"],
            channel=Response.Channel.API,
            identity=Identity("collector", f"{request.user.pk}:{key}") if key else None,
            started_at=fields.get("started_at"),
            submitted_at=fields.get("submitted_at"),
            ip_address=client_ip(request),
            granted_to=None if who["admin"] else request.user,
        )
        read_at = questionnaire.updated_at  # moves with every change to it
        try:
            result = submit(questionnaire=questionnaire)
        except SubmissionError:
            questionnaire_forget(**who)
            if not remembered:
                raise
            # A refusal may come from what was remembered (closed since, reopened since, a
            # new definition): judged again against the questionnaire as it is now.
            questionnaire = granted_questionnaire(request, slug)
            result = submit(questionnaire=questionnaire)
        if not remembered or questionnaire.updated_at != read_at:  # found or read again
            questionnaire_remember(**who, questionnaire=questionnaire)
        code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        return ApiResponse(SubmissionOut(result.response).data, status=code)


class ResponseListView(ListAPIView):
    permission_classes = [IsAnalyst]
    serializer_class = ResponseOut
    pagination_class = StrictPageNumberPagination
    queryset = Response.objects.none()  # for the schema; get_queryset is what runs

    @extend_schema(
        operation_id="response_list",
        summary="A questionnaire's responses, newest first",
        parameters=[SLUG_PARAMETER, ResponseFilterIn],
        responses={200: ResponseOut(many=True), **errors(400, 401, 403, 404)},
        tags=["responses"],
    )
    def get(self, request: Request, slug: str) -> ApiResponse:
        return super().get(request, slug)

    def get_queryset(self) -> QuerySet[Response]:
        if getattr(self, "swagger_fake_view", False):
            return Response.objects.none()
        questionnaire = granted_questionnaire(self.request, self.kwargs["slug"])
        # A plain dict, so an empty value is refused rather than read as "no filter".
        filters = ResponseFilterIn(data=self.request.query_params.dict())
        filters.is_valid(raise_exception=True)
        return response_list(questionnaire=questionnaire, **filters.validated_data)


def _response_in(questionnaire: Questionnaire, response_id: str) -> Response:
    number = int(response_id) if response_id.isascii() and response_id.isdigit() else 0
    response = None
    if 0 < number <= MAX_ID:
        response = response_get(questionnaire=questionnaire, response_id=number)
    if response is None:
        message = _("Questionnaire %(slug)s has no response %(id)s.")
        raise NotFound(message % {"slug": questionnaire.slug, "id": response_id})
    return response


class ResponseDetailView(APIView):
    permission_classes = [IsAnalyst]

    @extend_schema(
        operation_id="response_detail",
        parameters=[SLUG_PARAMETER, RESPONSE_ID_PARAMETER],
        summary="One response with its status history",
        responses={200: ResponseDetailOut, **errors(401, 403, 404)},
        tags=["responses"],
    )
    def get(self, request: Request, slug: str, response_id: str) -> ApiResponse:
        response = _response_in(granted_questionnaire(request, slug), response_id)
        return ApiResponse(ResponseDetailOut(response).data)


class ResponseStatusView(APIView):
    permission_classes = [IsAnalyst]
    parser_classes = [JSONBodyParser]

    @extend_schema(
        operation_id="response_set_status",
        parameters=[SLUG_PARAMETER, RESPONSE_ID_PARAMETER],
        summary="Decide a response's status (kept over the validity rules)",
        request=StatusChangeIn,
        responses={200: ResponseDetailOut, **errors(400, 401, 403, 404, 413, 415)},
        tags=["responses"],
    )
    def post(self, request: Request, slug: str, response_id: str) -> ApiResponse:
        questionnaire = granted_questionnaire(request, slug)
        response = _response_in(questionnaire, response_id)
        data = StatusChangeIn(data=request.data)
        data.is_valid(raise_exception=True)
        response_set_status(
            response=response,
            status=data.validated_data["status"],
            reason=data.validated_data["reason"],
            user=request.user,
        )
        # Read again: the answer shows the decision in the history.
        return ApiResponse(ResponseDetailOut(_response_in(questionnaire, response_id)).data)
