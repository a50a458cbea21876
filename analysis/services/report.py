"""The drafted report: a results document's findings as sentences, in the report's own style.

Promises:
- Pure: a function of the results document (the very rows the results page and the tables
  export show), the collection facts the view passes and the active language. It reads no
  database and computes no figure the document does not hold, except effect sizes (Cohen's h
  and d, used only to rank what to say first) and the correction of a segment's comparisons
  with the rest of the sample (the questionnaire's own correction, over that segment's tests).
- Deterministic: the same document gives the same draft, word for word, in the same order.
- Honest about significance: a difference is called significant only when the document's
  letters say so (banner cross-tabs, corrected by row) or when a segment's comparison stays
  under the significance level after the correction over that segment's tests. Other
  differences are reported as figures, never as differences.
- Every sentence is a finding with a stable ``key`` (what it is about, not its wording), the
  figures it states (so an analyst's rewrite of it can be flagged when they change) and the
  place on the results page it comes from (``anchor``).
- Every sentence is a translatable pattern (gettext, plural-aware where it counts); numbers
  are written the report's way: shares with two decimals (49.16%), means with two (3.40).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from analysis.presenters import question_tables
from analysis.services.stats import adjusted
from survey.labels import label_text, reason_labels

BANNER_FINDINGS = 8  # significant cross-tab differences told per banner, largest effect first
PROFILE_FINDINGS = 5  # a segment's profile differences told, largest first
ANSWER_FINDINGS = 6  # a segment's other answers that differ, largest first
LEADING_OPTIONS = 3  # options named in a question's headline


@dataclass(frozen=True)
class Finding:
    """One sentence of the draft. ``figures`` are the numbers it states, as written."""

    key: str
    text: str
    figures: str
    anchor: str


@dataclass
class Part:
    """A heading's worth: its findings, and the chart and table the results page shows."""

    key: str
    title: str
    anchor: str
    findings: list[Finding] = field(default_factory=list)
    chart: str = ""
    table: dict[str, Any] | None = None  # {"headers": [...], "rows": [[...], ...]}


@dataclass
class Chapter:
    key: str
    title: str
    parts: list[Part] = field(default_factory=list)


@dataclass
class Draft:
    language: str
    chapters: list[Chapter]

    def findings(self) -> Iterable[Finding]:
        for chapter in self.chapters:
            for part in chapter.parts:
                yield from part.findings


@dataclass(frozen=True)
class Collection:
    """What the document does not hold about the collection (read by the view)."""

    first: str = ""  # dates of the first and last response, ISO
    last: str = ""
    channels: Sequence[str] = ()  # the channels' names, most responses first
    skipped: frozenset[str] = frozenset()  # questions not reported (attention checks)


def percent(share: float | None) -> str:
    return "–" if share is None else f"{share * 100:.2f}%"


