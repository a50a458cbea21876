"""The studio: admins build, publish and close questionnaires in the browser.

    GET  /studio/                          the list (admins: all; analysts: granted, read-only)
    POST /studio/new/                      a new questionnaire: blank, template, file or copy
    GET  /studio/<slug>/?q=CODE            the builder: outline, palette, one question's editor
    POST /studio/<slug>/questions/<code>/  save that question's edit (into the draft)
    POST /studio/<slug>/questions/add/     a new question of a type, in a section
    POST /studio/<slug>/questions/<code>/move/ | delete/
    POST /studio/<slug>/sections/add/ | sections/<code>/ (retitle) | sections/<code>/delete/
    POST /studio/<slug>/publish/ | discard/ | close/

Every edit makes a candidate document (``studio.services.edits``) and stores it as the draft
through ``definition_draft_save``: the one rulebook judges it, each problem shows beside the
field it came from, and an edit made from an outdated page (another admin saved meanwhile:
the draft's etag moved) is refused with a conflict message, never applied over theirs.
Publishing applies the draft (``definition_publish``) and opens the questionnaire.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from studio.forms import (
    TYPE_NAMES,
    ChoiceForm,
    ChoiceFormSet,
    ItemForm,
    ItemFormSet,
    NewQuestionnaireForm,
    QuestionForm,
    kept_in_order,
)
from studio.pages import conflict_message, login_guard, studio_questionnaire, studio_reader
from studio.selectors import studio_questionnaires
from studio.services import edits
from studio.services.starts import Start, studio_questionnaire_start, template_choices
from studio.views_logic import logic_questions
from studio.views_schedule import schedule_form
from survey.forms.labels import label_in
from survey.forms.rulebook import place_problems
from survey.interchange import DefinitionError
from survey.labels import label_text
from survey.models import Questionnaire
from survey.services.definitions import document_hash
from survey.services.drafts import (
    DefinitionInvalid,
    DraftChanged,
    DraftState,
    NothingToUndo,
    definition_draft_diff,
    definition_draft_discard,
    definition_draft_get,
    definition_draft_save,
    definition_draft_undo,
    definition_publish,
    definition_undo_depth,
)
from survey.services.questionnaires import (
    QuestionnaireStateError,
    questionnaire_close,
    questionnaire_publish,
)
from wenji.access import is_admin
from wenji.errors import DomainError

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
DIFF_CACHE_SECONDS = 60


def _language() -> str:
    """The language new labels are written in: the admin's, when the format knows it."""
    language = get_language()
    return language if language in ("zh-hans", "en") else "zh-hans"


def _refusal(request: HttpRequest, error: DefinitionInvalid, why: str) -> None:
    """The rulebook's refusal on the page's messages: why, then each problem with its place."""
    messages.error(request, why)
    for problem in error.problems:
        messages.error(request, f"{problem.place}: {problem.message}")


def _builder_url(slug: str, code: str = "") -> str:
    url = reverse("studio:builder", kwargs={"slug": slug})
    return f"{url}?q={code}#editor" if code else url


# --- the list ---------------------------------------------------------------------------------


@require_GET
@login_guard
def studio_list(request: HttpRequest) -> HttpResponse:
    admin = studio_reader(request)
    rows = list(studio_questionnaires(user=request.user, admin=admin))
    return _render_list(request, admin, rows, NewQuestionnaireForm(**_new_choices(rows, admin)))


def _new_choices(rows: list[Questionnaire], admin: bool) -> dict[str, list]:
    """The new-questionnaire form's choices: the templates, and (for admins) what to copy."""
    return {
        "templates": template_choices(),
        "questionnaires": [(q.slug, f"{label_text(q.title)} ({q.slug})") for q in rows]
        if admin
        else [],
    }


def _render_list(
    request: HttpRequest,
    admin: bool,
    rows: list[Questionnaire],
    form: NewQuestionnaireForm,
    status: int = 200,
) -> HttpResponse:
    language = get_language()
    context = {
        "title": _("Studio"),
        "admin": admin,
        "form": form,
        "rows": [
            {
                "q": q,
                "title": label_text(q.title, language) or q.slug,
                "form_url": reverse("survey:form", kwargs={"slug": q.slug}),
                "results_url": reverse("analysis-pages:results", kwargs={"slug": q.slug}),
                "builder_url": _builder_url(q.slug),
                "share_url": reverse("studio:share", kwargs={"slug": q.slug}),
            }
            for q in rows
        ],
    }
    return render(request, "studio/list.html", context, status=status)


