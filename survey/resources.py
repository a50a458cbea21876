"""Spreadsheet import and export of questions and options (django-import-export resources).

Promises:
- ``QuestionResource`` and ``OptionResource`` export one row per question / option with the
  questionnaire's slug, the codes, the label in one column per language (``label_zh_hans``,
  ``label_en``) and, for options, the score. Importing the same columns updates the rows
  found by (slug, question code[, option code]); rows are never deleted by an import.
- On a questionnaire whose structure is locked (it has responses), a row that would add a
  question or option, or change a question's section or type, is refused with an error on
  that row; label, ``required`` and score edits go through. Without the lock, a row with a new
  code adds the question (given its section and type) or option.
- When an import (not a dry run) changes what the analysis reads of a questionnaire (its
  ``definition_digest``), ``questionnaire_definition_changed`` is called once for it.
- ``FormulaEscapingMixin`` quotes every exported text cell a spreadsheet would run as a
  formula (one starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) and takes the
  quote off again on import, with ``wenji.cells`` (the one rule for every written cell).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Max, QuerySet
from django.utils.translation import gettext as _
from import_export import widgets
from import_export.fields import Field
from import_export.resources import ModelResource

from survey.forms.labels import label_default_language, label_in, questionnaire_of
from survey.forms.rulebook import (
    Placed,
    breaks,
    candidate_document,
    item_row,
    option_row,
    place_problems,
)
from survey.interchange_checks import definition_problems
from survey.models import Option, Question, Questionnaire, Section
from survey.services.definitions import definition_digest
from survey.services.questionnaires import (
    questionnaire_definition_changed,
    questionnaire_export,
    questionnaire_structure_lock_reason,
)
from wenji.cells import escape_formula, unescape_formula


class FormulaEscapingMixin:
    """For resources: exported text cells are formula-escaped, imported ones unescaped."""

    def export_field(self, field: Field, instance: Any, **kwargs: Any) -> Any:
        value = super().export_field(field, instance, **kwargs)
        return escape_formula(value) if isinstance(value, str) else value

    def before_import_row(self, row: dict, **kwargs: Any) -> None:
        super().before_import_row(row, **kwargs)
        for column, value in row.items():
            if isinstance(value, str):
                row[column] = unescape_formula(value)


# --- cells -----------------------------------------------------------------------------------


def label_column(language: str) -> str:
    """The column of a label's text in ``language``: ``label_zh_hans``, ``label_en``."""
    return "label_" + language.replace("-", "_").lower()


def cell_text(value: Any) -> str:
    """A cell as trimmed text; whole numbers (as spreadsheets give codes) without ``.0``."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _label_map(label: Any, language: str) -> dict[str, str]:
    if isinstance(label, dict):
        return dict(label)
    return {language: label} if isinstance(label, str) and label else {}


class LabelColumn(Field):
    """The label's text in one language. Importing sets that language (empty: removes it)."""

    def __init__(self, language: str) -> None:
        super().__init__(attribute="label", column_name=label_column(language))
        self.language = language

    def get_value(self, instance: Any) -> str:
        default = label_default_language(questionnaire_of(instance))
        return label_in(instance.label, self.language, default_language=default)

    def save(self, instance: Any, row: dict, is_m2m: bool = False, **kwargs: Any) -> None:
        text = cell_text(row[self.column_name])
        label = _label_map(instance.label, label_default_language(questionnaire_of(instance)))
        if text:
            label[self.language] = text
        else:
            label.pop(self.language, None)
        instance.label = label


def with_label_columns(resource_class: type) -> type:
    """Class decorator: one ``LabelColumn`` per language of ``settings.LANGUAGES``."""
    for code, _name in settings.LANGUAGES:
        resource_class.fields[label_column(code)] = LabelColumn(code)
    return resource_class


LABEL_COLUMNS = tuple(label_column(code) for code, _name in settings.LANGUAGES)


class ScoreWidget(widgets.NumberWidget):
    """A score: exported as a plain number (``4``, ``2.5``), imported as a Decimal."""

    def clean(self, value: Any, row: dict | None = None, **kwargs: Any) -> Decimal | None:
        text = cell_text(value)
        if not text:
            return None
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(_("“%(value)s” is not a number.") % {"value": text}) from None
        if not number.is_finite():
            raise ValueError(_("“%(value)s” is not a number.") % {"value": text})
        return number

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> Any:
        if value is None:
            return ""
        value = Decimal(value)
        return int(value) if value == value.to_integral_value() else value.normalize()