def decimal(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def listed(items: Sequence[str]) -> str:
    """Items joined the language's way: "A, B and C" / "A、B和C"."""
    if len(items) < 2:
        return "".join(items)
    separator = pgettext("list separator", ", ")
    return separator.join(items[:-1]) + pgettext("last list separator", " and ") + items[-1]


def _quoted(label: str, share: float | None) -> str:
    return pgettext("an option and its share", "“%(label)s” (%(share)s)") % {
        "label": label,
        "share": percent(share),
    }


def _scored(label: str, mean: float | None) -> str:
    return pgettext("a label and its mean score", "“%(label)s” (%(mean)s)") % {
        "label": label,
        "mean": decimal(mean),
    }


def _counted(label: str, mean: float | None) -> str:
    return pgettext("a label and its mean number", "“%(label)s” (%(mean)s)") % {
        "label": label,
        "mean": decimal(mean),
    }


def cohens_h(first: float, second: float) -> float:
    """Cohen's h between two shares (the effect size of a difference of proportions)."""
    return 2 * math.asin(math.sqrt(first)) - 2 * math.asin(math.sqrt(second))


def cohens_d(first: dict[str, Any], second: dict[str, Any]) -> float:
    """Cohen's d of two means with the root mean square of the two SDs (0 without spread)."""
    spread = math.sqrt(((first.get("sd") or 0.0) ** 2 + (second.get("sd") or 0.0) ** 2) / 2)
    if not spread:
        return 0.0
    return ((first.get("mean") or 0.0) - (second.get("mean") or 0.0)) / spread


class _Labels:
    """Labels of the document in the report's language."""

    def __init__(self, document: dict[str, Any], language: str) -> None:
        self.language = language
        self.questions = {q["code"]: q for q in document.get("questions") or []}
        self.scores = {s["code"]: s for s in document.get("scores") or []}

    def text(self, label: Any, fallback: str) -> str:
        return label_text(label, self.language) or fallback

    def option(self, question: str, code: str) -> str:
        table = self.questions.get(question) or {}
        for option in table.get("options") or table.get("scale") or []:
            if option["code"] == code:
                return self.text(option.get("label"), code)
        return code

    def item(self, question: str, code: str) -> str:
        for item in (self.questions.get(question) or {}).get("items") or []:
            if item["code"] == code:
                return self.text(item.get("label"), code)
        return code

    def score(self, code: str) -> str:
        return self.text((self.scores.get(code) or {}).get("label"), code)


def _ranked(cells: dict[str, dict[str, Any]], codes: Sequence[str], key: str) -> list[str]:
    """``codes`` by their cell's ``key`` value, highest first (ties in the given order)."""
    order = {code: index for index, code in enumerate(codes)}
    present = [code for code in codes if (cells.get(code) or {}).get(key) is not None]
    return sorted(present, key=lambda code: (-cells[code][key], order[code]))


# --- method ---------------------------------------------------------------------------------


def _weighting_finding(
    weighting: dict[str, Any], document: dict[str, Any], labels: _Labels, anchor: str
) -> Finding:
    """Whether the figures are weighted, to what, and what that costs in precision."""
    if weighting.get("error") or not document.get("weighted"):
        text = _("The figures are not weighted: the weights could not be computed (%(error)s).") % {
            "error": weighting.get("error") or "—"
        }
        return Finding("method:weights", text, "unweighted", "#weighting")
    questions = [
        f"“{labels.text((labels.questions.get(code) or {}).get('label'), code)}”"
        for code in weighting.get("margins") or {}
    ]
    base = document.get("base") or {}
    text = _(
        "The figures are weighted: the valid responses were raked to target shares of "
        "%(questions)s (design effect %(deff)s, effective sample size %(effective)s of "
        "%(responses)s responses); significance tests use the effective sample size."
    ) % {
        "questions": listed(questions),
        "deff": f"{weighting.get('design_effect', 1):.2f}",
        "effective": f"{base.get('effective', 0):.0f}",
        "responses": base.get("responses", 0),
    }
    figures = f"{weighting.get('design_effect')}|{base.get('effective')}"
    return Finding("method:weights", text, figures, "#weighting")


def _method(document: dict[str, Any], collection: Collection, labels: _Labels) -> Chapter:
    validity = document.get("validity") or {}
    collected = validity.get("collected") or 0
    valid = validity.get("valid") or 0
    anchor = "#run"
    part = Part(key="method", title=_("How the survey was run"), anchor=anchor)
    findings = part.findings
    if collected and collection.first:
        text = ngettext(
            "From %(start)s to %(end)s, %(count)s questionnaire was returned through %(channels)s.",
            "From %(start)s to %(end)s, %(count)s questionnaires were returned through "
            "%(channels)s.",
            collected,
        ) % {
            "start": collection.first,
            "end": collection.last,
            "count": collected,
            "channels": listed(list(collection.channels)) or _("the questionnaire's link"),
        }
    else:
        text = _("No questionnaire has been returned yet.")
    findings.append(
        Finding(
            "method:collection", text, f"{collection.first}|{collection.last}|{collected}", anchor
        )
    )
    if collected:
        text = ngettext(
            "%(valid)s of them was judged valid, a valid rate of %(rate)s.",
            "%(valid)s of them were judged valid, a valid rate of %(rate)s.",
            valid,
        ) % {"valid": valid, "rate": percent(validity.get("valid_rate"))}
        findings.append(
            Finding("method:valid", text, f"{valid}|{percent(validity.get('valid_rate'))}", anchor)
        )
    names = reason_labels()
    invalid = validity.get("invalid") or 0
    if invalid:
        reasons = [
            pgettext("a reason and its count", "%(reason)s: %(count)s")
            % {"reason": names.get(kind, kind), "count": count}
            for kind, count in (validity.get("invalid_by_reason") or {}).items()
            if count
        ]
        if validity.get("invalid_manual"):
            reasons.append(
                pgettext("a reason and its count", "%(reason)s: %(count)s")
                % {"reason": _("set aside by a person"), "count": validity["invalid_manual"]}
            )
        text = ngettext(
            "%(count)s questionnaire was set aside as invalid (%(reasons)s).",
            "%(count)s questionnaires were set aside as invalid (%(reasons)s).",
            invalid,
        ) % {"count": invalid, "reasons": listed(reasons)}
        findings.append(Finding("method:invalid", text, ",".join([str(invalid), *reasons]), anchor))
    flagged = validity.get("flagged") or 0
    if flagged:
        reasons = [
            names.get(kind, kind)
            for kind, count in (validity.get("flagged_by_reason") or {}).items()
            if count
        ]
        text = ngettext(
            "%(count)s more was flagged (%(reasons)s) but kept as valid.",
            "%(count)s more were flagged (%(reasons)s) but kept as valid.",
            flagged,
        ) % {"count": flagged, "reasons": listed(reasons) or _("by a person")}
        findings.append(Finding("method:flagged", text, str(flagged), anchor))
    filters = {
        name: value
        for name, value in (document.get("filters") or {}).items()
        if value and not (name == "status" and value == "valid")
    }
    if filters:
        shown = [f"{name} = {value}" for name, value in sorted(filters.items())]
        text = _("This report covers only the responses these filters select: %(filters)s.") % {
            "filters": listed(shown)
        }
        findings.append(Finding("method:filters", text, "|".join(shown), "#filters"))
    if (weighting := validity.get("weighting")) is not None:
        findings.append(_weighting_finding(weighting, document, labels, anchor))
    findings.append(
        Finding(
            "method:base",
            _(
                "Shares are of the valid respondents who answered each question; a question "
                "with several answers counts each respondent once per option."
            ),
            "",
            anchor,
        )
    )
    banners = [
        labels.text(entry.get("label"), entry["key"]) for entry in document.get("banner") or []
    ]
    if banners:
        text = _("The results are broken down by %(banners)s.") % {
            "banners": listed([f"“{name}”" for name in banners])
        }
        findings.append(Finding("method:banner", text, "", "#banner"))
    correction = document.get("correction") or "none"
    alpha = document.get("significance") or 0.05
    if correction == "none":
        text = _(
            "Shares are compared with a two-sided two-proportion z-test and means with "
            "Welch's t-test, at a significance level of %(alpha)s, without a correction for "
            "multiple comparisons."
        ) % {"alpha": f"{alpha:g}"}
    else:
        names_of = {"holm": _("Holm"), "bonferroni": _("Bonferroni")}
        text = _(
            "Shares are compared with a two-sided two-proportion z-test and means with "
            "Welch's t-test, at a significance level of %(alpha)s; the comparisons of each "
            "table row, and each segment's comparisons with the rest of the sample, are "
            "corrected together by the %(correction)s method. Only differences that stay "
            "significant after the correction are called significant."
        ) % {"alpha": f"{alpha:g}", "correction": names_of.get(correction, correction)}
    findings.append(Finding("method:tests", text, f"{alpha:g}|{correction}", anchor))
    return Chapter(key="method", title=_("Method"), parts=[part])


# --- questions ------------------------------------------------------------------------------


def _choice_headline(question: dict[str, Any], labels: _Labels, anchor: str) -> list[Finding]:
    code = question["code"]
    total = question.get("total") or {}
    cells = total.get("options") or {}
    n = total.get("n") or 0
    if not n:
        return [Finding(f"question:{code}", _("Nobody answered this question."), "0", anchor)]
    options = [o["code"] for o in question.get("options") or []]
    ranked = _ranked(cells, options, "share")
    name = {option: labels.option(code, option) for option in options}
    top = cells[ranked[0]]["share"]
    tied = [option for option in ranked if cells[option]["share"] == top]
    if len(tied) > 1:
        text = _("%(options)s were chosen equally often, %(share)s each") % {
            "options": listed([f"“{name[option]}”" for option in tied]),
            "share": percent(top),
        }
        rest = ranked[len(tied) : LEADING_OPTIONS]
    else:
        text = _("The answer chosen most often was “%(option)s” (%(share)s)") % {
            "option": name[ranked[0]],
            "share": percent(top),
        }
        rest = ranked[1:LEADING_OPTIONS]
    if rest:
        text += _(", followed by %(options)s") % {
            "options": listed([_quoted(name[option], cells[option]["share"]) for option in rest])
        }
    text += ngettext(" (%(n)s respondent answered).", " (%(n)s respondents answered).", n) % {
        "n": n
    }
    shown = ranked[: max(len(tied), LEADING_OPTIONS)]
    figures = [percent(cells[option]["share"]) for option in shown]
    lowest = ranked[-1]
    if len(ranked) > LEADING_OPTIONS + 1 and lowest not in shown:
        text += _(" The least chosen was “%(option)s” (%(share)s).") % {
            "option": name[lowest],
            "share": percent(cells[lowest]["share"]),
        }
        figures.append(percent(cells[lowest]["share"]))
    if total.get("mean") is not None:
        text += _(" The mean score is %(mean)s.") % {"mean": decimal(total["mean"])}
        figures.append(decimal(total["mean"]))
    return [Finding(f"question:{code}", text, "|".join([str(n), *figures]), anchor)]


def _matrix_headline(question: dict[str, Any], labels: _Labels, anchor: str) -> list[Finding]:
    code = question["code"]
    items = (question.get("total") or {}).get("items") or {}
    codes = [item["code"] for item in question.get("items") or []]
    if not any((items.get(item) or {}).get("n") for item in codes):
        return [Finding(f"question:{code}", _("Nobody answered this question."), "0", anchor)]
    findings = []
    by_mean = _ranked(items, codes, "mean")
    if by_mean:
        shown = [_scored(labels.item(code, item), items[item]["mean"]) for item in by_mean]
        text = _("Mean scores per item, from high to low: %(items)s.") % {"items": listed(shown)}
        figures = "|".join(decimal(items[item]["mean"]) for item in by_mean)
        findings.append(Finding(f"question:{code}:means", text, figures, anchor))
    top2 = {item: (items.get(item) or {}).get("top2") or {} for item in codes}
    by_top2 = _ranked(top2, codes, "share")
    if by_top2 and question.get("top2"):
        points = "/".join(labels.option(code, point) for point in question["top2"])
        shown = [_quoted(labels.item(code, item), top2[item]["share"]) for item in by_top2]
        text = _(
            "Share answering the top two points (%(points)s), from high to low: %(items)s."
        ) % {"points": points, "items": listed(shown)}
        figures = "|".join(percent(top2[item]["share"]) for item in by_top2)
        findings.append(Finding(f"question:{code}:top2", text, figures, anchor))
    return findings


def _number_headline(question: dict[str, Any], labels: _Labels, anchor: str) -> list[Finding]:
    code = question["code"]
    total = question.get("total") or {}
    if question["type"] == "number":
        if not total.get("n"):
            return [Finding(f"question:{code}", _("Nobody answered this question."), "0", anchor)]
        text = _("The answers average %(mean)s (median %(median)s, n = %(n)s).") % {
            "mean": decimal(total.get("mean")),
            "median": decimal(total.get("median")),
            "n": total["n"],
        }
        figures = f"{total['n']}|{decimal(total.get('mean'))}|{decimal(total.get('median'))}"
        return [Finding(f"question:{code}", text, figures, anchor)]
    items = total.get("items") or {}
    codes = [item["code"] for item in question.get("items") or []]
    ranked = _ranked(items, codes, "mean")
    if not ranked:
        return [Finding(f"question:{code}", _("Nobody answered this question."), "0", anchor)]
    shown = [_counted(labels.item(code, item), items[item]["mean"]) for item in ranked]
    text = _("Mean per item, from high to low: %(items)s.") % {"items": listed(shown)}
    figures = "|".join(decimal(items[item]["mean"]) for item in ranked)
    return [Finding(f"question:{code}:means", text, figures, anchor)]


def _text_headline(question: dict[str, Any], labels: _Labels, anchor: str) -> list[Finding]:
    n = (question.get("total") or {}).get("n") or 0
    if not n:
        text = _("Nobody answered this question.")
    else:
        text = ngettext(
            "%(n)s respondent wrote an answer; the answers are on the open answers page.",
            "%(n)s respondents wrote an answer; the answers are on the open answers page.",
            n,
        ) % {"n": n}
    return [Finding(f"question:{question['code']}", text, str(n), anchor)]


_HEADLINES = {
    "single": _choice_headline,
    "multiple": _choice_headline,
    "matrix": _matrix_headline,
    "number": _number_headline,
    "number_grid": _number_headline,
    "text": _text_headline,
}


def _sections(document: dict[str, Any], labels: _Labels, collection: Collection) -> list[Chapter]:
    tables = {table["code"]: table for table in question_tables(document, labels.language)}
    questions = {q["code"]: q for q in document.get("questions") or []}
    sections = list(document.get("sections") or [])
    placed = {code for section in sections for code in section.get("questions", [])}
    loose = [code for code in questions if code not in placed]
    if loose:
        sections.append({"code": "other", "title": _("Questions"), "questions": loose})
    chapters = []
    for section in sections:
        chapter = Chapter(
            key=f"section:{section['code']}",
            title=labels.text(section.get("title"), section["code"]),
        )
        for code in section.get("questions", []):
            question = questions.get(code)
            headline = _HEADLINES.get((question or {}).get("type"))
            if question is None or headline is None or code in collection.skipped:
                continue
            table = tables.get(code) or {}
            anchor = f"#q-{code}"
            chart = table.get("chart") or ""
            part = Part(
                key=f"question:{code}",
                title=f"{code} {labels.text(question.get('label'), code)}",
                anchor=anchor,
                findings=headline(question, labels, anchor),
                chart=str(chart),
                table={"headers": table.get("headers") or [], "rows": table.get("rows") or []},
            )
            chapter.parts.append(part)
        if chapter.parts:
            chapters.append(chapter)
    return chapters


def _scores(document: dict[str, Any], labels: _Labels) -> Chapter | None:
    scores = document.get("scores") or []
    if not scores:
        return None
    part = Part(key="scores", title=_("Derived scores"), anchor="#scores-title")
    for score in scores:
        total = score.get("total") or {}
        name = labels.score(score["code"])
        if not total.get("n"):
            text = _("Nobody has a value of “%(score)s”.") % {"score": name}
        else:
            text = _("“%(score)s” averages %(mean)s (n = %(n)s, SD %(sd)s).") % {
                "score": name,
                "mean": decimal(total.get("mean")),
                "n": total["n"],
                "sd": decimal(total.get("sd")),
            }
        figures = f"{total.get('n') or 0}|{decimal(total.get('mean'))}"
        part.findings.append(Finding(f"score:{score['code']}", text, figures, part.anchor))
    return Chapter(key="scores", title=_("Derived scores"), parts=[part])


# --- banner differences ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Difference:
    effect: float
    finding: Finding


def _beaten(
    cells: list[dict[str, Any]], letters_key: str, value_key: str
) -> Iterable[tuple[int, list[int]]]:
    """Each column that is significantly above others: its index and theirs."""
    index_of = {column.get("_letter"): index for index, column in enumerate(cells)}
    for index, cell in enumerate(cells):
        found = [index_of[letter] for letter in cell.get(letters_key) or [] if letter in index_of]
        if found and cell.get(value_key) is not None:
            yield index, found


def _banner_part(document: dict[str, Any], entry: dict[str, Any], labels: _Labels) -> Part:
    key = entry["key"]
    banner_name = labels.text(entry.get("label"), key)
    anchor = f"?banner={key}#banner"
    part = Part(
        key=f"banner:{key}",
        title=_("By %(banner)s") % {"banner": banner_name},
        anchor=anchor,
    )
    columns = entry["columns"]
    keys = [column["key"] for column in columns]
    names = [labels.text(column.get("label"), column.get("code", "")) for column in columns]
    letters = [column.get("letter", "") for column in columns]

    def cells(by: dict[str, Any], pick: Any) -> list[dict[str, Any]]:
        return [
            {**pick(by.get(k) or {}), "_letter": letter}
            for k, letter in zip(keys, letters, strict=True)
        ]

    for score in document.get("scores") or []:
        by = score.get("by") or {}
        if keys[0] not in by:
            continue
        name = labels.score(score["code"])
        stats = cells(by, lambda cell: cell)
        order = sorted(
            (i for i, s in enumerate(stats) if s.get("mean") is not None and s.get("n")),
            key=lambda i: (-stats[i]["mean"], i),
        )
        if not order:
            continue
        ranking = listed([_scored(names[i], stats[i]["mean"]) for i in order])
        text = _("By %(banner)s, “%(score)s” from high to low: %(groups)s.") % {
            "banner": banner_name,
            "score": name,
            "groups": ranking,
        }
        beaten = sorted(_beaten(stats, "mean_letters", "mean"), key=lambda b: -stats[b[0]]["mean"])
        if not beaten:
            text += _(" None of these differences is significant after the correction.")
        for index, others in beaten:
            lower = listed(
                [
                    _scored(names[o], stats[o]["mean"])
                    for o in sorted(others, key=lambda o: -stats[o]["mean"])
                ]
            )
            pattern = (
                # each sentence follows another: the space before it is part of the pattern
                _(" “%(group)s” scores highest (%(mean)s), significantly above %(others)s.")
                if index == order[0]
                else _(" “%(group)s” (%(mean)s) scores significantly above %(others)s.")
            )
            text += pattern % {
                "group": names[index],
                "mean": decimal(stats[index]["mean"]),
                "others": lower,
            }
        figures = "|".join(decimal(stats[i]["mean"]) for i in order)
        part.findings.append(Finding(f"banner:{key}:score:{score['code']}", text, figures, anchor))

    differences: list[_Difference] = []
    # who is in which group (a banner question cut by another) is the sample's make-up, not
    # a finding: the segments' profiles tell it
    profile = _profile_questions(document)
    for question in document.get("questions") or []:
        code = question["code"]
        by = question.get("by") or {}
        if code in profile or keys[0] not in by:
            continue
        if question.get("type") in ("single", "multiple"):
            for option in question.get("options") or []:
                shares = cells(
                    by, lambda c, o=option["code"]: (c.get("options") or {}).get(o) or {}
                )
                for index, others in _beaten(shares, "letters", "share"):
                    weakest = min(others, key=lambda o: shares[o].get("share") or 0.0)
                    effect = abs(cohens_h(shares[index]["share"], shares[weakest]["share"] or 0.0))
                    text = _(
                        "“%(group)s” chose “%(option)s” (%(question)s) significantly more "
                        "often (%(share)s) than %(others)s."
                    ) % {
                        "group": names[index],
                        "option": labels.option(code, option["code"]),
                        "question": code,
                        "share": percent(shares[index]["share"]),
                        "others": listed(
                            [_quoted(names[o], shares[o].get("share")) for o in others]
                        ),
                    }
                    figures = "|".join(percent(shares[i].get("share")) for i in [index, *others])
                    finding_key = f"banner:{key}:option:{code}:{option['code']}:{letters[index]}"
                    differences.append(
                        _Difference(effect, Finding(finding_key, text, figures, anchor))
                    )
        elif question.get("type") == "matrix":
            for item in question.get("items") or []:
                stats = cells(by, lambda c, i=item["code"]: (c.get("items") or {}).get(i) or {})
                for index, others in _beaten(stats, "mean_letters", "mean"):
                    weakest = min(others, key=lambda o: stats[o].get("mean") or 0.0)
                    effect = abs(cohens_d(stats[index], stats[weakest]))
                    text = _(
                        "“%(group)s” rate “%(item)s” (%(question)s) significantly higher "
                        "(%(mean)s) than %(others)s."
                    ) % {
                        "group": names[index],
                        "item": labels.item(code, item["code"]),
                        "question": code,
                        "mean": decimal(stats[index]["mean"]),
                        "others": listed([_scored(names[o], stats[o].get("mean")) for o in others]),
                    }
                    figures = "|".join(decimal(stats[i].get("mean")) for i in [index, *others])
                    finding_key = f"banner:{key}:item:{code}:{item['code']}:{letters[index]}"
                    differences.append(
                        _Difference(effect, Finding(finding_key, text, figures, anchor))
                    )
    differences.sort(key=lambda difference: (-difference.effect, difference.finding.key))
    part.findings.extend(difference.finding for difference in differences[:BANNER_FINDINGS])
    more = len(differences) - BANNER_FINDINGS
    if more > 0:
        text = ngettext(
            "%(count)s more significant difference is marked in the cross-tab.",
            "%(count)s more significant differences are marked in the cross-tab.",
            more,
        ) % {"count": more}
        part.findings.append(Finding(f"banner:{key}:more", text, str(more), anchor))
    if not differences and not part.findings:
        text = _("No answer differs significantly between the groups of %(banner)s.") % {
            "banner": banner_name
        }
        part.findings.append(Finding(f"banner:{key}:none", text, "", anchor))
    return part


def _profile_questions(document: dict[str, Any]) -> set[str]:
    """The questions the banner cuts by: who the respondents are."""
    return {e["key"] for e in document.get("banner") or [] if e.get("kind") == "question"}


def _banners(document: dict[str, Any], labels: _Labels) -> Chapter | None:
    entries = [e for e in document.get("banner") or [] if e.get("kind") == "question"]
    if not entries:
        return None
    return Chapter(
        key="banner",
        title=_("Differences between groups"),
        parts=[_banner_part(document, entry, labels) for entry in entries],
    )


# --- segments -------------------------------------------------------------------------------


def _corrected(tests: list[dict[str, Any]], correction: str, alpha: float) -> list[bool]:
    """Whether each test stays significant after the correction over all of them."""
    p_values = adjusted([test.get("p") for test in tests], correction)
    return [p is not None and p < alpha for p in p_values]


def _segment_option(test: dict[str, Any], segment: str, labels: _Labels, profile: bool) -> str:
    higher = (test.get("difference") or 0.0) > 0
    if profile:
        pattern = (
            _(
                "Compared with the rest of the sample, “%(option)s” (%(question)s) is "
                "significantly more common among “%(segment)s”: %(share)s against %(rest)s "
                "(the whole sample: %(overall)s)."
            )
            if higher
            else _(
                "Compared with the rest of the sample, “%(option)s” (%(question)s) is "
                "significantly less common among “%(segment)s”: %(share)s against %(rest)s "
                "(the whole sample: %(overall)s)."
            )
        )
    else:
        pattern = (
            _(
                "“%(segment)s” chose “%(option)s” (%(question)s) significantly more often: "
                "%(share)s against %(rest)s of the rest (the whole sample: %(overall)s)."
            )
            if higher
            else _(
                "“%(segment)s” chose “%(option)s” (%(question)s) significantly less often: "
                "%(share)s against %(rest)s of the rest (the whole sample: %(overall)s)."
            )
        )
    return pattern % {
        "segment": segment,
        "option": labels.option(test["question"], test["option"]),
        "question": test["question"],
        "share": percent((test.get("segment") or {}).get("share")),
        "rest": percent((test.get("rest") or {}).get("share")),
        "overall": percent((test.get("overall") or {}).get("share")),
    }


def _test_figures(test: dict[str, Any], key: str, shown: Any) -> str:
    return "|".join(
        shown((test.get(side) or {}).get(key)) for side in ("segment", "rest", "overall")
    )


def _leading(
    comparison: dict[str, Any],
    segment: str,
    code: str,
    labels: _Labels,
    anchor: str,
    left_out: set[str],
) -> list[Finding]:
    """Per question, the segment's first choice where it is not the whole sample's."""
    by_question: dict[str, list[dict[str, Any]]] = {}
    for test in comparison.get("options") or []:
        by_question.setdefault(test["question"], []).append(test)
    findings = []
    for question, tests in by_question.items():
        if question in left_out:
            continue
        mine = {t["option"]: t.get("segment") or {} for t in tests}
        everyone = {t["option"]: t.get("overall") or {} for t in tests}
        options = [t["option"] for t in tests]
        ranked, overall = _ranked(mine, options, "share"), _ranked(everyone, options, "share")
        if not ranked or not overall or not mine[ranked[0]].get("n"):
            continue
        top = mine[ranked[0]]["share"]
        tied = [option for option in ranked if mine[option]["share"] == top]
        if overall[0] in tied:
            continue
        chosen = listed([f"“{labels.option(question, option)}”" for option in tied])
        pattern = (
            _(
                "On %(question)s, “%(segment)s” chose %(options)s most often (%(share)s each), "
                "while the whole sample's first choice is %(overall)s."
            )
            if len(tied) > 1
            else _(
                "On %(question)s, “%(segment)s” chose %(options)s most often (%(share)s), "
                "while the whole sample's first choice is %(overall)s."
            )
        )
        text = pattern % {
            "question": question,
            "segment": segment,
            "options": chosen,
            "share": percent(top),
            "overall": _quoted(labels.option(question, overall[0]), everyone[overall[0]]["share"]),
        }
        figures = f"{percent(top)}|{percent(everyone[overall[0]]['share'])}"
        findings.append(Finding(f"segment:{code}:leading:{question}", text, figures, anchor))
    return findings


def _segment_part(
    document: dict[str, Any],
    segment: dict[str, Any],
    comparison: dict[str, Any] | None,
    labels: _Labels,
) -> Part:
    code = segment["code"]
    name = labels.text(segment.get("label"), code)
    anchor = f"#segment-{code}"
    part = Part(key=f"segment:{code}", title=name, anchor=anchor)
    findings = part.findings
    n = segment.get("n") or 0
    if not segment.get("computed", True):
        text = _("“%(segment)s” could not be computed from these results.") % {"segment": name}
        findings.append(Finding(f"segment:{code}:size", text, "", anchor))
        return part
    if not n or comparison is None:
        text = _("No valid respondent belongs to “%(segment)s”.") % {"segment": name}
        findings.append(Finding(f"segment:{code}:size", text, "0", anchor))
        return part
    text = ngettext(
        "“%(segment)s”: %(n)s respondent, %(share)s of the valid sample.",
        "“%(segment)s”: %(n)s respondents, %(share)s of the valid sample.",
        n,
    ) % {"segment": name, "n": n, "share": percent(segment.get("share"))}
    findings.append(
        Finding(f"segment:{code}:size", text, f"{n}|{percent(segment.get('share'))}", anchor)
    )

    alpha = float(document.get("significance") or 0.05)
    correction = document.get("correction") or "none"
    tests = comparison.get("options") or []
    profile_questions = _profile_questions(document)
    defining = _rule_questions(segment.get("rule") or "", document)
    profile, answers = [], []
    for test, significant in zip(tests, _corrected(tests, correction, alpha), strict=True):
        seg, rest = test.get("segment") or {}, test.get("rest") or {}
        if not significant or seg.get("share") is None or rest.get("share") is None:
            continue
        if test["question"] in defining:
            continue  # "the sceptics disagree more often" is their definition, not a finding
        effect = abs(cohens_h(seg["share"], rest["share"]))
        (profile if test["question"] in profile_questions else answers).append((effect, test))
    findings.extend(_option_findings(profile, PROFILE_FINDINGS, code, name, labels, anchor, True))
    if not profile and profile_questions:
        text = _("Who they are does not differ significantly from the rest of the sample.")
        findings.append(Finding(f"segment:{code}:profile:none", text, "", anchor))
    findings.extend(_score_findings(comparison, code, name, labels, anchor, correction, alpha))
    findings.extend(_option_findings(answers, ANSWER_FINDINGS, code, name, labels, anchor, False))
    leading = _leading(comparison, name, code, labels, anchor, profile_questions | defining)
    findings.extend(leading)
    return part


def _rule_questions(rule: str, document: dict[str, Any]) -> set[str]:
    """The questions a segment's rule reads (its definition)."""
    codes = {q["code"] for q in document.get("questions") or []}
    return {word for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", rule) if word in codes}


def _option_findings(
    chosen: list[tuple[float, dict[str, Any]]],
    limit: int,
    code: str,
    name: str,
    labels: _Labels,
    anchor: str,
    profile: bool,
) -> list[Finding]:
    """The largest significant differences of option shares, then how many more there are."""
    ordered = sorted(
        chosen,
        key=lambda pair: (
            -round(pair[0], 9),
            (pair[1].get("difference") or 0.0) <= 0,  # of equal effects, "more" first
            pair[1]["question"],
            pair[1]["option"],
        ),
    )
    told: set[str] = set()
    chosen = []
    for effect, test in ordered:
        single = (labels.questions.get(test["question"]) or {}).get("type") == "single"
        if single and test["question"] in told:
            continue  # one answer per respondent: its other options move the other way
        told.add(test["question"])
        chosen.append((effect, test))
    findings = [
        Finding(
            f"segment:{code}:option:{test['question']}:{test['option']}",
            _segment_option(test, name, labels, profile=profile),
            _test_figures(test, "share", percent),
            anchor,
        )
        for _effect, test in chosen[:limit]
    ]
    more = len(chosen) - limit
    if more > 0:
        text = ngettext(
            "%(count)s more significant difference is in the segment's profile table.",
            "%(count)s more significant differences are in the segment's profile table.",
            more,
        ) % {"count": more}
        kind = "profile" if profile else "option"
        findings.append(Finding(f"segment:{code}:{kind}:more", text, str(more), anchor))
    return findings


def _score_findings(
    comparison: dict[str, Any],
    code: str,
    name: str,
    labels: _Labels,
    anchor: str,
    correction: str,
    alpha: float,
) -> list[Finding]:
    findings = []
    scores = comparison.get("scores") or []
    for test, significant in zip(scores, _corrected(scores, correction, alpha), strict=True):
        seg, rest = test.get("segment") or {}, test.get("rest") or {}
        if seg.get("mean") is None or rest.get("mean") is None:
            continue
        if not significant:
            pattern = _(
                "“%(segment)s” score %(mean)s on “%(score)s”, not significantly different "
                "from the rest of the sample (%(rest)s)."
            )
        elif (test.get("difference") or 0.0) > 0:
            pattern = _(
                "“%(segment)s” score %(mean)s on “%(score)s”, significantly higher than the "
                "rest of the sample (%(rest)s)."
            )
        else:
            pattern = _(
                "“%(segment)s” score %(mean)s on “%(score)s”, significantly lower than the "
                "rest of the sample (%(rest)s)."
            )
        text = pattern % {
            "segment": name,
            "score": labels.score(test["score"]),
            "mean": decimal(seg["mean"]),
            "rest": decimal(rest["mean"]),
        }
        findings.append(
            Finding(
                f"segment:{code}:score:{test['score']}",
                text,
                _test_figures(test, "mean", decimal),
                anchor,
            )
        )
    return findings


def _segments(document: dict[str, Any], labels: _Labels) -> Chapter | None:
    segments = document.get("segments") or []
    if not segments:
        return None
    comparisons = {c["segment"]: c for c in document.get("comparisons") or []}
    return Chapter(
        key="segments",
        title=_("Segments"),
        parts=[
            _segment_part(document, segment, comparisons.get(segment["code"]), labels)
            for segment in segments
        ],
    )


def report_draft(
    document: dict[str, Any], *, language: str, collection: Collection = Collection()
) -> Draft:
    """The draft of ``document`` in ``language`` (the active language must be ``language``:
    the view drafts inside ``translation.override``)."""
    labels = _Labels(document, language)
    chapters = [
        _method(document, collection, labels),
        *_sections(document, labels, collection),
        _scores(document, labels),
        _banners(document, labels),
        _segments(document, labels),
    ]
    return Draft(language=language, chapters=[c for c in chapters if c is not None])
