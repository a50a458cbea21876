"""The questionnaire page's forms (sections, scores, segments, validity rules) and the
definition-file upload."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from survey.forms.checks import (
    expression_problem,
    kept_forms,
    ordered_questions,
    question_spec,
)
from survey.forms.labels import (
    CodeListField,
    LabelField,
    LabelFormMixin,
)
from survey.interchange_problems import (
    LANGUAGE_RE,
    SEGMENT_PREFIX,
    VALIDITY_PARAMS,
    is_number,
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
    # Set by the admin: when the segments inline is on the page, it checks banner segments
    # against the segments as edited; otherwise this form checks them against the database.
    segments_checked_by_inline = False

    class Meta:
        model = Questionnaire
        fields = [
            "slug",
            "languages",
            "title",
            "intro",
            "one_response_per",
            "banner",
            "significance",
        ]

    def clean_languages(self) -> list[str]:
        languages = self.cleaned_data["languages"]
        for code in languages:
            if not LANGUAGE_RE.fullmatch(code):
                raise ValidationError(
                    _("%(code)s is not a language code (like zh-hans or en)."),
                    params={"code": code},
                )
        return languages

    def clean_banner(self) -> list[str]:
        banner = self.cleaned_data["banner"]
        questions = {}
        segments = set()
        if self.instance.pk:
            questions = dict(
                Question.objects.filter(questionnaire=self.instance).values_list("code", "type")
            )
            segments = set(
                Segment.objects.filter(questionnaire=self.instance).values_list("code", flat=True)
            )
        problems = []
        for entry in banner:
            if entry.startswith(SEGMENT_PREFIX):
                code = entry.removeprefix(SEGMENT_PREFIX)
                if not self.segments_checked_by_inline and code not in segments:
                    problems.append(_("%(entry)s: no such segment.") % {"entry": entry})
            elif entry not in questions:
                problems.append(_("%(entry)s: no such question.") % {"entry": entry})
            elif questions[entry] != Question.Type.SINGLE:
                problems.append(
                    _("%(entry)s: only single-choice questions can cut tables.") % {"entry": entry}
                )
        if problems:
            raise ValidationError(problems)
        return banner


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

    def clean_question(self) -> Question:
        question = self.cleaned_data["question"]
        if question.type not in (Question.Type.SINGLE, Question.Type.MATRIX):
            raise ValidationError(_("Only single-choice and matrix questions can be scored."))
        if not question.options.filter(score__isnull=False).exists():
            raise ValidationError(
                _("%(code)s has no scored options: give its options scores first."),
                params={"code": question.code},
            )
        return question


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
    """Compiles every rule against the questionnaire's questions, and checks that the segments
    the banner names are still there after this edit."""

    def clean(self) -> None:
        super().clean()
        specs = {q.code: question_spec(q) for q in ordered_questions(self.instance)}
        kept = set()
        for form in kept_forms(self):
            code = form.cleaned_data.get("code") or form.initial.get("code")
            if code:
                kept.add(code)
            rule = form.cleaned_data.get("rule")
            if rule and (problem := expression_problem(rule, specs)):
                form.add_error("rule", problem)
        missing = [
            entry
            for entry in self.instance.banner or []
            if str(entry).startswith(SEGMENT_PREFIX)
            and entry.removeprefix(SEGMENT_PREFIX) not in kept
        ]
        if missing:
            raise ValidationError(
                _("Banner: %(entries)s names a segment that is not kept here.")
                % {"entries": ", ".join(missing)}
            )


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
        problem = validity_params_problem(kind, params)
        if problem:
            self.add_error("params", problem)
        cleaned["params"] = params
        return cleaned


def validity_params_problem(kind: str, params: dict) -> str | None:
    """What is wrong with the parameters of a validity rule, or None."""
    expected = set(VALIDITY_PARAMS.get(kind, ()))
    unknown = sorted(set(params) - expected)
    if unknown:
        return _("Unknown parameter %(name)s; this rule takes: %(expected)s.") % {
            "name": unknown[0],
            "expected": ", ".join(sorted(expected)) or "{}",
        }
    if kind == ValidityRule.Kind.SPEEDER:
        fraction = params.get("below_fraction_of_median")
        if not is_number(fraction) or not 0 < fraction < 1:
            return _("below_fraction_of_median must be a number between 0 and 1, e.g. 0.33.")
    if kind == ValidityRule.Kind.STRAIGHTLINING:
        min_items = params.get("min_items")
        if not isinstance(min_items, int) or isinstance(min_items, bool) or min_items < 2:
            return _("min_items must be a whole number of at least 2.")
    return None


class ValidityRuleFormSet(forms.BaseInlineFormSet):
    """A rule that can never fire is refused, as in definition files."""

    def clean(self) -> None:
        super().clean()
        respondent = self.instance.one_response_per == Questionnaire.OneResponsePer.RESPONDENT
        checked = Question.objects.filter(questionnaire=self.instance, straightlining_check=True)
        for form in kept_forms(self):
            kind = form.cleaned_data.get("kind")
            if kind == ValidityRule.Kind.DUPLICATE and not respondent:
                message = _("The duplicate rule needs “one response per” set to respondent.")
                form.add_error("kind", message)
            if kind == ValidityRule.Kind.STRAIGHTLINING and not checked.exists():
                message = _("The straight-lining rule needs a matrix with the check switched on.")
                form.add_error("kind", message)


# --- uploading a definition file --------------------------------------------------------------


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
        upload = self.cleaned_data["file"]
        limit = settings.QUESTIONNAIRE_UPLOAD_MAX_BYTES
        if upload.size > limit:
            raise ValidationError(
                _("The file is %(size)s; the limit is %(limit)s."),
                params={"size": filesizeformat(upload.size), "limit": filesizeformat(limit)},
            )
        return upload