@require_POST
@login_guard
def studio_new(request: HttpRequest) -> HttpResponse:
    admin = studio_reader(request)
    if not admin:
        raise PermissionDenied(_("Only admins may create questionnaires."))
    rows = list(studio_questionnaires(user=request.user, admin=admin))
    form = NewQuestionnaireForm(request.POST, request.FILES, **_new_choices(rows, admin))
    if not form.is_valid():
        return _render_list(request, admin, rows, form, status=400)
    data = form.cleaned_data
    upload = data.get("file") if data["source"] == "file" else None
    if upload is not None and upload.size > MAX_UPLOAD_BYTES:
        form.add_error("file", _("The file is larger than 5 MB."))
        return _render_list(request, admin, rows, form, status=400)
    copied = None
    if data["source"] == "copy":
        copied = Questionnaire.objects.filter(slug=data["copy_of"]).first()
    start = Start(
        source=data["source"],
        slug=data["slug"],
        title=data.get("title") or "",
        language=_language(),
        template=data.get("template") or "",
        copy_of=copied,
        file_data=upload.read() if upload is not None else b"",
        file_name=upload.name if upload is not None else "",
    )
    try:
        questionnaire = studio_questionnaire_start(start=start)
    except DefinitionInvalid as error:
        for problem in error.problems:
            if problem.path == "slug":
                form.add_error("slug", problem.message)
            else:
                form.add_error(None, f"{problem.place}: {problem.message}")
        return _render_list(request, admin, rows, form, status=400)
    messages.success(request, _("%(slug)s was created as a draft.") % {"slug": questionnaire.slug})
    return HttpResponseRedirect(_builder_url(questionnaire.slug))


# --- the builder ------------------------------------------------------------------------------


def _outline(document: dict[str, Any], language: str) -> list[dict[str, Any]]:
    """Sections and their questions as the outline shows them, each question with the
    questions whose show_if reads it (what depends on it)."""
    readers: dict[str, list[str]] = {}
    for _section, question in edits.document_questions(document):
        for code in edits.expression_reads(question.get("show_if") or ""):
            readers.setdefault(code, []).append(str(question.get("code")))
    sections = []
    for section in document.get("sections") or []:
        questions = [
            {
                "code": str(q.get("code")),
                "type": TYPE_NAMES.get(q.get("type"), q.get("type")),
                "label": label_text(q.get("label"), language),
                "show_if": q.get("show_if") or "",
                "read_by": readers.get(str(q.get("code")), []),
            }
            for q in section.get("questions") or []
        ]
        sections.append(
            {
                "code": str(section.get("code")),
                "title": label_text(section.get("title"), language),
                "title_zh": label_in(section.get("title"), "zh-hans", default_language="zh-hans"),
                "title_en": label_in(section.get("title"), "en", default_language="zh-hans"),
                "questions": questions,
            }
        )
    return sections


def _editor(question: dict[str, Any], data: Any = None) -> dict[str, Any]:
    """The bound (``data``) or initial forms editing ``question``."""
    type_ = question.get("type", "")
    choices_key = "scale" if type_ == "matrix" else "options"
    options = None
    if type_ == "single":
        options = [
            (str(o.get("code")), f"{o.get('code')} {label_text(o.get('label'))}")
            for o in question.get("options") or []
        ]
    form = QuestionForm(
        data,
        type_=type_,
        options=options,
        prefix="q",
        initial=None if data else QuestionForm.initial_from(question),
    )
    choices = items = None
    if type_ in ("single", "multiple", "matrix"):
        choices = ChoiceFormSet(
            data,
            prefix=choices_key,
            initial=None
            if data
            else [ChoiceForm.initial_from(o) for o in question.get(choices_key) or []],
            form_kwargs={"scale": type_ == "matrix", "multiple": type_ == "multiple"},
        )
    if type_ in ("matrix", "number_grid"):
        items = ItemFormSet(
            data,
            prefix="items",
            initial=None
            if data
            else [ItemForm.initial_from(i) for i in question.get("items") or []],
        )
    return {"form": form, "choices": choices, "items": items, "choices_key": choices_key}


