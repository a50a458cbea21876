"""The questionnaire page's forms (sections, scores, segments, validity rules) and the
definition-file upload."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from survey.forms.labels import (
    CodeListField,
    LabelField,
    LabelFormMixin,
)
from survey.models import (
    DerivedScore,
    Question,
    Questionnaire,
    Section,
    Segment,
    ValidityRule,
)

# --- the questionnaire page -------------------------------------------------------------------


class QuestionnaireForm(LabelFormMixin, forms.ModelForm):
    title = LabelField(label=_("title"))
    intro = LabelField(label=_("introduction"), required=False, textarea=True)
    languages = CodeListField(
        label=_("languages"), help_text=_("Language codes, the default first: zh-hans, en")
    )
    banner = CodeListField(
        label=_("banner"),
        required=False,
        help_text=_("Codes of single-choice questions and segment:CODE, e.g. D1, segment:active"),
    )

    class Meta:
        model = Questionnaire
        fields = [
            "slug",
            "languages",
            "title",
            "intro",
            "one_response_per",
            "identity_retention_days",
            "banner",
            "significance",
            "correction",
        ]

    def _get_validation_exclusions(self) -> set[str]:
        # The slug's form is the rulebook's to judge (survey.forms.rulebook), in its words.
        return super()._get_validation_exclusions() | {"slug"}


class SectionForm(LabelFormMixin, forms.ModelForm):
    title = LabelField(label=_("title"), required=False)

    class Meta:
        model = Section
        fields = ["code", "title", "position"]


class DerivedScoreForm(LabelFormMixin, forms.ModelForm):
    label = LabelField(label=_("label"))

    class Meta:
        model = DerivedScore
        fields = ["code", "question", "label", "position"]


class DerivedScoreFormSet(forms.BaseInlineFormSet):
    """Offers only the questionnaire's single-choice and matrix questions to score."""

    def add_fields(self, form: forms.ModelForm, index: int | None) -> None:
        super().add_fields(form, index)
        if "question" in form.fields:
            questions = Question.objects.none()
            if self.instance.pk:
                questions = Question.objects.filter(
                    questionnaire=self.instance,
                    type__in=[Question.Type.SINGLE, Question.Type.MATRIX],
                )
            form.fields["question"].queryset = questions


class SegmentForm(LabelFormMixin, forms.ModelForm):
    label = LabelField(label=_("label"))

    class Meta:
        model = Segment
        fields = ["code", "label", "rule", "position"]
        widgets = {"rule": forms.Textarea(attrs={"rows": 2, "cols": 60})}


class SegmentFormSet(forms.BaseInlineFormSet):
    """Rules, codes and the banner's segments are the rulebook's to judge."""

    def validate_unique(self) -> None:
        return


class ValidityRuleForm(forms.ModelForm):
    class Meta:
        model = ValidityRule
        fields = ["kind", "action", "params"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        kind, params = cleaned.get("kind"), cleaned.get("params")
        if kind is None or "params" in self.errors:
            return cleaned
        if params in ("", None):
            params = {}
        if not isinstance(params, dict):
            self.add_error("params", _("Give the parameters as a JSON object, e.g. {}."))
            return cleaned
        cleaned["params"] = params
        return cleaned


class ValidityRuleFormSet(forms.BaseInlineFormSet):
    """Whether a rule can ever fire is the rulebook's to judge (rule_never_applies)."""


# --- uploading a definition file --------------------------------------------------------------


def upload_within_limit(upload: Any) -> Any:
    """The uploaded definition file, unless it is over QUESTIONNAIRE_UPLOAD_MAX_BYTES."""
    limit = settings.QUESTIONNAIRE_UPLOAD_MAX_BYTES
    if upload.size > limit:
        raise ValidationError(
            _("The file is %(size)s; the limit is %(limit)s."),
            params={"size": filesizeformat(upload.size), "limit": filesizeformat(limit)},
        )
    return upload


class DraftUploadForm(forms.Form):
    """A definition file to store as the questionnaire's draft (its slug must stay)."""

    file = forms.FileField(
        label=_("Definition file"),
        help_text=_("A questionnaire/v1 file (YAML or JSON) or an XLSForm."),
    )
    etag = forms.CharField(widget=forms.HiddenInput)

    def clean_file(self):
        return upload_within_limit(self.cleaned_data["file"])


class DefinitionUploadForm(forms.Form):
    file = forms.FileField(label=_("Definition file"))
    replace = forms.BooleanField(
        label=_("Replace the existing questionnaire with the same slug"),
        required=False,
        help_text=_(
            "Without this, a file whose slug exists is refused. With responses, only labels, "
            "scores, segments, validity rules and analysis settings can change."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit = filesizeformat(settings.QUESTIONNAIRE_UPLOAD_MAX_BYTES)
        self.fields["file"].help_text = _(
            "A questionnaire/v1 file (YAML or JSON) or an XLSForm (.xlsx, .xls), at most %(limit)s."
        ) % {"limit": limit}

    def clean_file(self):
        return upload_within_limit(self.cleaned_data["file"])
