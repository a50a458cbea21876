"""The questionnaire admin: pages in both languages, labels, actions, definition files, lock."""

from __future__ import annotations

import copy
import re
import uuid
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from survey.forms.labels import LabelField, LabelWidget
from survey.forms.questionnaire import QuestionnaireForm
from survey.interchange import dump_definition, load_definition
from survey.models import Answer, Option, Question, Questionnaire, Response, Section
from survey.services.questionnaires import questionnaire_import, questionnaire_publish
from tests.conftest import EXAMPLE_DEFINITION

# These tests read messages in English (Chinese is checked in tests/test_translations.py).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


# --- data, users and a browser-like form reader ---------------------------------------------------


@pytest.fixture
def definition() -> dict:
    return load_definition(EXAMPLE_DEFINITION.read_text(encoding="utf-8"))


@pytest.fixture
def draft(definition: dict) -> Questionnaire:
    return questionnaire_import(definition=definition)


def add_response(questionnaire: Questionnaire) -> Response:
    """A stored response (no submit service yet): enough to lock the structure."""
    return Response.objects.create(
        questionnaire=questionnaire,
        submission_id=uuid.uuid4(),
        answers_digest="0" * 64,
        channel=Response.Channel.API,
        definition_version=1,
    )


@pytest.fixture
def locked(draft: Questionnaire) -> Questionnaire:
    add_response(draft)
    return draft


@pytest.fixture
def staff_client(django_user_model) -> Client:
    """A staff member with no permissions at all."""
    user = django_user_model.objects.create_user("staff", "s@example.com", "pw", is_staff=True)
    client = Client()
    client.force_login(user)
    return client