def _builder(
    request: HttpRequest,
    questionnaire: Questionnaire,
    *,
    state: DraftState | None = None,
    code: str = "",
    editor: dict[str, Any] | None = None,
    problems: list[str] | None = None,
    conflict: bool = False,
    status: int = 200,
) -> HttpResponse:
    state = state or definition_draft_get(questionnaire=questionnaire)
    document = state.document
    language = get_language()
    codes = edits.question_codes(document)
    code = code or request.GET.get("q", "") or (codes[0] if codes else "")
    question = None
    if code in codes:
        question = edits.question_find(document, code)[1]
    if editor is None and question is not None:
        editor = _editor(question)
    admin = is_admin(request.user)
    context = {
        "title": _("Studio: %(title)s") % {"title": label_text(document.get("title"), language)},
        "questionnaire": questionnaire,
        "document_title": label_text(document.get("title"), language) or questionnaire.slug,
        "state": state,
        "admin": admin,
        "outline": _outline(document, language),
        "selected": code if question is not None else "",
        "question": question,
        "type_name": TYPE_NAMES.get(question.get("type")) if question else "",
        "editor": editor,
        "problems": problems or [],
        "conflict": conflict,
        "types": list(TYPE_NAMES.items()),
        "logic_questions": logic_questions(document, language, before=code),
        "schedule": schedule_form(questionnaire),
        "undo_depth": definition_undo_depth(questionnaire=questionnaire) if state.drafted else 0,
        "window": questionnaire.window_at(timezone.now()),
        "check_url": reverse("studio:logic-check", kwargs={"slug": questionnaire.slug})
        + (f"?question={code}" if question is not None else ""),
        "changes": _changes(questionnaire, state),
        "form_url": reverse("survey:form", kwargs={"slug": questionnaire.slug}),
        "results_url": reverse("analysis-pages:results", kwargs={"slug": questionnaire.slug}),
        "list_url": reverse("studio:list"),
    }
    return render(request, "studio/builder.html", context, status=status)


def _changes(questionnaire: Questionnaire, state: DraftState) -> list[dict[str, Any]]:
    """What publishing the draft would change, computed once per draft revision and minute:
    counting the answers a change touches reads the answers table, which may be large."""
    if not state.drafted:
        return []
    drafted = document_hash(state.document)[:24]
    key = f"wenji:studio:diff:{questionnaire.pk}:{questionnaire.definition_version}:{drafted}"
    return cache.get_or_set(
        key, lambda: definition_draft_diff(questionnaire=questionnaire), DIFF_CACHE_SECONDS
    )


@require_GET
@login_guard
def studio_builder(request: HttpRequest, slug: str) -> HttpResponse:
    return _builder(request, studio_questionnaire(request, slug, edit=False))


def _save(
    request: HttpRequest, questionnaire: Questionnaire, document: dict[str, Any], success: str
) -> DraftState | None:
    """Store ``document`` as the draft from the etag the page was made with; a refusal goes to
    the page's messages (None), naming each problem's place."""
    try:
        state = definition_draft_save(
            questionnaire=questionnaire,
            document=document,
            if_match=request.POST.get("etag", ""),
            user=request.user,
        )
    except DraftChanged:
        messages.error(request, conflict_message())
        return None
    except DefinitionInvalid as error:
        _refusal(request, error, _("This change was not made: %(why)s") % {"why": error.message})
        return None
    messages.success(request, success)
    return state


@require_POST
@login_guard
def studio_question_save(request: HttpRequest, slug: str, code: str) -> HttpResponse:
    """Save one question's edit into the draft. With ``X-Autosave: 1`` (the editor's script,
    as the admin types) the answer is JSON: saved with the new etag, or why not."""
    autosave = request.headers.get("X-Autosave") == "1"
    questionnaire = studio_questionnaire(request, slug, edit=True)
    state = definition_draft_get(questionnaire=questionnaire)
    try:
        _section, original = edits.question_find(state.document, code)
    except edits.EditRefused:
        if autosave:
            return _autosave_refused(conflict_message(), 409)
        messages.error(request, conflict_message())
        return HttpResponseRedirect(_builder_url(slug))
    editor = _editor(original, request.POST)
    form, choices, items = editor["form"], editor["choices"], editor["items"]
    if not all(f.is_valid() for f in (form, choices, items) if f is not None):
        if autosave:
            return _autosave_refused(_not_saved(), 400)
        return _builder(request, questionnaire, state=state, code=code, editor=editor, status=400)
    entry, choice_forms, item_forms = _question_entry(request, original, editor)
    document = edits.question_replace(state.document, code=code, question=entry)
    try:
        saved = definition_draft_save(
            questionnaire=questionnaire,
            document=document,
            if_match=request.POST.get("etag", ""),
            user=request.user,
        )
    except DraftChanged:
        if autosave:
            return _autosave_refused(conflict_message(), 409)
        return _builder(request, questionnaire, code=code, editor=editor, conflict=True, status=409)
    except DefinitionInvalid as error:
        if autosave:
            return _autosave_refused(_not_saved(), 400)
        placed = place_problems(
            error.problems,
            edits.question_path(document, entry["code"]),
            option_forms=choice_forms,
            item_forms=item_forms,
            question_form=form,
        )
        for target, field, message in placed.beside:
            target.add_error(field if field in target.fields else None, message)
        if choices is not None:
            choices._non_form_errors = choices.error_class(placed.on_options)
        if items is not None:
            items._non_form_errors = items.error_class(placed.on_items)
        return _builder(
            request,
            questionnaire,
            state=state,
            code=code,
            editor=editor,
            problems=placed.elsewhere,
            status=400,
        )
    if autosave:
        action = reverse("studio:question", kwargs={"slug": slug, "code": entry["code"]})
        message = _("Saved in the draft automatically.")
        return JsonResponse(
            {"saved": True, "etag": saved.etag, "action": action, "message": message}
        )
    messages.success(request, _("Saved in the draft: %(code)s.") % {"code": entry["code"]})
    return HttpResponseRedirect(_builder_url(slug, entry["code"]))


