"""Respondents' rights for admins: delete one respondent's data on request (PIPL art. 47).

    POST questionnaires/<slug>/respondents/forget/   {kind, value[, collector]} → deleted count

The identity is hashed as it was when they answered and never stored or logged; see
``survey.services.forget`` for the promises.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from survey.models import Respondent
from survey.services.forget import ForgetInvalid, forget_identity, respondent_forget
from wenji.api.parsers import JSONBodyParser
from wenji.api.permissions import IsAdmin, granted_questionnaire
from wenji.api.schema import SLUG_PARAMETER, errors


class ForgetIn(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=Respondent.Kind.choices,
        help_text="wechat: the WeChat openid; device: the form's device id; collector: the "
        "respondent key a collector sent (with `collector`, that collector's username).",
    )
    value = serializers.CharField(max_length=256, trim_whitespace=False)
    collector = serializers.CharField(max_length=150, required=False)


class ForgetOut(serializers.Serializer):
    deleted_responses = serializers.IntegerField(min_value=0)


class ForgetView(APIView):
    permission_classes = [IsAdmin]
    parser_classes = [JSONBodyParser]

    @extend_schema(
        operation_id="respondent_forget",
        parameters=[SLUG_PARAMETER],
        summary="Delete one respondent's responses on request (PIPL art. 47)",
        description="Finds the respondent by the identity they gave, hashed as when they "
        "answered, and deletes their responses to this questionnaire with their answers and "
        "status history, in one transaction; an audit row records who, where and how many, "
        "never the identity. An identity that never answered gives 0 (and is recorded too).",
        request=ForgetIn,
        responses={200: ForgetOut, **errors(400, 401, 403, 404, 413, 415)},
        tags=["respondents"],
    )
    def post(self, request: Request, slug: str) -> ApiResponse:
        questionnaire = granted_questionnaire(request, slug)
        data = ForgetIn(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            identity = forget_identity(
                kind=data.validated_data["kind"],
                value=data.validated_data["value"],
                collector=data.validated_data.get("collector", ""),
            )
        except ForgetInvalid as error:
            raise serializers.ValidationError(error.fields) from error
        deleted = respondent_forget(
            questionnaire=questionnaire, identity=identity, user=request.user
        )
        return ApiResponse(ForgetOut({"deleted_responses": deleted}).data)
