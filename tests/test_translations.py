"""The Chinese (zh-hans) catalogue: complete, placeholders intact, compiled, and really used.

The catalogue is ``locale/zh_Hans/LC_MESSAGES/django.po`` (made by ``makemessages``) and its
compiled ``django.mo``, which is committed because a fresh machine has no gettext tools. The
.po is read here with a small parser of our own (polib is not a dependency).
"""

from __future__ import annotations

import ast
import gettext as gnu_gettext
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django.utils import translation
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from survey.models import QuestionnaireAccess
from survey.services.responses import AnswersInvalid, response_submit
from tests.conftest import REPO_ROOT
from tests.survey.answers import complete_answers

CATALOGUE_DIR = REPO_ROOT / "locale" / "zh_Hans" / "LC_MESSAGES"
PO_PATH = CATALOGUE_DIR / "django.po"
MO_PATH = CATALOGUE_DIR / "django.mo"
FORM_URL = "/s/ipb-survey/"
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}

# Python source whose gettext strings makemessages collects (tests are --ignore'd there).
SOURCE_DIRS = ("analysis", "config", "demo", "exports", "studio", "survey", "wenji")
GETTEXT_NAMES = {"_", "gettext", "gettext_lazy", "gettext_noop", "ngettext", "ngettext_lazy"}


# --- a tiny .po reader -----------------------------------------------------------------------

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?) (".*")$')


