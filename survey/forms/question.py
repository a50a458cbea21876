"""The question page's forms: the question, its options and items."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from survey.forms.labels import (
    LabelField,
    LabelFormMixin,
)
from survey.models import (
    Item,
    Option,
    Question,
    Questionnaire,
    Section,
)
from survey.services.questionnaires import questionnaire_structure_lock_reason

# Fields the rulebook judges, left out of Django's model validation so that one message (the
# rulebook's, in the admin's language) is given, not two.
RULEBOOK_FIELDS = {"code", "min_value", "max_value", "min_choices", "max_choices"}

# --- the question page ------------------------------------------------------------------------


class QuestionForm(LabelFormMixin, forms.ModelForm):
    label = LabelField(label=_("label"))

    class Meta:
        model = Question
        fields = [
            "questionnaire",
            "section",
            "code",
            "type",
            "label",
            "required",
            "hidden",
            "show_if",
            "position",
            "min_choices",
            "max_choices",
            "min_value",
            "max_value",
            "integer",
            "max_length",
            "straightlining_check",
            "attention_expect",
        ]
        widgets = {"show_if": forms.Textarea(attrs={"rows": 2, "cols": 60})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        section = self.fields.get("section")
        if section is not None:
            sections = Section.objects.select_related("questionnaire")
            questionnaire_id = self.instance.questionnaire_id or self.initial.get("questionnaire")
            if questionnaire_id and not self.is_bound:
                sections = sections.filter(questionnaire_id=questionnaire_id)
            elif self.instance.questionnaire_id:
                sections = sections.filter(questionnaire_id=self.instance.questionnaire_id)
            section.queryset = sections
            section.label_from_instance = lambda s: f"{s.questionnaire.slug} / {s}"

    def _questionnaire(self) -> Questionnaire | None:
        if self.instance.questionnaire_id:
            return self.instance.questionnaire
        return self.cleaned_data.get("questionnaire")

    def clean(self) -> dict[str, Any]:
        """What only this page knows: the section is the questionnaire's, and a locked
        questionnaire takes no new question. Everything about the definition itself is the
        rulebook's, asked once the options and items are known (survey.forms.rulebook)."""
        cleaned = super().clean()
        questionnaire = self._questionnaire()
        if questionnaire is None:
            return cleaned
        if not self.instance.pk:
            self._check_can_add(questionnaire)
        section = cleaned.get("section")
        if section is not None and section.questionnaire_id != questionnaire.pk:
            self.add_error(
                "section", _("Choose a section of %(slug)s.") % {"slug": questionnaire.slug}
            )
        return cleaned

    def _get_validation_exclusions(self) -> set[str]:
        # Codes, their uniqueness and the limits are judged by the rulebook, in its words;
        # the database constraints stay as the last guard.
        return super()._get_validation_exclusions() | RULEBOOK_FIELDS

    def _check_can_add(self, questionnaire: Questionnaire) -> None:
        reason = questionnaire_structure_lock_reason(questionnaire=questionnaire)
        if reason:
            self.add_error("questionnaire", reason)


class OptionForm(LabelFormMixin, forms.ModelForm):
    label = LabelField(label=_("label"))

    class Meta:
        model = Option
        fields = ["code", "label", "score", "is_other", "exclusive", "hidden", "position"]


class ItemForm(LabelFormMixin, forms.ModelForm):
    label = LabelField(label=_("label"))

    class Meta:
        model = Item
        fields = ["code", "label", "position"]


class ChoicesFormSet(forms.BaseInlineFormSet):
    """Options or items of the question page: whether they fit the question is the
    rulebook's to say, codes included (survey.forms.rulebook)."""

    def validate_unique(self) -> None:
        return


class OptionFormSet(ChoicesFormSet):
    pass


class ItemFormSet(ChoicesFormSet):
    pass
