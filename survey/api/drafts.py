"""The definition API for admins: drafts with optimistic concurrency, the diff, publishing, and
creating a questionnaire from a document.

    GET    questionnaires/<slug>/definition/draft/  the draft (else the definition in force), ETag
    PUT    questionnaires/<slug>/definition/draft/  replace it; If-Match required (412, 428)
    DELETE questionnaires/<slug>/definition/draft/  discard it
    GET  questionnaires/<slug>/definition/diff/     what publishing would change
    POST questionnaires/<slug>/definition/publish/  apply the draft as the next version
    POST questionnaires/                            a new questionnaire from a document

Invalid documents are refused whole with every problem (``errors``: code, path, message,
value) in the request's language; see ``survey.services.drafts`` for the promises.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from survey.api.serializers import DefinitionOut
from survey.services.drafts import (
    DraftState,
    definition_draft_diff,
    definition_draft_discard,
    definition_draft_get,
    definition_draft_save,
    definition_publish,
    questionnaire_create,
)
from survey.services.questionnaires import questionnaire_export
from wenji.api.errors import PreconditionRequired
from wenji.api.parsers import JSONBodyParser
from wenji.api.permissions import IsAdmin, granted_questionnaire
from wenji.api.schema import SLUG_PARAMETER, errors


class DraftOut(serializers.Serializer):
    slug = serializers.CharField()
    drafted = serializers.BooleanField(
        help_text="False while nothing is drafted: this is then the definition in force."
    )
    revision = serializers.IntegerField(help_text="Rises with every save of the draft (0: none).")
    based_on_version = serializers.IntegerField(
        help_text="The definition_version the draft was made from."
    )
    definition = serializers.DictField(help_text="A questionnaire/v1 document.")


class DraftIn(serializers.Serializer):
    definition = serializers.DictField(help_text="The whole questionnaire/v1 document.")


class ChangeOut(serializers.Serializer):
    what = serializers.CharField(help_text="question, option, scale_point, item, score, …")
    change = serializers.ChoiceField(choices=["added", "removed", "changed"])
    question = serializers.CharField(allow_null=True)
    code = serializers.CharField(allow_null=True)
    field = serializers.CharField(allow_null=True)
    old = serializers.JSONField(allow_null=True)
    new = serializers.JSONField(allow_null=True)
    structural = serializers.BooleanField(
        help_text="Answers point at what it adds, removes or recodes."
    )
    description = serializers.CharField(help_text="The change in words.")
    answers = serializers.IntegerField(
        allow_null=True, help_text="Stored answers a structural change touches."
    )


class DiffOut(serializers.Serializer):
    slug = serializers.CharField()
    definition_version = serializers.IntegerField()
    changes = ChangeOut(many=True)


ETAG = OpenApiParameter(
    "ETag", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200], description="The version."
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description="The ETag of the version you edited.",
)


def _draft_answer(slug: str, state: DraftState) -> ApiResponse:
    body = {
        "slug": slug,
        "drafted": state.drafted,
        "revision": state.revision,
        "based_on_version": state.based_on_version,
        "definition": state.document,
    }
    return ApiResponse(DraftOut(body).data, headers={"ETag": state.etag})


class DraftView(APIView):
    permission_classes = [IsAdmin]
    parser_classes = [JSONBodyParser]

    @extend_schema(
        operation_id="definition_draft_read",
        parameters=[SLUG_PARAMETER, ETAG],
        summary="The definition draft (or the definition in force)",
        responses={200: DraftOut, **errors(401, 403, 404)},
        tags=["definitions"],
    )
    def get(self, request: Request, slug: str) -> ApiResponse:
        questionnaire = granted_questionnaire(request, slug)
        return _draft_answer(questionnaire.slug, definition_draft_get(questionnaire=questionnaire))

    @extend_schema(
        operation_id="definition_draft_replace",
        parameters=[SLUG_PARAMETER, IF_MATCH, ETAG],
        summary="Replace the definition draft",
        description="The whole document, validated before anything is stored; If-Match must "
        "be the ETag last read (412 when someone saved since, 428 without it).",
        request=DraftIn,
        responses={200: DraftOut, **errors(400, 401, 403, 404, 412, 415, 428)},
        tags=["definitions"],
    )
    def put(self, request: Request, slug: str) -> ApiResponse:
        questionnaire = granted_questionnaire(request, slug)
        if_match = request.headers.get("If-Match")
        if not if_match:
            raise PreconditionRequired()
        data = DraftIn(data=request.data)
        data.is_valid(raise_exception=True)
        state = definition_draft_save(
            questionnaire=questionnaire,
            document=data.validated_data["definition"],
            if_match=if_match,
            user=request.user,
        )
        return _draft_answer(questionnaire.slug, state)

    @extend_schema(
        operation_id="definition_draft_discard",
        parameters=[SLUG_PARAMETER],
        summary="Discard the definition draft",
        description="The definition in force is untouched. 204 whether or not there was one.",
        responses={204: None, **errors(401, 403, 404)},
        tags=["definitions"],
    )
    def delete(self, request: Request, slug: str) -> ApiResponse:
        definition_draft_discard(questionnaire=granted_questionnaire(request, slug))
        return ApiResponse(status=status.HTTP_204_NO_CONTENT)


class DiffView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="definition_draft_diff",
        parameters=[SLUG_PARAMETER],
        summary="What publishing the draft would change",
        responses={200: DiffOut, **errors(401, 403, 404)},
        tags=["definitions"],
    )
    def get(self, request: Request, slug: str) -> ApiResponse:
        questionnaire = granted_questionnaire(request, slug)
        body = {
            "slug": questionnaire.slug,
            "definition_version": questionnaire.definition_version,
            "changes": definition_draft_diff(questionnaire=questionnaire),
        }
        return ApiResponse(DiffOut(body).data)


class PublishView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="definition_publish",
        parameters=[SLUG_PARAMETER],
        request=None,
        summary="Publish the draft as the next definition version",
        description="Structural changes (an answered question or option removed, a type "
        "changed) are refused while the questionnaire has responses (409, with the answers "
        "each would orphan); the draft is then kept.",
        responses={200: DefinitionOut, **errors(401, 403, 404, 409)},
        tags=["definitions"],
    )
    def post(self, request: Request, slug: str) -> ApiResponse:
        questionnaire = definition_publish(questionnaire=granted_questionnaire(request, slug))
        return ApiResponse(DefinitionOut(_definition_body(questionnaire)).data)


class QuestionnaireCreateView(APIView):
    permission_classes = [IsAdmin]
    parser_classes = [JSONBodyParser]

    @extend_schema(
        operation_id="questionnaire_create",
        summary="Create a questionnaire from a questionnaire/v1 document",
        request=DraftIn,
        responses={
            201: OpenApiResponse(DefinitionOut, description="Created, as a draft."),
            **errors(400, 401, 403, 409, 415),
        },
        tags=["definitions"],
    )
    def post(self, request: Request) -> ApiResponse:
        data = DraftIn(data=request.data)
        data.is_valid(raise_exception=True)
        questionnaire = questionnaire_create(document=data.validated_data["definition"])
        body = DefinitionOut(_definition_body(questionnaire)).data
        return ApiResponse(body, status=status.HTTP_201_CREATED)


def _definition_body(questionnaire) -> dict:
    return {
        "slug": questionnaire.slug,
        "status": questionnaire.status,
        "definition_version": questionnaire.definition_version,
        "definition": questionnaire_export(questionnaire=questionnaire),
    }
