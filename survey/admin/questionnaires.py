"""The questionnaire page: sections, scores, segments and validity rules inline; publish,
close, and definition files (upload, download)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.forms import BaseInlineFormSet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _

from survey.admin.base import (
    DEFINITION_FORMATS,
    AdminExtMedia,
    DefinitionChangeAdmin,
    RulebookAdmin,
    structure_lock_reason,
)
from survey.forms.questionnaire import (
    DefinitionUploadForm,
    DerivedScoreForm,
    DerivedScoreFormSet,
    DraftUploadForm,
    QuestionnaireForm,
    SectionForm,
    SegmentForm,
    SegmentFormSet,
    ValidityRuleForm,
    ValidityRuleFormSet,
)
from survey.forms.rulebook import questionnaire_problems
from survey.interchange import (
    FILE_FORMATS,
    DefinitionError,
    read_definition_file,
    write_definition_file,
)
from survey.interchange_checks import definition_problems
from survey.interchange_problems import SLUG_RE
from survey.labels import label_text
from survey.models import (
    DerivedScore,
    Question,
    Questionnaire,
    Response,
    Section,
    Segment,
    ValidityRule,
)
from survey.services.drafts import (
    DefinitionInvalid,
    definition_draft_diff,
    definition_draft_discard,
    definition_draft_get,
    definition_draft_save,
    definition_publish,
)
from survey.services.questionnaires import (
    QuestionnaireStateError,
    questionnaire_close,
    questionnaire_export,
    questionnaire_import,
    questionnaire_publish,
)
from wenji.errors import DomainError

# --- the questionnaire page -------------------------------------------------------------------


class SectionFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        for form in self.deleted_forms:
            section = form.instance
            if section.pk and section.questions.exists():
                raise ValidationError(
                    _(
                        "Section %(code)s still has questions: move them to another section "
                        "before removing it."
                    )
                    % {"code": section.code}
                )


class SectionInline(admin.TabularInline):
    """Sections are layout: editable whether or not the questionnaire has responses."""

    model = Section
    form = SectionForm
    formset = SectionFormSet
    extra = 0
    ordering = ("position", "id")


class QuestionSummaryInline(admin.TabularInline):
    """The questions, read-only, each linking to its own page."""

    model = Question
    fields = ("code", "type", "section_code", "label_text", "required", "show_if")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    verbose_name = _("question")
    verbose_name_plural = _("questions (each is edited on its own page)")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("section")

    def has_add_permission(self, request: HttpRequest, obj: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("section"))
    def section_code(self, question: Question) -> str:
        return question.section.code

    @admin.display(description=_("label"))
    def label_text(self, question: Question) -> str:
        return label_text(question.label)


class DerivedScoreInline(admin.TabularInline):
    model = DerivedScore
    form = DerivedScoreForm
    formset = DerivedScoreFormSet
    extra = 0
    ordering = ("position", "id")


class SegmentInline(admin.TabularInline):
    model = Segment
    form = SegmentForm
    formset = SegmentFormSet
    extra = 0
    ordering = ("position", "id")


class ValidityRuleInline(admin.TabularInline):
    model = ValidityRule
    form = ValidityRuleForm
    formset = ValidityRuleFormSet
    extra = 0


def _count(model: type, **filters: Any) -> Coalesce:
    rows = (
        model.objects.filter(questionnaire=OuterRef("pk"), **filters)
        .order_by()
        .values("questionnaire")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


@admin.register(Questionnaire)
class QuestionnaireAdmin(RulebookAdmin, DefinitionChangeAdmin, admin.ModelAdmin):
    Media = AdminExtMedia
    form = QuestionnaireForm
    change_list_template = "admin/survey/questionnaire/change_list.html"
    change_form_template = "admin/survey/questionnaire/change_form.html"
    list_display = (
        "slug",
        "title_text",
        "status",
        "question_count",
        "response_count",
        "opened_at",
        "closed_at",
        "pages",
    )
    list_filter = ("status",)
    search_fields = ("slug",)
    readonly_fields = (
        "status",
        "definition_version",
        "opened_at",
        "closed_at",
        "created_at",
        "updated_at",
        "sharing",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "slug",
                    "status",
                    "languages",
                    "title",
                    "intro",
                    "one_response_per",
                    "identity_retention_days",
                )
            },
        ),
        (_("Sharing"), {"fields": ("sharing",)}),
        (_("Analysis"), {"fields": ("banner", "significance", "correction", "definition_version")}),
        (
            _("Dates"),
            {"fields": ("opened_at", "closed_at", "created_at", "updated_at")},
        ),
    )
    inlines = (
        SectionInline,
        QuestionSummaryInline,
        DerivedScoreInline,
        SegmentInline,
        ValidityRuleInline,
    )
    actions = (
        "publish_selected",
        "close_selected",
        "download_yaml",
        "download_json",
        "download_xlsform",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .annotate(question_count=_count(Question), response_count=_count(Response))
        )

    @admin.display(description=_("title"))
    def title_text(self, questionnaire: Questionnaire) -> str:
        return label_text(questionnaire.title)

    @admin.display(description=_("pages"))
    def pages(self, questionnaire: Questionnaire) -> str:
        """Links to the studio's builder and to the results (by URL name: no import upward)."""
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a>',
            reverse("studio:builder", args=[questionnaire.slug]),
            _("Studio"),
            reverse("analysis-pages:results", args=[questionnaire.slug]),
            _("Results"),
        )

    @admin.display(description=_("public link and QR code"))
    def sharing(self, questionnaire: Questionnaire) -> str:
        """The link to give out and a QR code for posters and WeChat groups."""
        if questionnaire.pk is None or not SLUG_RE.fullmatch(questionnaire.slug or ""):
            return "—"  # not saved yet, or the page holds a slug the rulebook refuses
        form_url = reverse("survey:form", args=[questionnaire.slug])
        qr_url = reverse("survey:qr", args=[questionnaire.slug])
        return format_html(
            '<p><a href="{0}" target="_blank" rel="noopener">{0}</a></p>'
            '<p><img src="{1}" alt="{2}" width="160" height="160"></p>'
            '<p><a href="{1}" download="{3}-qr.svg">{4}</a></p>',
            form_url,
            qr_url,
            _("QR code of the public link"),
            questionnaire.slug,
            _("Download QR code (SVG)"),
        )

    @admin.display(description=_("questions"), ordering="question_count")
    def question_count(self, questionnaire: Questionnaire) -> int:
        return questionnaire.question_count

    @admin.display(description=_("responses"), ordering="response_count")
    def response_count(self, questionnaire: Questionnaire) -> int:
        return questionnaire.response_count

    def rulebook_judge(self, form: Any, formsets: list) -> tuple:
        by_model = {formset.model: formset for formset in formsets}
        return questionnaire_problems(
            form.instance,
            form,
            sections=by_model.get(Section),
            scores=by_model.get(DerivedScore),
            segments=by_model.get(Segment),
            validity=by_model.get(ValidityRule),
        )

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict,
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Questionnaire | None = None,
    ) -> HttpResponse:
        context["structure_lock_reason"] = structure_lock_reason(request, obj)
        if obj is not None and obj.pk:
            context["questions_url"] = (
                reverse("admin:survey_question_changelist") + f"?questionnaire__id__exact={obj.pk}"
            )
            context["add_question_url"] = (
                reverse("admin:survey_question_add") + f"?questionnaire={obj.pk}"
            )
            context["can_publish"] = self.has_change_permission(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def definition_owner(self, object_id: str) -> Questionnaire | None:
        return Questionnaire.objects.filter(pk=unquote(object_id)).first()

    # --- URLs: buttons of the change page and the import page

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path(
                "import-definition/",
                wrap(self.import_definition_view),
                name=f"{name}_import_definition",
            ),
            path("<path:object_id>/publish/", wrap(self.publish_view), name=f"{name}_publish"),
            path("<path:object_id>/draft/", wrap(self.draft_view), name=f"{name}_draft"),
            path("<path:object_id>/close/", wrap(self.close_view), name=f"{name}_close"),
            path(
                "<path:object_id>/definition.<str:fmt>",
                wrap(self.download_view),
                name=f"{name}_definition",
            ),
            *super().get_urls(),
        ]

    def _object_or_404(self, request: HttpRequest, object_id: str) -> Questionnaire:
        questionnaire = self.get_object(request, unquote(object_id))
        if questionnaire is None:
            raise Http404(_("No questionnaire with id %(id)s.") % {"id": object_id})
        return questionnaire

    def _change_url(self, questionnaire: Questionnaire) -> str:
        return reverse("admin:survey_questionnaire_change", args=[questionnaire.pk])

    def publish_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        questionnaire = self._object_or_404(request, object_id)
        if not self.has_change_permission(request, questionnaire):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        self._publish(request, questionnaire)
        return HttpResponseRedirect(self._change_url(questionnaire))

    def close_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        questionnaire = self._object_or_404(request, object_id)
        if not self.has_change_permission(request, questionnaire):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        self._close(request, questionnaire)
        return HttpResponseRedirect(self._change_url(questionnaire))

    def download_view(self, request: HttpRequest, object_id: str, fmt: str) -> HttpResponse:
        questionnaire = self._object_or_404(request, object_id)
        if not self.has_view_permission(request, questionnaire):
            raise PermissionDenied
        if fmt not in DEFINITION_FORMATS:
            raise Http404(_("Definitions download as .yaml, .json or .xlsx (XLSForm)."))
        return self._definition_response(questionnaire, fmt)

    def draft_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The draft of the next definition: upload it as a file, see what publishing would
        change (with the answers a change touches), publish or discard it."""
        questionnaire = self._object_or_404(request, object_id)
        if not self.has_change_permission(request, questionnaire):
            raise PermissionDenied
        here = reverse("admin:survey_questionnaire_draft", args=[questionnaire.pk])
        form = DraftUploadForm()
        action = request.POST.get("action") if request.method == "POST" else None
        if action == "publish":
            try:
                definition_publish(questionnaire=questionnaire)
            except DomainError as error:
                self._refused(request, error)
                return HttpResponseRedirect(here)
            self.log_change(request, questionnaire, _("Published the draft"))
            message = _("The draft of %(slug)s was published as definition version %(version)s.")
            questionnaire.refresh_from_db()
            values = {"slug": questionnaire.slug, "version": questionnaire.definition_version}
            self.message_user(request, message % values, messages.SUCCESS)
            return HttpResponseRedirect(self._change_url(questionnaire))
        if action == "discard":
            if definition_draft_discard(questionnaire=questionnaire):
                self.message_user(request, _("The draft was discarded."), messages.SUCCESS)
            return HttpResponseRedirect(here)
        if action == "upload":
            form = DraftUploadForm(request.POST, request.FILES)
            if form.is_valid() and self._save_draft(request, questionnaire, form):
                return HttpResponseRedirect(here)
        state = definition_draft_get(questionnaire=questionnaire)
        if not form.is_bound:
            form = DraftUploadForm(initial={"etag": state.etag})
        context = {
            **self.admin_site.each_context(request),
            "title": _("Draft of %(slug)s") % {"slug": questionnaire.slug},
            "opts": self.opts,
            "original": questionnaire,
            "has_view_permission": True,
            "state": state,
            "changes": definition_draft_diff(questionnaire=questionnaire) if state.drafted else [],
            "problems": definition_problems(state.document) if state.drafted else [],
            "form": form,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/survey/questionnaire/draft.html", context)

    def _save_draft(
        self, request: HttpRequest, questionnaire: Questionnaire, form: DraftUploadForm
    ) -> bool:
        upload = form.cleaned_data["file"]
        try:
            document = read_definition_file(upload.read(), filename=upload.name).document
            definition_draft_save(
                questionnaire=questionnaire,
                document=document,
                if_match=form.cleaned_data["etag"],
                user=request.user,
            )
        except DefinitionError as error:  # not a readable file
            for problem in error.problems:
                form.add_error("file", problem)
            return False
        except DefinitionInvalid as error:
            for problem in error.problems:
                form.add_error("file", str(problem))
            return False
        except DomainError as error:  # someone saved or published since this page was read
            form.add_error(None, error.message)
            return False
        message = _("%(file)s was saved as the draft of %(slug)s.")
        self.message_user(
            request, message % {"file": upload.name, "slug": questionnaire.slug}, messages.SUCCESS
        )
        return True

    def _refused(self, request: HttpRequest, error: DomainError) -> None:
        problems = getattr(error, "problems", [])
        text = error.message
        if problems:
            text += " " + "; ".join(p.message for p in problems)
        self.message_user(request, text, messages.ERROR)

    def import_definition_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = DefinitionUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            questionnaire = self._import_definition(request, form)
            if questionnaire is not None:
                return HttpResponseRedirect(self._change_url(questionnaire))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import a definition file"),
            "form": form,
            "opts": self.opts,
            "has_view_permission": self.has_view_permission(request),
            "media": self.media + form.media,
        }
        return TemplateResponse(
            request, "admin/survey/questionnaire/import_definition.html", context
        )

    # --- what the views and actions do

    def _import_definition(
        self, request: HttpRequest, form: DefinitionUploadForm
    ) -> Questionnaire | None:
        replace = form.cleaned_data["replace"]
        if replace and not self.has_change_permission(request):
            form.add_error("replace", _("You may not change existing questionnaires."))
            return None
        upload = form.cleaned_data["file"]
        try:
            read = read_definition_file(upload.read(), filename=upload.name)
            definition = read.document
            existed = Questionnaire.objects.filter(slug=definition.get("slug")).exists()
            questionnaire = questionnaire_import(definition=definition, replace=replace)
        except DefinitionError as exc:
            for problem in exc.problems:
                form.add_error("file", problem)
            return None
        if existed:
            self.log_change(request, questionnaire, _("Replaced from %s") % upload.name)
            message = _("%(slug)s was updated from %(file)s.")
        else:
            self.log_addition(request, questionnaire, _("Imported from %s") % upload.name)
            message = _("%(slug)s was imported from %(file)s.")
        self.message_user(
            request, message % {"slug": questionnaire.slug, "file": upload.name}, messages.SUCCESS
        )
        for note in read.notes:
            self.message_user(request, note, messages.WARNING)
        return questionnaire

    def _publish(self, request: HttpRequest, questionnaire: Questionnaire) -> None:
        was_open = questionnaire.status == Questionnaire.Status.OPEN
        try:
            questionnaire_publish(questionnaire=questionnaire)
        except DefinitionError as exc:
            message = _("%(slug)s was not published; fix its definition first: %(problems)s")
            problems = "; ".join(exc.problems)
            self.message_user(
                request,
                message % {"slug": questionnaire.slug, "problems": problems},
                messages.ERROR,
            )
            return
        if was_open:
            message = _("%(slug)s is already open for responses.")
            self.message_user(request, message % {"slug": questionnaire.slug}, messages.INFO)
        else:
            self.log_change(request, questionnaire, _("Published"))
            message = _("%(slug)s is now open for responses.")
            self.message_user(request, message % {"slug": questionnaire.slug}, messages.SUCCESS)

    def _close(self, request: HttpRequest, questionnaire: Questionnaire) -> None:
        try:
            questionnaire_close(questionnaire=questionnaire)
        except QuestionnaireStateError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.log_change(request, questionnaire, _("Closed"))
        message = _("%(slug)s is closed: it no longer takes responses.")
        self.message_user(request, message % {"slug": questionnaire.slug}, messages.SUCCESS)

    def _definition_response(self, questionnaire: Questionnaire, fmt: str) -> HttpResponse:
        file_format = DEFINITION_FORMATS[fmt]
        data = write_definition_file(
            questionnaire_export(questionnaire=questionnaire), fmt=file_format
        )
        response = HttpResponse(data, content_type=FILE_FORMATS[file_format][1])
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=f"{questionnaire.slug}.{fmt}"
        )
        return response

    # --- actions

    @admin.action(description=_("Publish (open for responses)"), permissions=["change"])
    def publish_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        for questionnaire in queryset:
            self._publish(request, questionnaire)

    @admin.action(description=_("Close (stop taking responses)"), permissions=["change"])
    def close_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        for questionnaire in queryset:
            self._close(request, questionnaire)

    def _download_one(self, request: HttpRequest, queryset: QuerySet, fmt: str):
        questionnaires = list(queryset[:2])
        if len(questionnaires) != 1:
            message = _("Select exactly one questionnaire to download its definition.")
            self.message_user(request, message, messages.WARNING)
            return None
        return self._definition_response(questionnaires[0], fmt)

    @admin.action(description=_("Download definition (YAML)"), permissions=["view"])
    def download_yaml(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._download_one(request, queryset, "yaml")

    @admin.action(description=_("Download definition (JSON)"), permissions=["view"])
    def download_json(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._download_one(request, queryset, "json")

    @admin.action(description=_("Download definition (XLSForm)"), permissions=["view"])
    def download_xlsform(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._download_one(request, queryset, "xlsx")
