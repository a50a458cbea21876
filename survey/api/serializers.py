"""Input serializers (``...In``: check the shape of what a client sends) and output serializers
(``...Out``: what the API answers), kept apart. Input serializers check types only; the
services decide what is allowed (answers against the questionnaire, status decisions).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from survey.models import Questionnaire, Response, StatusChange
from survey.services.review import REASON_MAX_LENGTH
from wenji.api.serializers import CopiedFieldsMixin

# Times before this are garbage from a broken clock (and far enough from year 1 that time zone
# arithmetic cannot overflow).
EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(9999, 1, 1, tzinfo=UTC)
IDEMPOTENCY_HEADER = "Idempotency-Key"


class StrictUUIDField(serializers.UUIDField):
    """A UUID written as text; DRF would also take an integer, which is no client's UUID."""

    def to_internal_value(self, data: Any) -> uuid.UUID:
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """Text only: DRF would turn a number into text, hiding a client's bug."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class SaneDateTimeField(serializers.DateTimeField):
    """An ISO 8601 date-time from 2000 on; a time without offset is in the site's time zone."""

    def to_internal_value(self, value: Any) -> datetime:
        if not isinstance(value, str):
            self.fail("invalid", format="YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]")
        result = super().to_internal_value(value)
        _refuse_early(result)
        return result


@extend_schema_field({"type": "string", "anyOf": [{"format": "date"}, {"format": "date-time"}]})
class DateOrDateTimeField(serializers.Field):
    """A date (``2024-05-01``: the whole day counts, in the site's time zone) or a date-time.

    ``day_end`` chooses which end of a date is meant: its start (for "after", inclusive) or
    the start of the next day (for "before", exclusive), so both bounds include the day named.
    A bound before 2000 or past 9998 selects what 2000-01-01 or 9999-01-01 would (nothing is
    stored outside them): any date or date-time the schema allows is a filter.
    """

    default_error_messages = {
        "invalid": _("Use a date (2024-05-01) or a date-time (2024-05-01T08:30:00+08:00)."),
    }

    def __init__(self, *, day_end: bool = False, **kwargs: Any) -> None:
        self.day_end = day_end
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> datetime:
        text = data.strip() if isinstance(data, str) else ""
        try:
            day = parse_date(text) if len(text) == 10 else None
        except ValueError:
            self.fail("invalid")
        if day is not None:
            day = min(max(day, EARLIEST_TIME.date()), LATEST_TIME.date())
            day += timedelta(days=1) if self.day_end else timedelta()
            return timezone.make_aware(datetime.combine(day, time.min))
        try:
            parsed = parse_datetime(text)
        except ValueError:
            parsed = None
        if parsed is not None:  # clamped before any time zone arithmetic can overflow
            naive = parsed.replace(tzinfo=None)
            if naive < EARLIEST_TIME.replace(tzinfo=None) + timedelta(days=1):
                return EARLIEST_TIME
            if naive > LATEST_TIME.replace(tzinfo=None) - timedelta(days=1):
                return LATEST_TIME
        return serializers.DateTimeField().run_validation(text)

    def to_representation(self, value: datetime) -> str:
        return value.isoformat()


def _refuse_early(value: datetime) -> None:
    if value < EARLIEST_TIME:
        raise serializers.ValidationError(_("Times before 2000 are not accepted."))


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": True,
        "description": "Answers keyed by question code, as in questionnaire/v1 "
        '("Answers"): {"D1": 1, "Q5": {"a": 1, "b": 2}, "Q9": [1, 4], "D6.other": "..."}. '
        "An option code may be sent as written in the definition (1) or as its text "
        '("1", as an HTML form sends it): both name the same option, and the answer is '
        "stored as the definition writes it. Each answer is judged against the "
        "questionnaire's definition (GET .../definition/); a refusal names each place.",
    }
)
class AnswersField(serializers.JSONField):
    default_error_messages = {"not_object": _("Answers must be an object keyed by question code.")}

    def to_internal_value(self, data: Any) -> dict:
        if not isinstance(data, dict):
            self.fail("not_object")
        return data  # came from the JSON parser: no need to check it serialises