class StrictBooleanWidget(widgets.BooleanWidget):
    """1/0, true/false, yes/no (是/否); anything else is an error, not a silent "false"."""

    TRUE_WORDS = frozenset({"1", "true", "yes", "y", "是"})
    FALSE_WORDS = frozenset({"0", "false", "no", "n", "否"})

    def clean(self, value: Any, row: dict | None = None, **kwargs: Any) -> bool | None:
        if isinstance(value, bool):
            return value
        text = cell_text(value).lower()
        if not text:
            return None
        if text in self.TRUE_WORDS:
            return True
        if text in self.FALSE_WORDS:
            return False
        raise ValueError(_("“%(value)s” is not yes or no (use 1 or 0).") % {"value": text})


# --- the shared import logic -----------------------------------------------------------------


class DefinitionRowResource(FormulaEscapingMixin, ModelResource):
    """Rows of a questionnaire definition, found by codes; see the module's promises."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._questionnaires: dict[str, Questionnaire] = {}
        self._locks: dict[int, str | None] = {}
        self._digests: dict[int, str] = {}  # what the analysis read before this import

    def before_import(self, dataset: Any, **kwargs: Any) -> None:
        super().before_import(dataset, **kwargs)
        slugs = set()
        if dataset.headers and "questionnaire" in dataset.headers:
            slugs = {unescape_formula(cell_text(v)) for v in dataset["questionnaire"]}
        self._questionnaires = {q.slug: q for q in Questionnaire.objects.filter(slug__in=slugs)}
        self._digests = {}
        if not kwargs.get("dry_run"):
            for questionnaire in self._questionnaires.values():
                document = questionnaire_export(questionnaire=questionnaire)
                self._digests[questionnaire.pk] = definition_digest(document)

    def questionnaire_for(self, row: dict) -> Questionnaire:
        slug = cell_text(row.get("questionnaire"))
        questionnaire = self._questionnaires.get(slug)
        if questionnaire is None:
            message = _("No questionnaire has the slug “%(slug)s”.") % {"slug": slug}
            raise ValidationError({"questionnaire": message})
        return questionnaire

    def lock_reason(self, questionnaire: Questionnaire) -> str | None:
        if questionnaire.pk not in self._locks:
            reason = questionnaire_structure_lock_reason(questionnaire=questionnaire)
            self._locks[questionnaire.pk] = reason
        return self._locks[questionnaire.pk]

    def refuse_if_locked(self, questionnaire: Questionnaire, column: str, change: str) -> None:
        reason = self.lock_reason(questionnaire)
        if reason:
            raise ValidationError({column: f"{change}: {reason}"})

    def import_instance(self, instance: Any, row: dict, **kwargs: Any) -> None:
        questionnaire = self.questionnaire_for(row)
        new = instance.pk is None
        original_label = instance.label
        if new:
            self.init_new_row(instance, questionnaire, row)
        else:
            self.update_structure(instance, questionnaire, row)
        super().import_instance(instance, row, **kwargs)
        self._finish_label(instance, original_label, questionnaire)

    def _finish_label(self, instance: Any, original: Any, questionnaire: Questionnaire) -> None:
        language = label_default_language(questionnaire)
        if not instance.label:
            raise ValidationError({LABEL_COLUMNS[0]: _("Give the label in at least one language.")})
        if isinstance(original, str) and instance.label == {language: original}:
            instance.label = original

    def validate_instance(
        self, instance: Any, import_validation_errors: dict | None = None, validate_unique=True
    ) -> None:
        # A row already refused (unknown code, locked structure) is not half-built model
        # data worth validating: its own message is the clearest one.
        if import_validation_errors:
            raise ValidationError(import_validation_errors)
        super().validate_instance(instance, import_validation_errors, validate_unique)
        errors = self.rulebook_errors(instance)
        if errors:
            raise ValidationError(errors)

    def rulebook_errors(self, instance: Any) -> dict[str, list[str]]:
        """The rulebook's problems with this row applied, by column (see survey.forms.rulebook)."""
        raise NotImplementedError

    @staticmethod
    def columns_of(
        placed: Placed, mine: Any, columns: dict[str, str], default: str = NON_FIELD_ERRORS
    ) -> dict[str, list[str]]:
        """Problems by column: those of this row's own fields on their column, the rest on
        ``default`` (the column whose change caused them)."""
        errors: dict[str, list[str]] = {}
        for target, field, message in placed.beside:
            if target is mine and field in columns:
                errors.setdefault(columns[field], []).append(message)
            else:  # a field this sheet has no column for: name it
                text = f"{field}: {message}" if field and target is mine else message
                errors.setdefault(default, []).append(text)
        for key, messages in (("options", placed.on_options), ("items", placed.on_items)):
            for message in messages:
                errors.setdefault(default, []).append(f"{key}: {message}")
        for message in placed.elsewhere:
            text = breaks(message)
            errors.setdefault(NON_FIELD_ERRORS, []).append(text)
        return errors

    def after_import(self, dataset: Any, result: Any, **kwargs: Any) -> None:
        super().after_import(dataset, result, **kwargs)
        if not kwargs.get("dry_run") and not result.has_errors():
            for questionnaire in self._questionnaires.values():
                document = questionnaire_export(questionnaire=questionnaire)
                if definition_digest(document) != self._digests.get(questionnaire.pk):
                    questionnaire_definition_changed(questionnaire=questionnaire)
        self._digests = {}

    def for_delete(self, row: dict, instance: Any) -> bool:
        return False  # rows are removed in the admin or by a definition file, never here

    def init_new_row(self, instance: Any, questionnaire: Questionnaire, row: dict) -> None:
        raise NotImplementedError

    def update_structure(self, instance: Any, questionnaire: Questionnaire, row: dict) -> None:
        raise NotImplementedError


