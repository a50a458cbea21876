"""The serializers of the API's one error shape: ``ErrorOut`` for every 4xx answer,
``JobErrorOut`` for why a background job failed; and ``CopiedFieldsMixin`` for serializers on
hot paths."""

from __future__ import annotations

import copy
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from wenji.api.errors import ERROR_CODES


class CopiedFieldsMixin:
    """A serializer whose fields are shallow copies of the declared ones.

    DRF deep-copies every declared field for each serializer instance, which runs each field's
    ``__init__`` again with deep copies of its arguments: up to 0.4 ms for each of the two
    serializers of a submission (about half of their time when warm). A shallow copy is
    enough for flat serializers whose fields hold no state of their own between requests
    (``bind`` sets the name, parent and label on the copy only): use it only there, on hot
    paths."""

    def get_fields(self) -> dict[str, Any]:
        declared = self._declared_fields  # type: ignore[attr-defined]
        return {name: copy.copy(field) for name, field in declared.items()}


@extend_schema_serializer(component_name="DefinitionProblem")
class ProblemOut(serializers.Serializer):
    code = serializers.CharField(help_text=_("A stable code: duplicate_code, unknown_reference…"))
    path = serializers.CharField(help_text=_("Where: sections[1].questions[3].options[2].code"))
    message = serializers.CharField(help_text=_("What is wrong, in the request's language."))
    value = serializers.JSONField(allow_null=True, help_text=_("The offending value, if any."))


@extend_schema_serializer(component_name="Error")
class ErrorOut(serializers.Serializer):
    """The shape of every 4xx answer: a stable code, a message for a person, and the problems
    per place."""

    def get_fields(self) -> dict[str, serializers.Field]:
        # "fields" cannot be declared as a class attribute: it is the Serializer's own property.
        return {
            "error": serializers.ChoiceField(
                choices=ERROR_CODES, help_text=_("A stable code to branch on.")
            ),
            "message": serializers.CharField(help_text=_("What went wrong, for a person.")),
            "fields": serializers.DictField(
                child=serializers.ListField(child=serializers.CharField()),
                help_text=_(
                    "Problems per body field, query parameter, header or question code "
                    "(Q5, Q5.b, D6.other); empty when the problem is not about one place."
                ),
            ),
            "errors": ProblemOut(
                many=True,
                required=False,
                help_text=_("A refused definition's problems, each in full."),
            ),
        }


class JobErrorOut(serializers.Serializer):
    """Why a background job failed (an analysis run, an export), in the error shape; ``error``
    is the job's code (``analysis_failed``, ``export_failed``) and ``fields`` is empty."""

    def get_fields(self) -> dict[str, serializers.Field]:
        # "fields" cannot be declared as a class attribute: it is the Serializer's own property.
        return {
            "error": serializers.CharField(help_text=_("A stable code to branch on.")),
            "message": serializers.CharField(help_text=_("What went wrong, for a person.")),
            "fields": serializers.DictField(child=serializers.ListField()),
        }