class _FormReader(HTMLParser):
    """Collects what a browser would submit for one <form id=...>."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id, self.inside, self.data = form_id, False, []
        self._select: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside or "__prefix__" in (a.get("name") or ""):
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind not in ("submit", "button", "file"):
                self.data.append((a["name"], a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self.data.append((self._select, a.get("value", "")))
        elif tag == "textarea":
            self._textarea, self._text = a.get("name"), []

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.data.append((self._textarea, "".join(self._text).removeprefix("\n")))
            self._textarea = None


def form_data(client: Client, url: str, form_id: str) -> dict:
    """The change form at ``url`` as a browser would post it unchanged (last value wins)."""
    response = client.get(url)
    assert response.status_code == 200
    reader = _FormReader(form_id)
    reader.feed(response.content.decode())
    return dict(reader.data)


def question(questionnaire: Questionnaire, code: str) -> Question:
    return Question.objects.get(questionnaire=questionnaire, code=code)


def change_url(obj) -> str:
    return reverse(f"admin:survey_{obj._meta.model_name}_change", args=[obj.pk])


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- pages render, in both languages, for the right people ----------------------------------------


@pytest.mark.parametrize(("language", "title"), [("zh-hans", "基层党员干部"), ("en", "Grassroots")])
def test_questionnaire_list_and_pages_render_in_both_languages(
    admin_client: Client, draft: Questionnaire, language: str, title: str
) -> None:
    headers = {"Accept-Language": language}
    listing = admin_client.get(reverse("admin:survey_questionnaire_changelist"), headers=headers)
    assert listing.status_code == 200
    assert f'lang="{language}"' in listing.content.decode()
    assert title in listing.content.decode()
    q3 = question(draft, "Q3")
    option = q3.options.first()
    for url in [
        change_url(draft),
        reverse("admin:survey_questionnaire_add"),
        reverse("admin:survey_questionnaire_import_definition"),
        reverse("admin:survey_question_changelist") + f"?questionnaire__id__exact={draft.pk}",
        change_url(q3),
        reverse("admin:survey_question_add") + f"?questionnaire={draft.pk}",
        reverse("admin:survey_option_changelist"),
        change_url(option),
        reverse("admin:survey_question_import"),
        reverse("admin:survey_option_export"),
    ]:
        response = admin_client.get(url, headers=headers)
        assert response.status_code == 200, url
        assert response.headers["Content-Language"] == language


def test_questionnaire_list_shows_counts_of_questions_and_responses(
    admin_client: Client, draft: Questionnaire
) -> None:
    add_response(draft)
    add_response(draft)
    response = admin_client.get(reverse("admin:survey_questionnaire_changelist"))
    row = response.context["cl"].result_list[0]
    assert (row.question_count, row.response_count) == (draft.questions.count(), 2)


def test_questionnaire_list_filters_by_status_and_searches_by_slug(
    admin_client: Client, draft: Questionnaire, definition: dict
) -> None:
    other = questionnaire_import(definition={**definition, "slug": "another"})
    questionnaire_publish(questionnaire=other)
    url = reverse("admin:survey_questionnaire_changelist")
    opened = admin_client.get(url, {"status__exact": "open"}).context["cl"].result_list
    assert [q.slug for q in opened] == ["another"]
    found = admin_client.get(url, {"q": "ipb"}).context["cl"].result_list
    assert [q.slug for q in found] == ["ipb-survey"]


def test_questionnaire_list_needs_a_bounded_number_of_queries(
    admin_client: Client, definition: dict, django_assert_max_num_queries
) -> None:
    for number in range(6):
        questionnaire = questionnaire_import(definition={**definition, "slug": f"q{number}"})
        add_response(questionnaire)
    with django_assert_max_num_queries(7):
        response = admin_client.get(reverse("admin:survey_questionnaire_changelist"))
    assert len(response.context["cl"].result_list) == 6


def test_question_list_needs_a_bounded_number_of_queries(
    admin_client: Client, draft: Questionnaire, django_assert_max_num_queries
) -> None:
    with django_assert_max_num_queries(8):
        response = admin_client.get(reverse("admin:survey_question_changelist"))
    assert len(response.context["cl"].result_list) == draft.questions.count()


def test_staff_without_permissions_is_refused_everywhere(
    staff_client: Client, draft: Questionnaire
) -> None:
    q3 = question(draft, "Q3")
    get_urls = [
        reverse("admin:survey_questionnaire_changelist"),
        change_url(draft),
        reverse("admin:survey_questionnaire_import_definition"),
        reverse("admin:survey_questionnaire_definition", args=[draft.pk, "yaml"]),
        reverse("admin:survey_question_changelist"),
        change_url(q3),
        reverse("admin:survey_question_import"),
        reverse("admin:survey_question_export"),
        reverse("admin:survey_option_changelist"),
        reverse("admin:survey_option_import"),
    ]
    for url in get_urls:
        assert staff_client.get(url).status_code == 403, url
    for name in ("publish", "close"):
        url = reverse(f"admin:survey_questionnaire_{name}", args=[draft.pk])
        assert staff_client.post(url).status_code == 403, url
    upload = SimpleUploadedFile("ipb.yaml", EXAMPLE_DEFINITION.read_bytes())
    url = reverse("admin:survey_questionnaire_import_definition")
    assert staff_client.post(url, {"file": upload}).status_code == 403
    draft.refresh_from_db()
    assert draft.status == Questionnaire.Status.DRAFT


def test_anonymous_visitors_are_sent_to_the_login_page(draft: Questionnaire) -> None:
    response = Client().get(reverse("admin:survey_questionnaire_import_definition"))
    assert response.status_code == 302
    assert reverse("admin:login") in response.headers["Location"]


# --- labels in both languages ---------------------------------------------------------------------


def test_label_widget_shows_one_named_box_per_language() -> None:
    html = LabelWidget().render("label", {"zh-hans": "男", "en": "Male"}, {"id": "id_label"})
    assert 'name="label_zh-hans"' in html and 'value="男"' in html
    assert 'name="label_en"' in html and 'value="Male"' in html
    assert html.index("label_zh-hans") < html.index("label_en")
    assert "(zh-hans)" in html and "(en)" in html


def test_a_plain_string_label_shows_in_the_default_language_box() -> None:
    assert LabelWidget().decompress("性别") == ["性别", ""]
    widget = LabelWidget()
    widget.default_language = "en"
    assert widget.decompress("Gender") == ["", "Gender"]


def test_label_field_drops_empty_languages_and_needs_one() -> None:
    field = LabelField()
    assert field.clean(["  男 ", ""]) == {"zh-hans": "男"}
    assert field.clean(["男", "Male"]) == {"zh-hans": "男", "en": "Male"}
    with pytest.raises(Exception, match="at least one language"):
        field.clean(["", " "])
    assert LabelField(required=False).clean(["", ""]) == ""


def test_label_round_trips_both_languages_through_the_question_page(
    admin_client: Client, draft: Questionnaire
) -> None:
    d1 = question(draft, "D1")
    url = change_url(d1)
    data = form_data(admin_client, url, "question_form")
    assert data["label_zh-hans"] == "您的性别" and data["label_en"] == "Gender"
    data.update({"label_zh-hans": "性别", "label_en": "Sex", "options-0-label_en": ""})
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["errors"]
    d1.refresh_from_db()
    assert d1.label == {"zh-hans": "性别", "en": "Sex"}
    assert d1.options.get(code="1").label == {"zh-hans": "男"}
    page = admin_client.get(url).content.decode()
    assert 'value="性别"' in page and 'value="Sex"' in page


def test_a_label_with_no_language_left_is_an_error_on_that_field(
    admin_client: Client, draft: Questionnaire
) -> None:
    url = change_url(question(draft, "D1"))
    data = form_data(admin_client, url, "question_form")
    data.update({"label_zh-hans": "", "label_en": ""})
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["label"] == [
        "Give the text in at least one language."
    ]


def test_languages_the_admin_does_not_show_survive_an_edit(draft: Questionnaire) -> None:
    draft.title = {"zh-hans": "标题", "en": "Title", "ug": "ماۋزۇ"}
    draft.save()
    form = QuestionnaireForm(instance=draft)
    data = {
        "slug": draft.slug,
        "languages": "zh-hans, en, ug",
        "title_zh-hans": "新标题",
        "title_en": "Title",
        "intro_zh-hans": "",
        "intro_en": "",
        "one_response_per": draft.one_response_per,
        "banner": "",
        "significance": "0.05",
        "correction": "holm",
    }
    form = QuestionnaireForm(data, instance=draft, initial=form.initial)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["title"] == {"zh-hans": "新标题", "en": "Title", "ug": "ماۋزۇ"}
    assert form.cleaned_data["languages"] == ["zh-hans", "en", "ug"]


# --- publish, close, download ---------------------------------------------------------------------


def _action(client: Client, action: str, *questionnaires: Questionnaire):
    return client.post(
        reverse("admin:survey_questionnaire_changelist"),
        {"action": action, "_selected_action": [q.pk for q in questionnaires]},
        follow=True,
    )


def test_publish_action_opens_a_draft_and_says_so(
    admin_client: Client, draft: Questionnaire
) -> None:
    response = _action(admin_client, "publish_selected", draft)
    draft.refresh_from_db()
    assert draft.status == Questionnaire.Status.OPEN and draft.opened_at is not None
    assert messages_of(response) == ["ipb-survey is now open for responses."]
    again = _action(admin_client, "publish_selected", draft)
    assert messages_of(again) == ["ipb-survey is already open for responses."]


def test_close_action_closes_an_open_questionnaire(
    admin_client: Client, draft: Questionnaire
) -> None:
    questionnaire_publish(questionnaire=draft)
    response = _action(admin_client, "close_selected", draft)
    draft.refresh_from_db()
    assert draft.status == Questionnaire.Status.CLOSED and draft.closed_at is not None
    assert messages_of(response) == ["ipb-survey is closed: it no longer takes responses."]


def test_closing_a_draft_gives_a_message_not_an_error_page(
    admin_client: Client, draft: Questionnaire
) -> None:
    response = _action(admin_client, "close_selected", draft)
    assert response.status_code == 200
    [message] = messages_of(response)
    assert "ipb-survey" in message and "only an open questionnaire can be closed" in message
    draft.refresh_from_db()
    assert draft.status == Questionnaire.Status.DRAFT


def test_publish_and_close_buttons_on_the_change_page(
    admin_client: Client, draft: Questionnaire
) -> None:
    page = admin_client.get(change_url(draft)).content.decode()
    publish_url = reverse("admin:survey_questionnaire_publish", args=[draft.pk])
    close_url = reverse("admin:survey_questionnaire_close", args=[draft.pk])
    assert f'action="{publish_url}"' in page and close_url not in page
    assert admin_client.get(publish_url).status_code == 405
    response = admin_client.post(publish_url, follow=True)
    assert response.redirect_chain[-1][0] == change_url(draft)
    assert f'action="{close_url}"' in response.content.decode()
    admin_client.post(close_url)
    draft.refresh_from_db()
    assert draft.status == Questionnaire.Status.CLOSED


def test_publishing_a_definition_broken_in_the_admin_is_refused_with_the_problems(
    admin_client: Client, draft: Questionnaire
) -> None:
    Option.objects.filter(question__questionnaire=draft, question__code="D1").delete()
    response = _action(admin_client, "publish_selected", draft)
    [message] = messages_of(response)
    assert message.startswith("ipb-survey was not published") and "D1" in message
    draft.refresh_from_db()
    assert draft.status == Questionnaire.Status.DRAFT


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_download_action_gives_a_file_load_definition_accepts(
    admin_client: Client, draft: Questionnaire, definition: dict, fmt: str
) -> None:
    response = _action(admin_client, f"download_{fmt}", draft)
    assert response.headers["Content-Disposition"] == f'attachment; filename="ipb-survey.{fmt}"'
    data = load_definition(response.content, filename=f"ipb-survey.{fmt}")
    assert data == definition


def test_download_link_on_the_change_page(admin_client: Client, draft: Questionnaire) -> None:
    url = reverse("admin:survey_questionnaire_definition", args=[draft.pk, "yaml"])
    assert url in admin_client.get(change_url(draft)).content.decode()
    response = admin_client.get(url)
    assert response.headers["Content-Type"] == "application/yaml; charset=utf-8"
    assert load_definition(response.content)["slug"] == "ipb-survey"
    bad = reverse("admin:survey_questionnaire_definition", args=[draft.pk, "xml"])
    assert admin_client.get(bad).status_code == 404


def test_download_action_asks_for_exactly_one_questionnaire(
    admin_client: Client, draft: Questionnaire, definition: dict
) -> None:
    other = questionnaire_import(definition={**definition, "slug": "other"})
    response = _action(admin_client, "download_yaml", draft, other)
    assert messages_of(response) == ["Select exactly one questionnaire to download its definition."]


# --- importing a definition file ------------------------------------------------------------------


def _upload(client: Client, name: str, content: bytes, replace: bool = False):
    data = {"file": SimpleUploadedFile(name, content)}
    if replace:
        data["replace"] = "on"
    return client.post(reverse("admin:survey_questionnaire_import_definition"), data, follow=True)


def test_changelist_links_to_the_import_page(admin_client: Client) -> None:
    page = admin_client.get(reverse("admin:survey_questionnaire_changelist")).content.decode()
    assert reverse("admin:survey_questionnaire_import_definition") in page


def test_uploading_the_reference_file_creates_the_questionnaire(admin_client: Client) -> None:
    response = _upload(admin_client, "ipb-survey.yaml", EXAMPLE_DEFINITION.read_bytes())
    questionnaire = Questionnaire.objects.get(slug="ipb-survey")
    assert response.redirect_chain[-1][0] == change_url(questionnaire)
    assert messages_of(response) == ["ipb-survey was imported from ipb-survey.yaml."]
    assert questionnaire.questions.count() == 25
    assert questionnaire.status == Questionnaire.Status.DRAFT


def test_uploading_a_broken_file_shows_every_problem_and_imports_nothing(
    admin_client: Client, definition: dict
) -> None:
    broken = copy.deepcopy(definition)
    broken["slug"] = "Bad Slug"
    broken["sections"][0]["questions"][0]["type"] = "dropdown"
    broken["analysis"]["significance"] = 2
    response = _upload(admin_client, "broken.json", dump_definition(broken, fmt="json").encode())
    assert response.status_code == 200
    errors = response.context["form"].errors["file"]
    assert len(errors) >= 3
    assert any(e.startswith("slug:") for e in errors)
    assert any("dropdown" in e for e in errors)
    assert any(e.startswith("analysis.significance") for e in errors)
    page = response.content.decode()
    assert "Nothing was imported" in page
    assert Questionnaire.objects.count() == 0 and Question.objects.count() == 0


def test_uploading_a_file_with_a_syntax_error_names_the_line(admin_client: Client) -> None:
    response = _upload(admin_client, "broken.yaml", b"format: questionnaire/v1\nslug: [oops\n")
    [error] = response.context["form"].errors["file"]
    assert "line" in error
    assert Questionnaire.objects.count() == 0


def test_an_upload_over_the_size_limit_is_refused(admin_client: Client, settings) -> None:
    settings.QUESTIONNAIRE_UPLOAD_MAX_BYTES = 1024
    response = _upload(admin_client, "ipb-survey.yaml", EXAMPLE_DEFINITION.read_bytes())
    [error] = response.context["form"].errors["file"]
    assert error.startswith("The file is") and "the limit is 1.0" in error
    assert Questionnaire.objects.count() == 0


def test_an_existing_slug_needs_replace(
    admin_client: Client, draft: Questionnaire, definition: dict
) -> None:
    changed = copy.deepcopy(definition)
    changed["title"] = {"zh-hans": "新标题", "en": "New title"}
    content = dump_definition(changed, fmt="yaml").encode()
    refused = _upload(admin_client, "ipb.yaml", content)
    assert any("already exists" in e for e in refused.context["form"].errors["file"])
    draft.refresh_from_db()
    assert draft.title["en"] != "New title"
    replaced = _upload(admin_client, "ipb.yaml", content, replace=True)
    assert messages_of(replaced) == ["ipb-survey was updated from ipb.yaml."]
    draft.refresh_from_db()
    assert draft.title == {"zh-hans": "新标题", "en": "New title"}


# --- the structural lock --------------------------------------------------------------------------


def test_locked_questionnaire_pages_show_the_reason_and_read_only_structure(
    admin_client: Client, locked: Questionnaire
) -> None:
    page = admin_client.get(change_url(locked)).content.decode()
    assert "ipb-survey has 1 response" in page
    # Sections are layout, editable as in a definition-file replace.
    assert 'name="sections-0-code"' in page and 'name="sections-0-DELETE"' in page
    assert reverse("admin:survey_question_add") + "?questionnaire=" not in page
    assert change_url(question(locked, "Q3")) in page  # each question links to its page
    q9 = question(locked, "Q9")
    page = admin_client.get(change_url(q9)).content.decode()
    assert "ipb-survey has 1 response" in page
    for name in ('name="code"', 'name="type"', 'name="options-0-code"'):
        assert name not in page
    assert 'name="section"' in page
    assert 'name="options-0-exclusive"' not in page and 'name="options-0-DELETE"' not in page
    for name in ('name="label_en"', 'name="required"', 'name="show_if"', 'name="options-0-score"'):
        assert name in page
    option = q9.options.first()
    page = admin_client.get(change_url(option)).content.decode()
    assert "ipb-survey has 1 response" in page and 'name="code"' not in page


def test_unlocked_pages_show_no_lock_and_editable_structure(
    admin_client: Client, draft: Questionnaire
) -> None:
    page = admin_client.get(change_url(question(draft, "Q9"))).content.decode()
    assert "structure-lock" not in page
    assert 'name="code"' in page and 'name="options-0-code"' in page


def test_a_crafted_post_cannot_change_the_structure_of_a_locked_questionnaire(
    admin_client: Client, locked: Questionnaire
) -> None:
    q9 = question(locked, "Q9")
    options_before = list(q9.options.values_list("pk", "code", "exclusive", "is_other"))
    url = change_url(q9)
    data = form_data(admin_client, url, "question_form")
    data.update(
        {
            "code": "Q99",
            "type": "single",
            "options-0-code": "77",
            "options-6-exclusive": "",
            "options-0-is_other": "on",
            "options-1-DELETE": "on",
            "options-TOTAL_FORMS": "8",
            "options-7-code": "8",
            "options-7-label_zh-hans": "新选项",
            "options-7-position": "7",
            "items-TOTAL_FORMS": "1",
            "items-0-code": "z",
            "items-0-label_en": "New item",
            "label_en": "Concerns",
        }
    )
    response = admin_client.post(url, data)
    assert response.status_code == 302
    q9.refresh_from_db()
    assert (q9.code, q9.type, q9.section.code) == ("Q9", "multiple", "C")
    assert q9.label["en"] == "Concerns"  # labels do change
    assert list(q9.options.values_list("pk", "code", "exclusive", "is_other")) == options_before
    assert not q9.items.exists()


def test_the_section_layout_of_a_locked_questionnaire_stays_editable(
    admin_client: Client, locked: Questionnaire
) -> None:
    """As in a definition-file replace: sections added, renamed and removed once empty, and
    questions moved between them; answers keep pointing at the same questions."""
    url = change_url(locked)
    data = form_data(admin_client, url, "questionnaire_form")
    total = int(data["sections-TOTAL_FORMS"])
    data.update(
        {
            "sections-0-code": "Z",
            "sections-TOTAL_FORMS": str(total + 1),
            f"sections-{total}-code": "E",
            f"sections-{total}-position": "9",
        }
    )
    assert admin_client.post(url, data).status_code == 302
    assert list(locked.sections.values_list("code", flat=True)) == ["Z", "B", "C", "D", "E"]
    answers_before = Answer.objects.count()
    q9 = question(locked, "Q9")
    question_url = change_url(q9)
    moved = form_data(admin_client, question_url, "question_form")
    moved["section"] = str(Section.objects.get(questionnaire=locked, code="E").pk)
    response = admin_client.post(question_url, moved)
    assert response.status_code == 302, _errors(response)
    assert question(locked, "Q9").section.code == "E"
    assert Answer.objects.count() == answers_before

    data = form_data(admin_client, url, "questionnaire_form")
    index = {data[f"sections-{i}-code"]: i for i in range(int(data["sections-TOTAL_FORMS"]))}
    data[f"sections-{index['B']}-DELETE"] = "on"  # B still has questions
    page = admin_client.post(url, data)
    assert page.status_code == 200
    # Refused, naming the section (Django's own check speaks first when its questions are
    # protected by answers or scores; ours when nothing else protects them).
    assert re.search(r"(Deleting section|Section) B", page.content.decode())
    assert locked.sections.filter(code="B").exists()
    moved = form_data(admin_client, question_url, "question_form")
    moved["section"] = str(Section.objects.get(questionnaire=locked, code="C").pk)
    response = admin_client.post(question_url, moved)
    assert response.status_code == 302, _errors(response)
    data = form_data(admin_client, url, "questionnaire_form")
    data[f"sections-{index['E']}-DELETE"] = "on"  # E is empty again
    assert admin_client.post(url, data).status_code == 302
    assert list(locked.sections.values_list("code", flat=True)) == ["Z", "B", "C", "D"]
    assert Answer.objects.count() == answers_before


def test_locked_questions_and_options_cannot_be_deleted_in_bulk_either(
    admin_client: Client, locked: Questionnaire
) -> None:
    questions = list(locked.questions.filter(code__in=["Q15R", "Q18"]))
    response = admin_client.post(
        reverse("admin:survey_question_changelist"),
        {"action": "delete_selected", "_selected_action": [q.pk for q in questions], "post": "yes"},
    )
    assert response.status_code == 403
    option = question(locked, "Q9").options.last()
    delete_url = reverse("admin:survey_option_delete", args=[option.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert locked.questions.filter(code__in=["Q15R", "Q18"]).count() == 2
    assert Option.objects.filter(pk=option.pk).exists()


def test_an_option_page_edits_label_and_score_but_not_the_code_when_locked(
    admin_client: Client, locked: Questionnaire
) -> None:
    option = question(locked, "Q4").options.get(code="5")
    url = change_url(option)
    data = form_data(admin_client, url, "option_form")
    data.update({"code": "55", "score": "0.5", "label_en": "Not started"})
    assert admin_client.post(url, data).status_code == 302
    option.refresh_from_db()
    assert (option.code, option.score, option.label["en"]) == ("5", Decimal("0.5"), "Not started")
    locked.refresh_from_db()
    assert locked.definition_version == 2


def test_a_locked_question_cannot_be_deleted_or_added(
    admin_client: Client, locked: Questionnaire
) -> None:
    q18 = question(locked, "Q18")
    delete_url = reverse("admin:survey_question_delete", args=[q18.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert Question.objects.filter(pk=q18.pk).exists()
    add_url = reverse("admin:survey_question_add")
    response = admin_client.post(
        add_url,
        {
            "questionnaire": locked.pk,
            "section": q18.section_id,
            "code": "Q19",
            "type": "text",
            "label_en": "More",
            "required": "",
            "position": "20",
            "integer": "on",
            "options-TOTAL_FORMS": "0",
            "options-INITIAL_FORMS": "0",
            "items-TOTAL_FORMS": "0",
            "items-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    [error] = response.context["adminform"].form.errors["questionnaire"]
    assert error.startswith("ipb-survey has 1 response")
    assert not Question.objects.filter(code="Q19").exists()


def test_labels_and_scores_stay_editable_when_locked_and_scores_raise_the_version(
    admin_client: Client, locked: Questionnaire
) -> None:
    q3 = question(locked, "Q3")
    url = change_url(q3)
    data = form_data(admin_client, url, "question_form")
    data.update({"options-0-label_en": "Very active", "options-0-score": "10"})
    assert admin_client.post(url, data).status_code == 302
    option = q3.options.get(code="1")
    assert option.label["en"] == "Very active" and option.score == 10
    locked.refresh_from_db()
    assert locked.definition_version == 2
    data = form_data(admin_client, url, "question_form")
    data["label_en"] = "Usage"
    assert admin_client.post(url, data).status_code == 302
    locked.refresh_from_db()
    assert locked.definition_version == 2  # a label is not read by the analysis


# --- what the forms check -------------------------------------------------------------------------


def _post_question(client: Client, q: Question, **changes: str):
    url = change_url(q)
    data = form_data(client, url, "question_form")
    data.update(changes)
    return client.post(url, data)


def _errors(response) -> dict:
    assert response.status_code == 200, "expected the form to be refused"
    form_errors = dict(response.context["adminform"].form.errors)
    for formset in response.context["inline_admin_formsets"]:
        prefix = formset.formset.prefix
        if formset.formset.non_form_errors():
            form_errors[prefix] = list(formset.formset.non_form_errors())
        for index, errors in enumerate(formset.formset.errors):
            for field, messages in errors.items():
                form_errors[f"{prefix}-{index}-{field}"] = messages
    return form_errors


def test_show_if_must_compile_against_the_questionnaire(
    admin_client: Client, draft: Questionnaire
) -> None:
    """The question page asks the one rulebook: the same code, path and message as a file or
    the API, put beside the field."""
    q15r = question(draft, "Q15R")
    errors = _errors(_post_question(admin_client, q15r, show_if="Q15 == 9"))
    assert errors["show_if"] == ['"Q15 == 9" at 7: Q15 has no option 9']
    errors = _errors(_post_question(admin_client, q15r, show_if="Q15 = 1"))
    assert errors["show_if"] == ["\"Q15 = 1\" at 4: unexpected character '='; did you mean '=='?"]
    errors = _errors(_post_question(admin_client, q15r, show_if="Q18 == 'x'"))
    assert errors["show_if"] == [
        "refers to Q18, which comes later (a question can only depend on questions before it)"
    ]
    errors = _errors(_post_question(admin_client, q15r, show_if="Q15R == 'x'"))
    assert errors["show_if"] == ["refers to the question itself (Q15R)"]
    assert _post_question(admin_client, q15r, show_if="Q15 in [1, 2]").status_code == 302


def test_the_question_page_gives_the_rulebooks_message_in_chinese(
    admin_client: Client, draft: Questionnaire, settings
) -> None:
    settings.LANGUAGE_CODE = "zh-hans"
    response = _post_question(admin_client, question(draft, "Q15R"), show_if="Q15 == 9")
    assert _errors(response)["show_if"] == ["“Q15 == 9” 位置 7：Q15 没有选项 9"]


def test_a_code_change_that_breaks_an_expression_is_refused(
    admin_client: Client, draft: Questionnaire
) -> None:
    errors = _errors(_post_question(admin_client, question(draft, "Q15"), code="Q15X"))
    assert errors["__all__"] == [
        'This change would break sections[3].questions[2] (Q15R).show_if: "Q15 == 1" '
        "at 0: unknown question Q15",
        "This change would break segments[3] (agree_but_return).rule: "
        '"Q14 in [1, 2] and Q15 == 1" at 18: unknown question Q15',
    ]
    errors = _errors(_post_question(admin_client, question(draft, "D1"), code="D1X"))
    assert errors["__all__"] == [
        "This change would break analysis.banner[0]: unknown question 'D1'"
    ]
    errors = _errors(_post_question(admin_client, question(draft, "D2"), code="D1"))
    assert errors["code"] == ["duplicate code D1 (already used by sections[0].questions[0])"]
    assert _post_question(admin_client, question(draft, "Q18"), code="Q18X").status_code == 302


def test_removing_or_recoding_an_option_an_expression_reads_is_refused(
    admin_client: Client, draft: Questionnaire
) -> None:
    q15 = question(draft, "Q15")  # Q15R asks "Q15 == 1"; segment agree_but_return too
    for change in ({"options-0-code": "9"}, {"options-0-DELETE": "on"}):
        errors = _errors(_post_question(admin_client, q15, **change))
        assert errors["__all__"] == [
            'This change would break sections[3].questions[2] (Q15R).show_if: "Q15 == 1" '
            "at 7: Q15 has no option 1",
            "This change would break segments[3] (agree_but_return).rule: "
            '"Q14 in [1, 2] and Q15 == 1" at 25: Q15 has no option 1',
        ]
    q2 = question(draft, "Q2")  # segments read Q2.a ... Q2.d
    errors = _errors(_post_question(admin_client, q2, **{"items-0-code": "z"}))
    assert errors["__all__"][0].startswith("This change would break segments[0] (active).rule: ")
    errors = _errors(_post_question(admin_client, q2, **{"items-0-code": "a-b"}))
    assert errors["items-0-code"] == [
        "'a-b' is not a valid item code (a letter, then letters, digits or _; or digits only)"
    ]
    errors = _errors(_post_question(admin_client, question(draft, "D1"), **{"options-1-code": "1"}))
    assert errors["options"] == ["duplicate code 1"]
    assert _post_question(admin_client, q15, **{"options-2-code": "9"}).status_code == 302


def test_a_question_an_expression_reads_cannot_be_deleted(
    admin_client: Client, draft: Questionnaire
) -> None:
    q15 = question(draft, "Q15")
    delete_url = reverse("admin:survey_question_delete", args=[q15.pk])
    page = admin_client.get(delete_url)
    content = page.content.decode()
    assert (
        "ipb-survey: sections[3].questions[1] (Q15R).show_if: &quot;Q15 == 1&quot; "
        "at 0: unknown question Q15" in content
    )
    admin_client.post(delete_url, {"post": "yes"})
    assert Question.objects.filter(pk=q15.pk).exists()
    q18 = question(draft, "Q18")
    response = admin_client.post(
        reverse("admin:survey_question_delete", args=[q18.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Question.objects.filter(pk=q18.pk).exists()


def test_option_flags_must_fit_the_question_type(
    admin_client: Client, draft: Questionnaire
) -> None:
    errors = _errors(
        _post_question(admin_client, question(draft, "D1"), **{"options-0-exclusive": "on"})
    )
    assert errors["options-0-exclusive"] == ["only options of a multiple can be exclusive"]
    errors = _errors(
        _post_question(admin_client, question(draft, "Q5"), **{"options-0-is_other": "on"})
    )
    assert errors["options-0-is_other"] == ["a matrix scale point cannot be 'other'"]
    errors = _errors(
        _post_question(
            admin_client, question(draft, "Q18"), attention_expect="1", straightlining_check="on"
        )
    )
    assert errors == {
        "attention_expect": ["not allowed on a text question (only on single)"],
        "straightlining_check": ["not allowed on a text question (only on matrix)"],
    }
    errors = _errors(_post_question(admin_client, question(draft, "Q16"), max_choices="9"))
    assert errors == {"max_choices": ["9 is more than the 5 options"]}
    errors = _errors(_post_question(admin_client, question(draft, "Q2"), min_value="100"))
    assert errors == {"min_value": ["100 is more than max (99)"]}


def test_options_and_items_only_where_the_type_has_them(
    admin_client: Client, draft: Questionnaire
) -> None:
    errors = _errors(_post_question(admin_client, question(draft, "D5"), type="number"))
    assert errors["options"] == ["not allowed on a number question (only on single and multiple)"]
    errors = _errors(_post_question(admin_client, question(draft, "D5"), type="matrix"))
    assert errors["items"] == ["must not be empty"]


def test_segment_rules_and_banner_are_checked_on_the_questionnaire_page(
    admin_client: Client, draft: Questionnaire
) -> None:
    """The questionnaire page asks the one rulebook too, about the page as edited."""
    url = change_url(draft)
    data = form_data(admin_client, url, "questionnaire_form")
    data.update({"segments-0-rule": "Q2 >= 3", "banner": "D1, Q3x, Q5"})
    errors = _errors(admin_client.post(url, data))
    assert errors["segments-0-rule"] == [
        '"Q2 >= 3" at 0: Q2 is a number_grid question: name one of its items, e.g. Q2.a'
    ]
    assert errors["banner"] == [
        "unknown question 'Q3x'",
        "Q5 is a matrix question; a banner breaks down by single questions",
    ]
    data = form_data(admin_client, url, "questionnaire_form")
    data["banner"] = "D1, segment:nope"
    errors = _errors(admin_client.post(url, data))
    assert errors == {"banner": ["unknown segment 'nope'"]}
    data = form_data(admin_client, url, "questionnaire_form")
    data["segments-0-DELETE"] = "on"  # the banner names segment:active
    errors = _errors(admin_client.post(url, data))
    assert errors == {"banner": ["unknown segment 'active'"]}


def test_validity_rule_parameters_are_checked(admin_client: Client, draft: Questionnaire) -> None:
    url = change_url(draft)
    data = form_data(admin_client, url, "questionnaire_form")
    rows = {data[f"validity_rules-{i}-kind"]: i for i in range(4)}
    data[f"validity_rules-{rows['speeder']}-params"] = '{"below_fraction_of_median": 3}'
    data[f"validity_rules-{rows['straightlining']}-params"] = '{"min_itemz": 5}'
    errors = _errors(admin_client.post(url, data))
    assert errors[f"validity_rules-{rows['speeder']}-params"] == [
        "must be a number between 0 and 1, not a number (3)"
    ]
    assert errors[f"validity_rules-{rows['straightlining']}-params"] == [
        "unknown key 'min_itemz' (expected action, min_items)",
        "missing (a whole number, 2 or more)",
    ]


def test_a_validity_rule_that_could_never_fire_is_refused(
    admin_client: Client, draft: Questionnaire
) -> None:
    url = change_url(draft)
    data = form_data(admin_client, url, "questionnaire_form")
    rows = {data[f"validity_rules-{i}-kind"]: i for i in range(4)}
    data["one_response_per"] = "none"
    errors = _errors(admin_client.post(url, data))
    assert errors == {
        f"validity_rules-{rows['duplicate']}-kind": [
            "needs settings.one_response_per: respondent (with none it can never apply)"
        ]
    }


def test_a_language_still_in_the_labels_cannot_be_dropped(
    admin_client: Client, draft: Questionnaire
) -> None:
    url = change_url(draft)
    data = form_data(admin_client, url, "questionnaire_form")
    data["languages"] = "zh-hans"
    errors = _errors(admin_client.post(url, data))
    assert errors["title"] == ["language 'en' is not in languages (zh-hans)"]
    assert errors["scores-0-label"] == ["language 'en' is not in languages (zh-hans)"]
    # The questions' labels: one line at the top, not one per label.
    [line] = errors["__all__"]
    assert line.startswith("This change would break sections[0].questions[0] (D1).label: ")
    assert line.endswith("more places)")
    assert list(Questionnaire.objects.get(pk=draft.pk).languages) == ["zh-hans", "en"]


def test_a_slug_the_rulebook_refuses_is_shown_not_a_500(
    admin_client: Client, draft: Questionnaire
) -> None:
    url = change_url(draft)
    data = form_data(admin_client, url, "questionnaire_form")
    data["slug"] = "Bad Slug"
    errors = _errors(admin_client.post(url, data))
    assert errors == {"slug": ["'Bad Slug' is not valid (use lowercase letters, digits and -)"]}


def test_changing_the_banner_raises_the_definition_version(
    admin_client: Client, draft: Questionnaire
) -> None:
    url = change_url(draft)
    data = form_data(admin_client, url, "questionnaire_form")
    assert data["banner"].startswith("D1, D2")
    data["banner"] = "D1，D2、segment:active"
    assert admin_client.post(url, data).status_code == 302
    draft.refresh_from_db()
    assert draft.banner == ["D1", "D2", "segment:active"] and draft.definition_version == 2


def test_the_questionnaire_page_shows_the_public_link_and_its_qr_code(client, django_user_model):
    from survey.interchange import load_definition as _load
    from survey.services.questionnaires import questionnaire_import as _import
    from tests.conftest import EXAMPLE_DEFINITION as _path

    questionnaire = _import(definition=_load(_path.read_text(encoding="utf-8")))
    admin_user = django_user_model.objects.create_superuser("qr-admin", "qr@example.org", "pw")
    client.force_login(admin_user)
    page = client.get(f"/admin/survey/questionnaire/{questionnaire.pk}/change/").content.decode()
    assert 'href="/s/ipb-survey/"' in page
    assert 'src="/s/ipb-survey/qr.svg"' in page
    svg = client.get("/s/ipb-survey/qr.svg")
    assert svg.status_code == 200 and svg["Content-Type"].startswith("image/svg+xml")


def test_a_section_with_questions_is_not_removed_even_before_responses(
    admin_client: Client, draft: Questionnaire
) -> None:
    url = change_url(draft)
    data = form_data(admin_client, url, "questionnaire_form")
    data["sections-3-DELETE"] = "on"
    code = data["sections-3-code"]
    page = admin_client.post(url, data)
    assert page.status_code == 200
    assert f"Section {code} still has questions" in page.content.decode()
    assert draft.sections.filter(code=code).exists()