def _next_position(queryset: QuerySet) -> int:
    highest = queryset.aggregate(highest=Max("position"))["highest"]
    return 0 if highest is None else highest + 1


# --- questions -------------------------------------------------------------------------------


@with_label_columns
class QuestionResource(DefinitionRowResource):
    questionnaire = Field(
        attribute="questionnaire__slug", column_name="questionnaire", readonly=True
    )
    section = Field(attribute="section__code", column_name="section", readonly=True)
    code = Field(attribute="code", column_name="question", readonly=True)
    type = Field(attribute="type", column_name="type", readonly=True)
    required = Field(
        attribute="required",
        column_name="required",
        widget=StrictBooleanWidget(),
        saves_null_values=False,
    )

    class Meta:
        model = Question
        fields = ("questionnaire", "section", "code", "type", "required", *LABEL_COLUMNS)
        import_id_fields = ("questionnaire", "code")
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True

    def get_queryset(self) -> QuerySet:
        return Question.objects.select_related("questionnaire", "section")

    def filter_export(self, queryset: QuerySet, **kwargs: Any) -> QuerySet:
        return super().filter_export(queryset, **kwargs).select_related("questionnaire", "section")

    def get_instance(self, instance_loader: Any, row: dict) -> Question | None:
        questionnaire = self.questionnaire_for(row)
        code = cell_text(row.get("question"))
        return (
            Question.objects.select_related("questionnaire", "section")
            .filter(questionnaire=questionnaire, code=code)
            .first()
        )

    def init_new_row(self, instance: Question, questionnaire: Questionnaire, row: dict) -> None:
        code = cell_text(row.get("question"))
        change = _("%(slug)s has no question %(code)s, and none can be added") % {
            "slug": questionnaire.slug,
            "code": code,
        }
        self.refuse_if_locked(questionnaire, "question", change)
        instance.questionnaire = questionnaire
        instance.code = code
        instance.section = self._section(questionnaire, row)
        instance.type = self._type(row)
        instance.position = _next_position(Question.objects.filter(section=instance.section))

    def update_structure(self, instance: Question, questionnaire: Questionnaire, row: dict) -> None:
        section = cell_text(row.get("section"))
        if "section" in row and section != instance.section.code:
            change = _("%(code)s cannot move to section %(section)s") % {
                "code": instance.code,
                "section": section,
            }
            self.refuse_if_locked(questionnaire, "section", change)
            instance.section = self._section(questionnaire, row)
        qtype = cell_text(row.get("type"))
        if "type" in row and qtype != instance.type:
            change = _("%(code)s cannot change its type to %(type)s") % {
                "code": instance.code,
                "type": qtype,
            }
            self.refuse_if_locked(questionnaire, "type", change)
            instance.type = self._type(row)

    _COLUMNS = {
        "label": LABEL_COLUMNS[0],
        "type": "type",
        "code": "question",
        "required": "required",
    }

    def rulebook_errors(self, instance: Question) -> dict[str, list[str]]:
        options = [option_row(o) for o in instance.options.all()] if instance.pk else []
        items = [item_row(i) for i in instance.items.all()] if instance.pk else []
        document, path = candidate_document(instance, options, items)
        placed = place_problems(definition_problems(document), path)
        return self.columns_of(placed, None, self._COLUMNS, default="type")

    def _section(self, questionnaire: Questionnaire, row: dict) -> Section:
        code = cell_text(row.get("section"))
        section = Section.objects.filter(questionnaire=questionnaire, code=code).first()
        if section is None:
            message = _("%(slug)s has no section “%(code)s”.")
            raise ValidationError({"section": message % {"slug": questionnaire.slug, "code": code}})
        return section

    def _type(self, row: dict) -> str:
        qtype = cell_text(row.get("type"))
        if qtype not in Question.Type.values:
            message = _("“%(type)s” is not a question type; use one of: %(types)s.")
            types = ", ".join(Question.Type.values)
            raise ValidationError({"type": message % {"type": qtype, "types": types}})
        return qtype


