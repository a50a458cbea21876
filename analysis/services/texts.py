"""Open answers: the texts of text questions and of "other, please specify" options, as a
searchable, paged list and as a word-frequency table.

Promises:
- Only valid responses count (status ``valid`` or ``flagged``), as in every table, unless
  the reader's filters ask for another status (``within``).
- ``text_answers`` is one query for the page and one count, whatever the number of answers:
  newest response first, filtered by ``q`` (a case-insensitive substring of the text).
- ``text_terms`` segments Chinese with jieba (English and numbers split on their own), drops
  stop words, punctuation and one-character words, and counts each word once per answer (the
  share of answers that use it). It reads at most ``TERMS_SAMPLE`` answers, the newest, and
  says how many it read, so that a question with a million answers stays a page load.
- ``within`` (a Response queryset, the reader's filters) narrows both to those responses,
  and its status filter replaces the default valid-or-flagged.
- ``text_questions`` lists the questions that have texts: text questions, and questions with
  an "other" option (whose text is kept on the option's answer row).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import jieba
from django.db.models import QuerySet

from survey.models import Answer, Questionnaire, Response
from survey.structure import QuestionDef, structure_for

PAGE_SIZE = 20
MAX_PAGE_SIZE = 200
TERMS_SAMPLE = 20_000
TERMS_SHOWN = 30
MAX_QUERY_LENGTH = 100

jieba.setLogLevel(logging.WARNING)  # its dictionary load logs at INFO to stderr

# Words that carry no content in answers to a questionnaire: Chinese function words and
# fillers, and English stop words. Short on purpose: an analyst sees what was dropped.
_STOP_TEXT = """
的 了 和 是 在 我 有 也 就 都 而 及 与 着 或 一个 没有 我们 你们 他们 她们 它们 自己
这个 那个 这些 那些 这样 那样 什么 怎么 怎样 如何 为什么 因为 所以 但是 可是 然后
如果 虽然 还是 以及 比较 非常 一些 一下 一点 可以 能够 应该 需要 希望 觉得 认为 感觉
其他 其它 不是 就是 还有 目前 现在 已经 进行 通过 对于 关于 以上 以下 之一 等等 方面
问题 建议 无 暂无 没 不 很 更 太 吧 吗 呢 啊 哦 嗯 过 被 把 让 给 对 从 向 到 为 以 于
之 其 该 此 每 各 某 这 那 个 些 上 下 中
the a an and or of to in on for is are was were be been it this that with as at by from
not no none nothing n/a na ok yes
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())
_WORD = re.compile(r"[\w\u4e00-\u9fff]", re.UNICODE)


@dataclass(frozen=True)
class TextQuestion:
    code: str
    label: Any
    kind: str  # "text" or "other"
    options: dict[str, Any]  # the "other" options: code → label (empty for a text question)


@dataclass(frozen=True)
class TextAnswer:
    response_id: int
    option: str | None  # the "other" option's code, None for a text question
    text: str
    submitted_at: datetime


@dataclass(frozen=True)
class TextPage:
    question: TextQuestion
    count: int
    page: int
    pages: int
    answers: list[TextAnswer]


@dataclass(frozen=True)
class Terms:
    read: int  # answers segmented
    total: int  # answers there are
    terms: list[tuple[str, int]]  # word, answers using it; most used first


def text_questions(questionnaire: Questionnaire) -> list[TextQuestion]:
    """The questions whose answers carry texts, in questionnaire order."""
    found = []
    for question in structure_for(questionnaire).questions.values():
        if question.type == "text":
            found.append(TextQuestion(question.code, question.label, "text", {}))
        elif others := {o.code: o.label for o in question.options.values() if o.is_other}:
            found.append(TextQuestion(question.code, question.label, "other", others))
    return found


def _rows(
    questionnaire: Questionnaire,
    question: QuestionDef,
    q: str,
    within: QuerySet[Response] | None = None,
) -> QuerySet[Answer]:
    rows = Answer.objects.filter(
        question_id=question.id, response__questionnaire=questionnaire
    ).exclude(text="")
    if q:
        rows = rows.filter(text__icontains=q[:MAX_QUERY_LENGTH])
    if within is None:
        rows = rows.filter(response__status__in=(Response.Status.VALID, Response.Status.FLAGGED))
    else:  # the reader's filters (survey.filters), their status included
        rows = rows.filter(response__in=within.order_by().values("id"))
    return rows.order_by("-response__submitted_at", "-id")


def text_answers(
    *,
    questionnaire: Questionnaire,
    question: TextQuestion,
    q: str = "",
    within: QuerySet[Response] | None = None,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> TextPage:
    """One page of a question's texts (``page`` from 1; past the last page gives the last)."""
    definition = structure_for(questionnaire).questions[question.code]
    rows = _rows(questionnaire, definition, q, within)
    count = rows.count()
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    pages = max(1, -(-count // page_size))
    page = max(1, min(page, pages))
    options = {o.id: o.code for o in definition.options.values()}
    start = (page - 1) * page_size
    answers = [
        TextAnswer(response_id, options.get(option_id), text, submitted_at)
        for response_id, option_id, text, submitted_at in rows.values_list(
            "response_id", "option_id", "text", "response__submitted_at"
        )[start : start + page_size]
    ]
    return TextPage(question, count, page, pages, answers)


def text_terms(
    *,
    questionnaire: Questionnaire,
    question: TextQuestion,
    q: str = "",
    within: QuerySet[Response] | None = None,
) -> Terms:
    """The most used words of a question's texts (see the module's promises)."""
    definition = structure_for(questionnaire).questions[question.code]
    rows = _rows(questionnaire, definition, q, within)
    texts = list(rows.values_list("text", flat=True)[:TERMS_SAMPLE])
    total = rows.count() if len(texts) == TERMS_SAMPLE else len(texts)
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(set(words(text)))
    return Terms(read=len(texts), total=total, terms=counts.most_common(TERMS_SHOWN))


def words(text: str) -> list[str]:
    """The content words of one answer, lower-cased, in order."""
    return [
        word
        for token in _segment(text)
        if (word := token.strip().lower())
        and len(word) > 1
        and word not in STOP_WORDS
        and _WORD.search(word)
        and not word.isdigit()
    ]


@cache
def _tokenizer() -> jieba.Tokenizer:
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def _segment(text: str) -> list[str]:
    return _tokenizer().lcut(text)