@extend_schema_serializer(component_name="Submission")
class SubmissionIn(CopiedFieldsMixin, serializers.Serializer):
    submission_id = StrictUUIDField(
        required=False,
        help_text=_(
            "The client's id of this submission (a UUID), so a retry is stored once. "
            "May be sent as the Idempotency-Key header instead; if both are sent they must match."
        ),
    )
    answers = AnswersField()
    started_at = SaneDateTimeField(required=False, allow_null=True)
    submitted_at = SaneDateTimeField(
        required=False,
        allow_null=True,
        help_text=_("When the respondent finished; defaults to now (a collector may send later)."),
    )
    respondent_key = StrictCharField(
        required=False,
        max_length=256,
        trim_whitespace=False,
        help_text=_(
            "The collector's own key for the respondent (hashed, never stored raw); the same "
            "key twice is the same respondent for duplicate detection."
        ),
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        header = self.context.get("idempotency_key")
        if header is not None:
            try:
                from_header = uuid.UUID(hex=header.strip())
            except ValueError:
                raise serializers.ValidationError(
                    {IDEMPOTENCY_HEADER: [_("Must be a UUID.")]}
                ) from None
            if attrs.get("submission_id", from_header) != from_header:
                raise serializers.ValidationError(
                    {"submission_id": [_("Differs from the Idempotency-Key header.")]}
                )
            attrs["submission_id"] = from_header
        if "submission_id" not in attrs:
            raise serializers.ValidationError(
                {"submission_id": [_("Send a submission_id or an Idempotency-Key header.")]}
            )
        return attrs


def _field_label(name: str) -> Any:
    return Response._meta.get_field(name).verbose_name


@extend_schema_serializer(component_name="SubmissionResult")
class SubmissionOut(CopiedFieldsMixin, serializers.Serializer):
    # Declared field by field, not a ModelSerializer: this answers every submission, and a
    # ModelSerializer builds its fields from the model anew for each instance (0.7 ms).
    id = serializers.IntegerField(read_only=True)
    submission_id = serializers.UUIDField(read_only=True, label=_field_label("submission_id"))
    status = serializers.ChoiceField(
        choices=Response.Status.choices, read_only=True, label=_field_label("status")
    )
    reasons = serializers.ListField(child=serializers.CharField(), read_only=True)
    status_provisional = serializers.BooleanField(read_only=True)
    over_quota = serializers.BooleanField(
        read_only=True,
        help_text=_("It fell in a full quota cell: stored, and counted in no quota cell."),
    )
    submitted_at = serializers.DateTimeField(read_only=True, label=_field_label("submitted_at"))


class OptionalChoiceField(serializers.ChoiceField):
    """A choice stored as "" when unset, shown as null."""

    def to_representation(self, value: Any) -> str | None:
        return super().to_representation(value) if value else None


@extend_schema_serializer(component_name="SurveyResponse")
class ResponseOut(serializers.ModelSerializer):
    reasons = serializers.ListField(child=serializers.CharField(), read_only=True)
    manual_status = OptionalChoiceField(
        choices=Response.Status.choices,
        allow_null=True,
        read_only=True,
        help_text=_("A reviewer's decision (null when none); it is also the status."),
    )
    answers = AnswersField(read_only=True)

    class Meta:
        model = Response
        fields = [
            "id",
            "submission_id",
            "status",
            "reasons",
            "manual_status",
            "status_provisional",
            "over_quota",
            "channel",
            "started_at",
            "submitted_at",
            "duration_seconds",
            "answers",
        ]
        read_only_fields = fields


@extend_schema_serializer(component_name="StatusChange")
class StatusChangeOut(serializers.ModelSerializer):
    changed_by = serializers.CharField(source="changed_by.get_username", read_only=True)

    class Meta:
        model = StatusChange
        fields = ["from_status", "to_status", "reason", "changed_by", "changed_at"]
        read_only_fields = fields


@extend_schema_serializer(component_name="SurveyResponseDetail")
class ResponseDetailOut(ResponseOut):
    status_changes = StatusChangeOut(many=True, read_only=True)

    class Meta(ResponseOut.Meta):
        fields = [*ResponseOut.Meta.fields, "status_changes"]
        read_only_fields = fields


class ResponseFilterIn(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=Response.Status.choices,
        required=False,
        help_text=_("The effective status (a reviewer's decision when there is one)."),
    )
    submitted_after = DateOrDateTimeField(
        required=False,
        help_text=_("From this date (the whole day, site time zone) or date-time (inclusive)."),
    )
    submitted_before = DateOrDateTimeField(
        required=False,
        day_end=True,
        help_text=_("Up to this date (the whole day included) or before this date-time."),
    )


_CONTROL = "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f"
REASON_PATTERN = f"^[^{_CONTROL}]*[^\\s{_CONTROL}][^{_CONTROL}]*$"


@extend_schema_serializer(component_name="StatusDecision")
class StatusChangeIn(serializers.Serializer):
    status = serializers.ChoiceField(choices=Response.Status.choices)
    reason = StrictCharField(
        trim_whitespace=False,
        max_length=REASON_MAX_LENGTH,
        # what the review service holds a reason to, said where the schema can say it: some
        # text that is not only spaces, and no control character but line breaks and tabs
        validators=[RegexValidator(REASON_PATTERN, message=_("Say why the status changes."))],
        help_text=_("Why; required, not blank."),
    )


@extend_schema_serializer(component_name="QuestionnaireDefinition")
class DefinitionOut(serializers.Serializer):
    slug = serializers.CharField()
    status = serializers.ChoiceField(
        choices=Questionnaire.Status.choices,
        help_text=_("Only an open questionnaire accepts submissions."),
    )
    definition_version = serializers.IntegerField()
    definition = serializers.DictField(
        help_text=_("The questionnaire in the questionnaire/v1 interchange format.")
    )