def _question_entry(
    request: HttpRequest, original: dict[str, Any], editor: dict[str, Any]
) -> tuple[dict[str, Any], list, list]:
    """The question as the valid editor forms hold it, pasted lines added; and the kept option
    and item forms in order (the rulebook's problems are placed on them)."""
    form, choices, items = editor["form"], editor["choices"], editor["items"]
    language = _language()
    entry = form.entry(original)
    choice_forms = kept_in_order(choices) if choices is not None else []
    item_forms = kept_in_order(items) if items is not None else []
    if choices is not None:
        listed = [f.entry() for f in choice_forms]
        listed += edits.entries_from_lines(
            request.POST.get("choices_paste", ""), existing=listed, language=language
        )
        entry[editor["choices_key"]] = listed
    if items is not None:
        listed = [f.entry() for f in item_forms]
        listed += edits.entries_from_lines(
            request.POST.get("items_paste", ""), existing=listed, language=language, letters=True
        )
        entry["items"] = listed
    return entry, choice_forms, item_forms


def _not_saved() -> str:
    return _("Not saved yet: something needs attention. Press “Save in the draft” to see what.")


def _autosave_refused(message: str, status: int) -> JsonResponse:
    return JsonResponse({"saved": False, "message": message}, status=status)


@require_POST
@login_guard
def studio_question_add(request: HttpRequest, slug: str) -> HttpResponse:
    questionnaire = studio_questionnaire(request, slug, edit=True)
    state = definition_draft_get(questionnaire=questionnaire)
    language = _language()
    try:
        document, code = edits.question_add(
            state.document,
            section=request.POST.get("section", ""),
            type_=request.POST.get("type", ""),
            language=language,
            after=request.POST.get("after", ""),
        )
    except edits.EditRefused as error:
        messages.error(request, error.message)
        return HttpResponseRedirect(_builder_url(slug))
    saved = _save(request, questionnaire, document, _("Question %(code)s added.") % {"code": code})
    return HttpResponseRedirect(_builder_url(slug, code if saved else ""))


@require_POST
@login_guard
def studio_question_move(request: HttpRequest, slug: str, code: str) -> HttpResponse:
    questionnaire = studio_questionnaire(request, slug, edit=True)
    state = definition_draft_get(questionnaire=questionnaire)
    step = -1 if request.POST.get("direction") == "up" else 1
    try:
        document = edits.question_move(state.document, code=code, step=step)
    except edits.EditRefused as error:
        messages.error(request, error.message)
        return HttpResponseRedirect(_builder_url(slug))
    _save(request, questionnaire, document, _("%(code)s moved.") % {"code": code})
    return HttpResponseRedirect(_builder_url(slug, code).replace("#editor", f"#outline-{code}"))


@require_POST
@login_guard
def studio_questions_arrange(request: HttpRequest, slug: str) -> HttpResponse:
    """Questions placed by drag and drop: ``layout`` is JSON, section code → question codes."""
    questionnaire = studio_questionnaire(request, slug, edit=True)
    state = definition_draft_get(questionnaire=questionnaire)
    try:
        layout = json.loads(request.POST.get("layout", "")[:100_000])
        if not isinstance(layout, dict) or not all(
            isinstance(codes, list) and all(isinstance(c, str) for c in codes)
            for codes in layout.values()
        ):
            raise ValueError
        document = edits.questions_arrange(state.document, layout=layout)
    except ValueError:
        messages.error(request, _("The new order could not be read; nothing was moved."))
        return HttpResponseRedirect(_builder_url(slug))
    except edits.EditRefused as error:
        messages.error(request, error.message)
        return HttpResponseRedirect(_builder_url(slug))
    _save(request, questionnaire, document, _("The questions were rearranged."))
    return HttpResponseRedirect(_builder_url(slug, request.POST.get("moved", "")[:64]))