@dataclass
class Entry:
    """One message of the catalogue; ``strings`` holds msgid, msgstr, msgstr[0], ..."""

    strings: dict[str, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False

    @property
    def msgid(self) -> str:
        return self.strings.get("msgid", "")

    @property
    def translations(self) -> list[str]:
        return [text for key, text in self.strings.items() if key.startswith("msgstr")]

    @property
    def sources(self) -> list[str]:
        return [text for key, text in self.strings.items() if key.startswith("msgid")]


def _unquote(quoted: str) -> str:
    body = quoted.strip()[1:-1]
    return re.sub(r"\\(.)", lambda match: _ESCAPES[match.group(1)], body)


def parse_po(text: str) -> list[Entry]:
    """The entries of a .po file, header first; obsolete (#~) entries are marked, not dropped."""
    entries = []
    for block in re.split(r"\n[ \t]*\n", text.strip()):
        entry, key = Entry(), ""
        for line in block.splitlines():
            if line.startswith("#~"):
                entry.obsolete = True
            elif line.startswith("#,"):
                entry.flags |= {flag.strip() for flag in line[2:].split(",")}
            elif line.startswith("#"):
                continue
            elif match := _KEYWORD.match(line):
                key = match.group(1)
                entry.strings[key] = _unquote(match.group(2))
            elif line.startswith('"') and key:
                entry.strings[key] += _unquote(line)
            else:
                raise ValueError(f"{PO_PATH.name}: cannot read the line {line!r}")
        entries.append(entry)
    return entries


@pytest.fixture(scope="module")
def catalogue() -> list[Entry]:
    """The catalogue's messages (without the header and obsolete entries)."""
    entries = parse_po(PO_PATH.read_text(encoding="utf-8"))
    assert entries[0].msgid == "", "the catalogue starts with its header"
    return [entry for entry in entries[1:] if not entry.obsolete]


# --- placeholders ------------------------------------------------------------------------------

_PRINTF = re.compile(r"%(?:\((?P<name>[^)]*)\))?[#0 +-]*(?:\*|\d+)?(?:\.\d+)?[diouxXeEfFgGcrsa%]")
_BRACES = re.compile(r"\{[^{}\s]*\}")
_TAGS = re.compile(r"</?[a-zA-Z][^>]*>")


def placeholder_problems(source: str, translation_text: str, *, python_format: bool) -> list[str]:
    """How the translation's placeholders differ from its source's: printf ones (for
    python-format messages; unnamed ones in order, since they fill by position), {name}
    ones and HTML tags. Empty when they match."""
    problems = []
    if python_format:
        wanted = [spec.group(0) for spec in _PRINTF.finditer(source)]
        got = [spec.group(0) for spec in _PRINTF.finditer(translation_text)]
        if any("(" in spec for spec in wanted):  # named: any order will do
            wanted, got = sorted(wanted), sorted(got)
        if wanted != got:
            problems.append(f"% placeholders {wanted} became {got}")
    for label, pattern in (("{} placeholders", _BRACES), ("HTML tags", _TAGS)):
        wanted, got = Counter(pattern.findall(source)), Counter(pattern.findall(translation_text))
        if wanted != got:
            problems.append(f"{label} {sorted(wanted.elements())} became {sorted(got.elements())}")
    return problems


def test_the_placeholder_check_catches_a_lost_or_renamed_placeholder() -> None:
    source = "At most %(max)d characters (this has %(count)d)."
    good = "最多 %(max)d 个字（当前 %(count)d 个）。"
    assert placeholder_problems(source, good, python_format=True) == []
    assert placeholder_problems(source, "最多 %(max)d 个字。", python_format=True)
    assert placeholder_problems(source, "最多 %(max)s 个字（%(count)d）。", python_format=True)
    assert placeholder_problems("Choose %d of %s.", "%s 选 %d。", python_format=True)
    assert placeholder_problems("Done ({n})", "完成", python_format=False)
    assert placeholder_problems("<b>Hi</b>", "你好", python_format=False)


# --- the catalogue file ------------------------------------------------------------------------


def test_the_header_declares_chinese_utf8_and_one_plural_form() -> None:
    header = parse_po(PO_PATH.read_text(encoding="utf-8"))[0]
    assert "fuzzy" not in header.flags
    text = header.strings["msgstr"]
    assert "Language: zh_Hans\n" in text
    assert "charset=UTF-8" in text
    assert "Plural-Forms: nplurals=1; plural=0;" in text


def test_every_message_is_translated_and_none_is_fuzzy(catalogue: list[Entry]) -> None:
    assert len(catalogue) > 300
    untranslated = [e.msgid for e in catalogue if not all(t.strip() for t in e.translations)]
    fuzzy = [e.msgid for e in catalogue if "fuzzy" in e.flags]
    assert untranslated == []
    assert fuzzy == []


def test_plural_messages_have_exactly_the_one_chinese_form(catalogue: list[Entry]) -> None:
    plurals = [entry for entry in catalogue if "msgid_plural" in entry.strings]
    assert plurals, "the catalogue has plural messages (the structure lock reason)"
    for entry in plurals:
        assert [key for key in entry.strings if key.startswith("msgstr")] == ["msgstr[0]"]


def test_every_translation_keeps_the_placeholders_and_markup_of_its_source(
    catalogue: list[Entry],
) -> None:
    broken = {}
    for entry in catalogue:
        python_format = "python-format" in entry.flags
        for source in entry.sources:
            for text in entry.translations:
                problems = placeholder_problems(source, text, python_format=python_format)
                if problems:
                    broken[source] = problems
    assert broken == {}


def test_the_compiled_catalogue_is_up_to_date_with_the_po_file(catalogue: list[Entry]) -> None:
    with MO_PATH.open("rb") as handle:
        compiled = gnu_gettext.GNUTranslations(handle)
    stale = []
    for entry in catalogue:
        if "msgid_plural" in entry.strings:
            got = compiled.ngettext(entry.msgid, entry.strings["msgid_plural"], 1)
        elif "msgctxt" in entry.strings:  # one word, two meanings ("Share": 比例 / 分享)
            got = compiled.pgettext(entry.strings["msgctxt"], entry.msgid)
        else:
            got = compiled.gettext(entry.msgid)
        if got != entry.translations[0]:
            stale.append(entry.msgid)
    assert stale == [], "run: manage.py compilemessages -l zh_Hans --ignore=.venv"


def _gettext_strings_in(path: Path) -> set[str]:
    strings = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        first = node.args[0]
        if (
            name in GETTEXT_NAMES
            and isinstance(first, ast.Constant)
            and isinstance(first.value, str)
        ):
            strings.add(first.value)
    return strings


def test_every_gettext_string_of_the_python_code_has_a_translation(
    catalogue: list[Entry],
) -> None:
    in_code: dict[str, Path] = {}
    for directory in SOURCE_DIRS:
        for path in sorted((REPO_ROOT / directory).rglob("*.py")):
            if "migrations" not in path.parts:
                in_code |= {text: path for text in _gettext_strings_in(path)}
    translated = {source for entry in catalogue for source in entry.sources}
    missing = {
        text: str(path.relative_to(REPO_ROOT))
        for text, path in in_code.items()
        if text not in translated
    }
    assert missing == {}, (
        "run `manage.py makemessages -l zh_Hans --ignore=.venv --ignore=staticfiles "
        "--ignore=node_modules --ignore=tests --no-location`, translate, then compilemessages"
    )


# --- the pages and messages people see ---------------------------------------------------------


@pytest.mark.django_db
def test_the_respondent_form_is_in_chinese_by_default_and_english_on_request(ipb, client):
    with translation.override("zh-hans"):
        chinese = client.get(FORM_URL, **ZH).content.decode()
        default = client.get(FORM_URL).content.decode()
    english = client.get(FORM_URL, **EN).content.decode()
    for page in (chinese, default):
        assert '<html lang="zh-hans">' in page
        assert "<summary>关于隐私：答案仅用于统计" in page
        assert "只以不可还原的哈希形式保存" in page
        assert 'id="wf-submit">提交</button>' in page
        assert "About your privacy" not in page
    assert "<summary>About your privacy: answers are used only for statistics" in english
    assert 'id="wf-submit">Submit</button>' in english


@pytest.mark.django_db
def test_a_missing_required_answer_is_refused_in_the_active_language(ipb):
    answers = complete_answers()
    del answers["D1"]
    refusals = {}
    for language in ("zh-hans", "en"):
        with translation.override(language), pytest.raises(AnswersInvalid) as excinfo:
            response_submit(
                questionnaire=ipb, answers=answers, submission_id=uuid.uuid4(), channel="api"
            )
        refusals[language] = (str(excinfo.value.message), excinfo.value.fields["D1"])
    assert refusals["zh-hans"] == ("部分答案有误，请检查。", ["此题为必答题。"])
    assert refusals["en"] == ("Some answers need attention.", ["This question is required."])


@pytest.mark.django_db
def test_the_submission_api_explains_a_missing_answer_in_the_clients_language(ipb):
    user = User.objects.create_user("collector", password=None)
    user.groups.add(Group.objects.get_or_create(name="collector")[0])
    QuestionnaireAccess.objects.create(user=user, questionnaire=ipb)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    answers = complete_answers()
    del answers["D1"]
    url = f"/api/v1/questionnaires/{ipb.slug}/submissions/"
    bodies = {}
    for language, headers in (("zh-hans", ZH), ("en", EN)):
        body = {"submission_id": str(uuid.uuid4()), "answers": answers}
        response = client.post(url, body, format="json", **headers)
        assert response.status_code == 400, response.content[:300]
        bodies[language] = response.json()
    assert bodies["zh-hans"]["fields"]["D1"] == ["此题为必答题。"]
    assert bodies["en"]["fields"]["D1"] == ["This question is required."]


@pytest.mark.django_db
def test_the_questionnaire_list_offers_the_publish_action_in_chinese(ipb_draft, admin_client):
    url = reverse("admin:survey_questionnaire_changelist")
    with translation.override("zh-hans"):
        chinese = admin_client.get(url, **ZH).content.decode()
    english = admin_client.get(url, **EN).content.decode()
    assert "发布（开始收集答卷）" in chinese
    assert "关闭（停止收集答卷）" in chinese
    assert "Publish (open for responses)" not in chinese
    assert "Publish (open for responses)" in english
    # our own name on the header, and the way to the studio and the results from each row
    assert "问集管理后台" in chinese and "Django" not in chinese.split("<h1")[0]
    assert 'href="/studio/ipb-survey/"' in chinese and 'href="/results/ipb-survey/"' in chinese
