"""The question and option pages: options and items inline, locked once the questionnaire has
responses; spreadsheet import and export of labels and scores."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db.models import QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
)
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportModelAdmin

from survey.admin.base import (
    AdminExtMedia,
    DefinitionChangeAdmin,
    LockAwareInline,
    PermissionCheckedImportExportMixin,
    RulebookAdmin,
    structure_lock_reason,
)
from survey.forms.checks import kept_forms, places_broken_by_removing
from survey.forms.labels import questionnaire_of
from survey.forms.question import ItemForm, ItemFormSet, OptionForm, OptionFormSet, QuestionForm
from survey.forms.rulebook import (
    breaks,
    candidate_document,
    item_row,
    option_entry,
    option_row,
    place_problems,
    question_problems,
    stored_fields,
)
from survey.interchange_checks import definition_problems
from survey.labels import label_text
from survey.models import Item, Option, Question, Questionnaire
from survey.resources import OptionResource, QuestionResource

# --- the question page ------------------------------------------------------------------------


class OptionInline(LockAwareInline, admin.TabularInline):
    model = Option
    form = OptionForm
    formset = OptionFormSet
    structural_fields = ("code", "is_other", "exclusive")
    ordering = ("position", "id")
    verbose_name = _("option or scale point")
    verbose_name_plural = _("options (the scale, for a matrix)")

    def get_extra(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int:
        return 0 if obj else 2


class ItemInline(LockAwareInline, admin.TabularInline):
    model = Item
    form = ItemForm
    formset = ItemFormSet
    structural_fields = ("code",)
    ordering = ("position", "id")
    verbose_name_plural = _("items (rows of a matrix or number grid)")

    def get_extra(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int:
        return 0


class LockAwareAdmin:
    """A model admin of definition rows: the lock notice, read-only structure, no deleting."""

    structural_fields: tuple[str, ...] = ()
    fixed_fields: tuple[str, ...] = ()  # read-only once the row exists

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        fields = tuple(super().get_readonly_fields(request, obj))
        if obj is None:
            return fields
        fields += self.fixed_fields
        if structure_lock_reason(request, questionnaire_of(obj)):
            fields += self.structural_fields
        return fields

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and structure_lock_reason(request, questionnaire_of(obj)):
            return False
        return super().has_delete_permission(request, obj)

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict,
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        context["structure_lock_reason"] = structure_lock_reason(
            request, questionnaire_of(obj) if obj else None
        )
        return super().render_change_form(request, context, add, change, form_url, obj)


@admin.register(Question)
class QuestionAdmin(
    RulebookAdmin,
    DefinitionChangeAdmin,
    LockAwareAdmin,
    PermissionCheckedImportExportMixin,
    ImportExportModelAdmin,
):
    form = QuestionForm
    resource_classes = [QuestionResource]
    Media = AdminExtMedia
    structural_fields = ("code", "type")
    fixed_fields = ("questionnaire",)
    list_display = (
        "code",
        "label_text",
        "type",
        "section_code",
        "questionnaire_slug",
        "required",
        "position",
    )
    list_display_links = ("code", "label_text")
    list_filter = ("questionnaire", "type")
    search_fields = ("code", "questionnaire__slug")
    list_select_related = ("questionnaire", "section")
    ordering = ("questionnaire", "section__position", "position", "id")
    inlines = (OptionInline, ItemInline)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "questionnaire",
                    "section",
                    "code",
                    "type",
                    "label",
                    "required",
                    "hidden",
                    "show_if",
                    "position",
                )
            },
        ),
        (
            _("Answer limits"),
            {
                "fields": (
                    ("min_choices", "max_choices"),
                    ("min_value", "max_value", "integer"),
                    "max_length",
                )
            },
        ),
        (_("Quality checks"), {"fields": ("attention_expect", "straightlining_check")}),
    )

    @admin.display(description=_("label"))
    def label_text(self, question: Question) -> str:
        return label_text(question.label)

    @admin.display(description=_("section"), ordering="section__position")
    def section_code(self, question: Question) -> str:
        return question.section.code

    @admin.display(description=_("questionnaire"), ordering="questionnaire__slug")
    def questionnaire_slug(self, question: Question) -> str:
        return question.questionnaire.slug

    def definition_owner(self, object_id: str) -> Questionnaire | None:
        question = Question.objects.filter(pk=unquote(object_id)).first()
        return question.questionnaire if question else None

    def rulebook_judge(self, form: Any, formsets: list) -> tuple:
        by_model = {formset.model: formset for formset in formsets}
        options, items = by_model.get(Option), by_model.get(Item)
        placed = question_problems(
            form.instance,
            kept_forms(options) if options is not None else None,
            kept_forms(items) if items is not None else None,
            form,
        )
        whole = [(options, m) for m in placed.on_options] + [(items, m) for m in placed.on_items]
        return placed, whole

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple:
        """Also protected: questions that a show_if, a segment rule or the banner reads."""
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        questions = objs.select_related("questionnaire") if isinstance(objs, QuerySet) else objs
        return (
            deleted,
            model_count,
            perms_needed,
            [
                *protected,
                *places_broken_by_removing(questions),
            ],
        )


class StandaloneOptionForm(OptionForm):
    """An option edited on its own page (the list the spreadsheet import works on): the
    question with this option as edited goes to the rulebook, like the question page."""

    def _get_validation_exclusions(self) -> set[str]:
        return super()._get_validation_exclusions() | {"code"}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors or "label" not in cleaned:
            return cleaned
        question = self.instance.question
        options, index = [], None
        for option in question.options.all():
            if option.pk == self.instance.pk:
                index = len(options)
                options.append(option_entry({**stored_fields(option), **cleaned}))
            else:
                options.append(option_row(option))
        items = [item_row(item) for item in question.items.all()]
        document, path = candidate_document(question, options, items)
        targets = [self if i == index else None for i in range(len(options))]
        placed = place_problems(definition_problems(document), path, option_forms=targets)
        for target, field, message in placed.beside:
            if target is self and field in self.fields:
                self.add_error(field, message)
            else:
                self.add_error(None, message)
        for message in [*placed.on_options, *placed.on_items]:
            self.add_error(None, message)
        for message in placed.elsewhere:
            self.add_error(None, breaks(message))
        return cleaned


@admin.register(Option)
class OptionAdmin(
    DefinitionChangeAdmin,
    LockAwareAdmin,
    PermissionCheckedImportExportMixin,
    ImportExportModelAdmin,
):
    """Options in one list, for spreadsheet import/export; added on their question's page."""

    form = StandaloneOptionForm
    resource_classes = [OptionResource]
    Media = AdminExtMedia
    structural_fields = ("code", "is_other", "exclusive")
    fixed_fields = ("question",)
    fields = ("question", "code", "label", "score", "is_other", "exclusive", "hidden", "position")
    list_display = ("code", "label_text", "score", "question_code", "questionnaire_slug")
    list_display_links = ("code", "label_text")
    list_filter = ("question__questionnaire",)
    search_fields = ("code", "question__code", "question__questionnaire__slug")
    list_select_related = ("question__questionnaire",)
    ordering = (
        "question__questionnaire",
        "question__section__position",
        "question__position",
        "position",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("label"))
    def label_text(self, option: Option) -> str:
        return label_text(option.label)

    @admin.display(description=_("question"), ordering="question__code")
    def question_code(self, option: Option) -> str:
        return option.question.code

    @admin.display(description=_("questionnaire"), ordering="question__questionnaire__slug")
    def questionnaire_slug(self, option: Option) -> str:
        return option.question.questionnaire.slug

    def definition_owner(self, object_id: str) -> Questionnaire | None:
        option = Option.objects.select_related("question__questionnaire").filter(
            pk=unquote(object_id)
        )
        return option[0].question.questionnaire if option else None