# --- options ---------------------------------------------------------------------------------


@with_label_columns
class OptionResource(DefinitionRowResource):
    questionnaire = Field(
        attribute="question__questionnaire__slug", column_name="questionnaire", readonly=True
    )
    question = Field(attribute="question__code", column_name="question", readonly=True)
    code = Field(attribute="code", column_name="option", readonly=True)
    score = Field(attribute="score", column_name="score", widget=ScoreWidget())

    class Meta:
        model = Option
        fields = ("questionnaire", "question", "code", *LABEL_COLUMNS, "score")
        import_id_fields = ("questionnaire", "question", "code")
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True

    def get_queryset(self) -> QuerySet:
        return Option.objects.select_related("question__questionnaire")

    def filter_export(self, queryset: QuerySet, **kwargs: Any) -> QuerySet:
        return super().filter_export(queryset, **kwargs).select_related("question__questionnaire")

    def _question(self, row: dict) -> Question:
        questionnaire = self.questionnaire_for(row)
        code = cell_text(row.get("question"))
        question = (
            Question.objects.select_related("questionnaire")
            .filter(questionnaire=questionnaire, code=code)
            .first()
        )
        if question is None:
            message = _("%(slug)s has no question “%(code)s”.")
            raise ValidationError(
                {"question": message % {"slug": questionnaire.slug, "code": code}}
            )
        return question

    def get_instance(self, instance_loader: Any, row: dict) -> Option | None:
        question = self._question(row)
        option = Option.objects.filter(question=question, code=cell_text(row.get("option"))).first()
        if option is not None:
            option.question = question  # already loaded, with its questionnaire
        return option

    def init_new_row(self, instance: Option, questionnaire: Questionnaire, row: dict) -> None:
        question = self._question(row)
        code = cell_text(row.get("option"))
        change = _("%(question)s has no option %(code)s, and none can be added") % {
            "question": question.code,
            "code": code,
        }
        self.refuse_if_locked(questionnaire, "option", change)
        if question.type not in Question.CHOICE_TYPES:
            message = _("%(question)s is a %(type)s question and has no options.")
            values = {"question": question.code, "type": question.type}
            raise ValidationError({"option": message % values})
        if not code:
            raise ValidationError({"option": _("Give the option's code.")})
        instance.question = question
        instance.code = code
        instance.position = _next_position(Option.objects.filter(question=question))

    def update_structure(self, instance: Option, questionnaire: Questionnaire, row: dict) -> None:
        """Nothing structural can change on an existing option row: its codes find it."""

    _COLUMNS = {"label": LABEL_COLUMNS[0], "score": "score", "code": "option"}

    def rulebook_errors(self, instance: Option) -> dict[str, list[str]]:
        question = instance.question
        options, index = [], None
        for option in question.options.all():
            if option.pk == instance.pk:
                index = len(options)
                options.append(option_row(instance))
            else:
                options.append(option_row(option))
        if index is None:
            index = len(options)
            options.append(option_row(instance))
        items = [item_row(i) for i in question.items.all()]
        document, path = candidate_document(question, options, items)
        targets = [instance if i == index else None for i in range(len(options))]
        placed = place_problems(definition_problems(document), path, option_forms=targets)
        return self.columns_of(placed, instance, self._COLUMNS)