@require_POST
@login_guard
def studio_undo(request: HttpRequest, slug: str) -> HttpResponse:
    """Put back the draft as it was before its newest save."""
    questionnaire = studio_questionnaire(request, slug, edit=True)
    try:
        definition_draft_undo(
            questionnaire=questionnaire, if_match=request.POST.get("etag", ""), user=request.user
        )
    except DraftChanged:
        messages.error(request, conflict_message())
    except NothingToUndo as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The last change was undone."))
    return HttpResponseRedirect(_builder_url(slug, request.POST.get("q", "")[:64]))


@require_POST
@login_guard
def studio_question_delete(request: HttpRequest, slug: str, code: str) -> HttpResponse:
    questionnaire = studio_questionnaire(request, slug, edit=True)
    state = definition_draft_get(questionnaire=questionnaire)
    try:
        document = edits.question_delete(state.document, code=code)
    except edits.EditRefused as error:
        messages.error(request, error.message)
        return HttpResponseRedirect(_builder_url(slug))
    saved = _save(request, questionnaire, document, _("%(code)s deleted.") % {"code": code})
    return HttpResponseRedirect(_builder_url(slug, "" if saved else code))


@require_POST
@login_guard
def studio_section_add(request: HttpRequest, slug: str) -> HttpResponse:
    questionnaire = studio_questionnaire(request, slug, edit=True)
    state = definition_draft_get(questionnaire=questionnaire)
    language = _language()
    title = request.POST.get("title", "").strip()[:200] or _("New section")
    document, code = edits.section_add(state.document, title=title, language=language)
    # A section without questions is not a valid questionnaire: it starts with one.
    document, question = edits.question_add(
        document, section=code, type_="single", language=language
    )
    saved = _save(request, questionnaire, document, _("Section %(code)s added.") % {"code": code})
    return HttpResponseRedirect(_builder_url(slug, question if saved else ""))


@require_POST
@login_guard
def studio_section_save(request: HttpRequest, slug: str, code: str) -> HttpResponse:
    questionnaire = studio_questionnaire(request, slug, edit=True)
    state = definition_draft_get(questionnaire=questionnaire)
    title = {
        language: request.POST.get(f"title_{language.replace('-', '_')}", "").strip()[:200]
        for language in ("zh-hans", "en")
    }
    try:
        if request.POST.get("delete"):
            document = edits.section_delete(state.document, code=code)
            done = _("Section %(code)s deleted.") % {"code": code}
        else:
            document = edits.section_retitle(
                state.document, code=code, title={k: v for k, v in title.items() if v}
            )
            done = _("Section %(code)s renamed.") % {"code": code}
    except edits.EditRefused as error:
        messages.error(request, error.message)
        return HttpResponseRedirect(_builder_url(slug))
    _save(request, questionnaire, document, done)
    return HttpResponseRedirect(_builder_url(slug))


# --- publishing -------------------------------------------------------------------------------


@require_POST
@login_guard
def studio_publish(request: HttpRequest, slug: str) -> HttpResponse:
    """Apply the draft (if any) and open the questionnaire for responses."""
    questionnaire = studio_questionnaire(request, slug, edit=True)
    try:
        if definition_draft_get(questionnaire=questionnaire).drafted:
            questionnaire = definition_publish(questionnaire=questionnaire)
        questionnaire_publish(questionnaire=questionnaire)
    except DefinitionInvalid as error:
        _refusal(request, error, error.message)
        return HttpResponseRedirect(_builder_url(slug))
    except (DomainError, DefinitionError) as error:
        messages.error(request, str(getattr(error, "message", error)))
        return HttpResponseRedirect(_builder_url(slug))
    messages.success(request, _("Published: the form takes responses now."))
    return HttpResponseRedirect(_builder_url(slug))


@require_POST
@login_guard
def studio_discard(request: HttpRequest, slug: str) -> HttpResponse:
    questionnaire = studio_questionnaire(request, slug, edit=True)
    if definition_draft_discard(questionnaire=questionnaire):
        messages.success(request, _("The draft was discarded; the published version is unchanged."))
    return HttpResponseRedirect(_builder_url(slug))


@require_POST
@login_guard
def studio_close(request: HttpRequest, slug: str) -> HttpResponse:
    questionnaire = studio_questionnaire(request, slug, edit=True)
    try:
        questionnaire_close(questionnaire=questionnaire)
    except QuestionnaireStateError as error:
        messages.error(request, str(error))
        return HttpResponseRedirect(_builder_url(slug))
    messages.success(request, _("Closed: the form takes no more responses."))
    return HttpResponseRedirect(_builder_url(slug))
