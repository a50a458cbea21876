"""Validation of questionnaire/v1 definitions (QUESTIONNAIRE-FORMAT.md); see survey.interchange.

``validate_definition`` checks the whole structure and returns every problem found (``[]``
when valid), each as ``"place: message"`` with 0-based indexes, e.g.
``sections[1].questions[3] (Q4).options: duplicate code 2``. It never raises on bad input, and
a problem is reported once: what refers to a broken question (show_if, scores, banner) does not
repeat it as "unknown question".

Choices the format page leaves open, made here:
- ``format``, ``slug``, ``languages``, ``title`` and ``sections`` are required; every section
  lists at least one question. Labels may only use the questionnaire's ``languages``.
- Unknown top-level keys and unknown keys of a question are kept (the project may add keys);
  unknown keys anywhere else are refused, so that a typo never silently drops a setting.
- Option and scale codes are unique by canonical code (``1`` and ``"1"`` are the same code);
  item codes must be names or digits, because expressions read them as ``Q2.a``.
- Several ``exclusive`` options in one question are fine; only one option may be ``other``
  (its text travels as ``"CODE.other"``, one per question).
- A question's ``show_if`` may only read questions before it in the file.
- A validity rule that can never fire is refused: ``duplicate`` needs ``one_response_per:
  respondent``, ``attention`` an ``attention_check`` question, ``straightlining`` a matrix
  with ``straightlining_check`` and at least ``min_items`` items.
- Numbers must fit their database columns (scores: 4 decimals; min/max: 6 decimals;
  significance: 4 decimals), so that an import never fails halfway on a column limit.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from survey.brand import (
    BRAND_KEYS,
    IMAGE_KINDS,
    PictureInvalid,
    colour_problem,
    picture_from_uri,
    redirect_problem,
)
from survey.expressions import ExpressionError, QuestionSpec, compile_expression
from survey.expressions import references as expression_references
from survey.interchange_problems import (
    COMMON_QUESTION_KEYS,
    CORRECTIONS,
    FORMAT,
    ITEM_CODE_RE,
    ITEM_KEYS,
    KNOWN_QUESTION_KEYS,
    LANGUAGE_RE,
    MAX_CODE_LENGTH,
    MAX_LENGTH_LIMIT,
    MAX_RETENTION_DAYS,
    MAX_SLUG_LENGTH,
    MISSING,
    NUMBER_LIMITS,
    ONE_RESPONSE_PER,
    OPTION_KEYS,
    OPTION_ONLY_KEYS,
    QUESTION_TYPES,
    SCORE_LIMITS,
    SEGMENT_PREFIX,
    SIGNIFICANCE_PLACES,
    SLUG_RE,
    TOP_KEYS,
    TYPE_KEYS,
    VALIDITY_ACTIONS,
    VALIDITY_PARAMS,
    Checker,
    Problem,
    annotated,
    as_list,
    code_of,
    display,
    expression_error_text,
    is_integral,
    is_number,
    json_problem,
    kinds,
)
from survey.quotas_checks import check_quotas
from survey.weights_checks import check_weights
from wenji.text import first_unstorable

# --- top level --------------------------------------------------------------------------------


def validate_definition(data: object) -> list[str]:
    """Every problem of ``data`` as a questionnaire/v1 definition, in file order, as
    ``"place: message"`` in the active language; [] if valid."""
    return [str(problem) for problem in definition_problems(data)]


def definition_problems(data: object) -> list[Problem]:
    """Every problem of ``data`` as a questionnaire/v1 definition, in file order; [] if valid."""
    if not isinstance(data, dict):
        message = _("must be a mapping (format: ..., slug: ..., ...), not %(kind)s") % kinds(data)
        return [Problem(code="not_mapping", place="definition", message=message, value=None)]
    place = first_unstorable(data)
    if place is not None:  # PostgreSQL's jsonb and text columns cannot hold it
        message = _("Text with a NUL character or an unpaired surrogate cannot be stored.")
        return [Problem(code="unstorable_text", place=place, message=message, value=None)]
    checker = Checker(data)
    for key in data:
        if not isinstance(key, str):
            message = _("key %(key)s must be text") % {"key": repr(key)}
            checker.add("definition", "invalid_key", message, repr(key))
    _check_header(checker, data)
    _check_settings(checker, data.get("settings", MISSING))
    _check_brand(checker, data.get("brand", MISSING))
    _check_sections(checker, data.get("sections", MISSING))
    if checker.sections_ok:  # else every reference to a question would be reported too
        _check_show_if(checker)
        _check_scores(checker, data.get("scores", MISSING))
        _check_segments(checker, data.get("segments", MISSING))
        check_quotas(checker, data.get("quotas", MISSING))
        check_weights(checker, data.get("weights", MISSING))
        _check_validity(checker, data.get("validity", MISSING))
        _check_analysis(checker, data.get("analysis", MISSING))
    for key, value in data.items():
        if key not in TOP_KEYS and (problem := json_problem(value)):
            checker.add(str(key), "not_storable", problem)
    return checker.problems


def _check_header(checker: Checker, data: dict) -> None:
    fmt = data.get("format", MISSING)
    if fmt is MISSING:
        hint = _("missing (the first line should be 'format: %(format)s')") % {"format": FORMAT}
        checker.missing("format", hint)
    elif fmt != FORMAT:
        message = _("%(value)s is not supported (expected %(format)s)")
        checker.add(
            "format", "unsupported_format", message % {"value": display(fmt), "format": FORMAT}, fmt
        )
    slug = data.get("slug", MISSING)
    if slug is MISSING:
        checker.missing("slug")
    elif not isinstance(slug, str) or not SLUG_RE.fullmatch(slug):
        message = _("%(value)s is not valid (use lowercase letters, digits and -)")
        checker.add("slug", "invalid_slug", message % {"value": display(slug)}, slug)
    elif len(slug) > MAX_SLUG_LENGTH:
        message = _("longer than %(limit)s characters") % {"limit": MAX_SLUG_LENGTH}
        checker.add("slug", "too_long", message, slug)
    _check_languages(checker, data.get("languages", MISSING))
    checker.label("title", data.get("title", MISSING))
    checker.label("intro", data.get("intro", MISSING), required=False)


def _check_languages(checker: Checker, languages: Any) -> None:
    if languages is MISSING:
        checker.missing("languages", _("missing (a list, the default language first)"))
        return
    if not checker.listing("languages", languages):
        return
    seen: set[str] = set()
    for index, language in enumerate(languages):
        path = f"languages[{index}]"
        if not isinstance(language, str) or not LANGUAGE_RE.fullmatch(language):
            message = _("%(value)s is not a language code (like zh-hans or en)")
            checker.add(path, "invalid_language", message % {"value": display(language)}, language)
        elif language in seen:
            message = _("duplicate language %(language)s") % {"language": language}
            checker.add(path, "duplicate_language", message, language)
        else:
            seen.add(language)


def _check_settings(checker: Checker, settings: Any) -> None:
    if settings is MISSING or not checker.mapping("settings", settings):
        return
    checker.keys("settings", settings, ("one_response_per", "identity_retention_days"))
    value = settings.get("one_response_per", MISSING)
    if value is not MISSING and value not in ONE_RESPONSE_PER:
        message = _("%(value)s is not %(expected)s")
        shown = {"value": display(value), "expected": " or ".join(ONE_RESPONSE_PER)}
        checker.add("settings.one_response_per", "not_allowed", message % shown, value)
    days = settings.get("identity_retention_days", MISSING)
    if days is not MISSING and not (
        isinstance(days, int) and not isinstance(days, bool) and 1 <= days <= MAX_RETENTION_DAYS
    ):
        message = _("must be a whole number of days from 1 to %(max)s, not %(kind)s")
        shown = {"max": MAX_RETENTION_DAYS, **kinds(days)}
        checker.add("settings.identity_retention_days", "not_allowed", message % shown, days)


def _check_brand(checker: Checker, brand: Any) -> None:
    if brand is MISSING or not checker.mapping("brand", brand):
        return
    checker.keys("brand", brand, BRAND_KEYS)
    if "colour" in brand and (problem := colour_problem(brand["colour"])):
        checker.add("brand.colour", "not_allowed", problem, brand["colour"])
    for kind in IMAGE_KINDS:
        if kind in brand:
            try:
                picture_from_uri(brand[kind], kind)
            except PictureInvalid as exc:
                checker.add(f"brand.{kind}", "not_allowed", str(exc))
    if "thanks" in brand:
        checker.label("brand.thanks", brand["thanks"])
    if "redirect" in brand and (problem := redirect_problem(brand["redirect"])):
        checker.add("brand.redirect", "not_allowed", problem, brand["redirect"])
    if "share" in brand:
        checker.boolean("brand.share", brand["share"])


# --- sections and questions -------------------------------------------------------------------


def _check_sections(checker: Checker, sections: Any) -> None:
    if sections is MISSING:
        checker.missing("sections", _("missing (a list of {code, title, questions})"))
        checker.sections_ok = False
        return
    if not checker.listing("sections", sections):
        checker.sections_ok = False
        return
    section_codes: dict[str, str] = {}
    question_codes: dict[str, str] = {}
    for index, section in enumerate(sections):
        path = f"sections[{index}]"
        if not checker.mapping(path, section):
            continue
        checker.keys(path, section, ("code", "title", "questions"))
        checker.code(f"{path}.code", section.get("code", MISSING), section_codes)
        checker.label(f"{path}.title", section.get("title", MISSING), required=False)
        questions = section.get("questions", MISSING)
        if questions is MISSING:
            checker.missing(f"{path}.questions")
            continue
        if not checker.listing(f"{path}.questions", questions):
            continue
        for number, question in enumerate(questions):
            _check_question(checker, f"{path}.questions[{number}]", question, question_codes)


def _check_question(checker: Checker, path: str, question: Any, codes: dict[str, str]) -> None:
    if not checker.mapping(path, question):
        return
    known_problems = len(checker.problems)
    checker.every_question.append(question)
    code = checker.code(f"{path}.code", question.get("code", MISSING), codes, _("question code"))
    path = annotated(path, question)
    qtype = question.get("type", MISSING)
    types = ", ".join(QUESTION_TYPES)
    if qtype is MISSING:
        checker.missing(f"{path}.type", _("missing (one of %(types)s)") % {"types": types})
    elif qtype not in QUESTION_TYPES:
        message = _("unknown type %(value)s (%(types)s)") % {
            "value": display(qtype),
            "types": types,
        }
        checker.add(f"{path}.type", "unknown_type", message, qtype)
    checker.label(f"{path}.label", question.get("label", MISSING))
    if "hint" in question:  # the author's hint under the label; kept with the question's extras
        checker.label(f"{path}.hint", question["hint"])
    if "hidden" in question:
        checker.boolean(f"{path}.hidden", question["hidden"])
    if "required" in question:
        checker.boolean(f"{path}.required", question["required"])
    show_if = question.get("show_if", MISSING)
    if show_if is not MISSING and (not isinstance(show_if, str) or not show_if.strip()):
        message = _("must be an expression, not %(kind)s") % kinds(show_if)
        checker.add(f"{path}.show_if", "not_expression", message, show_if)
    if qtype not in QUESTION_TYPES:
        if isinstance(code, str):
            checker.invalid_codes.add(code)
        return
    _check_misplaced_keys(checker, path, question, qtype)
    for key in question:
        if not isinstance(key, str):
            message = _("key %(key)s must be text") % {"key": repr(key)}
            checker.add(path, "invalid_key", message, repr(key))
    TYPE_CHECKS[qtype](checker, path, question)
    for key, value in question.items():
        if key not in KNOWN_QUESTION_KEYS and (problem := json_problem(value)):
            checker.add(f"{path}.{key}", "not_storable", problem)
    if code is None:
        return
    if len(checker.problems) > known_problems:
        checker.invalid_codes.add(code)
    else:
        checker.questions.append((path, question))
        checker.specs[code] = _spec(code, qtype, question)


def _check_misplaced_keys(checker: Checker, path: str, question: dict, qtype: str) -> None:
    for key in question:
        if key in OPTION_ONLY_KEYS:
            message = _("belongs on an option, not on a %(type)s question") % {"type": qtype}
            checker.add(f"{path}.{key}", "misplaced_key", message, key)
        elif key in KNOWN_QUESTION_KEYS and key not in COMMON_QUESTION_KEYS + TYPE_KEYS[qtype]:
            owners = [t for t, keys in TYPE_KEYS.items() if key in keys]
            message = _("not allowed on a %(type)s question (only on %(owners)s)")
            shown = {"type": qtype, "owners": " and ".join(owners)}
            checker.add(f"{path}.{key}", "misplaced_key", message % shown, key)


def _spec(code: str, qtype: str, question: dict) -> QuestionSpec:
    choices = question.get("scale" if qtype == "matrix" else "options")
    items = question.get("items")
    return QuestionSpec(
        code=code,
        type=qtype,
        options=frozenset(_entry_codes(choices)),
        items=frozenset(_entry_codes(items)),
    )


def _entry_codes(entries: Any) -> list[str]:
    if not isinstance(entries, list):
        return []
    codes = (code_of(e.get("code")) for e in entries if isinstance(e, dict))
    return [code for code in codes if code is not None]


def _check_entries(checker: Checker, path: str, question: dict, key: str) -> list[dict]:
    """The ``options``, ``scale`` or ``items`` list: each entry's keys, code and label.

    Returns the entries with a usable, unique code.
    """
    entries = question.get(key, MISSING)
    if entries is MISSING:
        checker.missing(f"{path}.{key}")
        return []
    if not checker.listing(f"{path}.{key}", entries):
        return []
    seen: set[str] = set()
    good = []
    for index, entry in enumerate(entries):
        entry_path = f"{path}.{key}[{index}]"
        if not checker.mapping(entry_path, entry):
            continue
        checker.keys(entry_path, entry, ITEM_KEYS if key == "items" else OPTION_KEYS)
        if _check_entry_code(checker, entry_path, entry, f"{path}.{key}", seen) is not None:
            good.append(entry)
        checker.label(f"{entry_path}.label", entry.get("label", MISSING))
        if key != "items":
            _check_option_values(checker, entry_path, entry, question["type"])
    return good


def _check_option_values(checker: Checker, path: str, entry: dict, qtype: str) -> None:
    if "score" in entry:
        checker.number(f"{path}.score", entry["score"], SCORE_LIMITS)
    for flag in ("other", "exclusive", "hidden"):
        if flag in entry:
            checker.boolean(f"{path}.{flag}", entry[flag])
    if entry.get("other") is True and qtype == "matrix":
        message = _("a matrix scale point cannot be 'other'")
        checker.add(f"{path}.other", "other_on_scale", message, True)
    if entry.get("exclusive") is True and qtype != "multiple":
        message = _("only options of a multiple can be exclusive")
        checker.add(f"{path}.exclusive", "exclusive_not_multiple", message, True)


def _check_options(checker: Checker, path: str, question: dict) -> list[dict]:
    options = _check_entries(checker, path, question, "options")
    others = [str(o["code"]) for o in options if o.get("other") is True]
    if len(others) > 1:
        message = _("only one option can be 'other' (found %(found)s)") % {
            "found": ", ".join(others)
        }
        checker.add(f"{path}.options", "several_other", message, others)
    return options


def _check_entry_code(
    checker: Checker, path: str, entry: dict, list_path: str, seen: set[str]
) -> str | None:
    value = entry.get("code", MISSING)
    if value is MISSING:
        checker.missing(f"{path}.code")
        return None
    code = code_of(value)
    if code is None:
        message = _("must be an integer or text, not %(kind)s") % kinds(value)
        checker.add(f"{path}.code", "invalid_code", message, value)
        return None
    if list_path.endswith(".items") and not ITEM_CODE_RE.fullmatch(code):
        message = _(
            "%(value)s is not a valid item code (a letter, then letters, digits or _; or "
            "digits only)"
        )
        checker.add(f"{path}.code", "invalid_code", message % {"value": repr(value)}, value)
        return None
    if not code.strip() or code != code.strip() or len(code) > MAX_CODE_LENGTH:
        message = _("%(value)s is not a valid code (1 to %(limit)s characters, no spaces around)")
        shown = {"value": repr(value), "limit": MAX_CODE_LENGTH}
        checker.add(f"{path}.code", "invalid_code", message % shown, value)
        return None
    if code in seen:
        message = _("duplicate code %(code)s") % {"code": code}
        checker.add(list_path, "duplicate_code", message, value)
        return None
    seen.add(code)
    return code


def _check_single(checker: Checker, path: str, question: dict) -> None:
    options = _check_options(checker, path, question)
    check = question.get("attention_check", MISSING)
    if check is MISSING or not checker.mapping(f"{path}.attention_check", check):
        return
    checker.keys(f"{path}.attention_check", check, ("expect",))
    expect = check.get("expect", MISSING)
    where = f"{path}.attention_check.expect"
    if expect is MISSING:
        checker.missing(where, _("missing (the option to choose)"))
    elif code_of(expect) is None:
        message = _("not an option code: %(kind)s") % kinds(expect)
        checker.add(where, "invalid_code", message, expect)
    elif options and code_of(expect) not in {code_of(o["code"]) for o in options}:
        message = _("there is no option %(code)s") % {"code": expect}
        checker.add(where, "unknown_reference", message, expect)


def _check_multiple(checker: Checker, path: str, question: dict) -> None:
    options = _check_options(checker, path, question)
    given = {}
    for key in ("min_choices", "max_choices"):
        if key in question:
            minimum = 0 if key == "min_choices" else 1
            if checker.count(f"{path}.{key}", question[key], minimum=minimum):
                given[key] = question[key]
    low, high = given.get("min_choices"), given.get("max_choices")
    if low is not None and high is not None and low > high:
        message = _("%(low)s is more than max_choices (%(high)s)") % {"low": low, "high": high}
        checker.add(f"{path}.min_choices", "min_above_max", message, low)
    total = len(question["options"]) if isinstance(question.get("options"), list) else 0
    if options and total:
        for key, value in given.items():
            if value > total:
                message = _("%(value)s is more than the %(total)s options")
                shown = {"value": value, "total": total}
                checker.add(f"{path}.{key}", "more_than_options", message % shown, value)


def _check_matrix(checker: Checker, path: str, question: dict) -> None:
    _check_entries(checker, path, question, "scale")
    _check_entries(checker, path, question, "items")
    if "straightlining_check" in question:
        checker.boolean(f"{path}.straightlining_check", question["straightlining_check"])


def _check_number(checker: Checker, path: str, question: dict) -> None:
    integer = question.get("integer", True)
    if "integer" in question:
        checker.boolean(f"{path}.integer", integer)
    bounds = {}
    for key in ("min", "max"):
        if key in question and checker.number(f"{path}.{key}", question[key], NUMBER_LIMITS):
            bounds[key] = question[key]
            if integer is True and not is_integral(question[key]):
                message = _("%(value)s is not a whole number (set integer: false to allow)")
                shown = {"value": question[key]}
                checker.add(f"{path}.{key}", "not_whole_number", message % shown, question[key])
    if "min" in bounds and "max" in bounds and bounds["min"] > bounds["max"]:
        message = _("%(low)s is more than max (%(high)s)")
        shown = {"low": bounds["min"], "high": bounds["max"]}
        checker.add(f"{path}.min", "min_above_max", message % shown, bounds["min"])


def _check_number_grid(checker: Checker, path: str, question: dict) -> None:
    _check_entries(checker, path, question, "items")
    _check_number(checker, path, question)


def _check_text(checker: Checker, path: str, question: dict) -> None:
    if "max_length" in question:
        value = question["max_length"]
        if isinstance(value, int) and not isinstance(value, bool) and value < 1:
            message = _("must be a positive whole number, not %(value)s") % {"value": value}
            checker.add(f"{path}.max_length", "too_small", message, value)
        else:
            checker.count(f"{path}.max_length", value, minimum=1, maximum=MAX_LENGTH_LIMIT)


TYPE_CHECKS: dict[str, Callable[[Checker, str, dict], None]] = {
    "single": _check_single,
    "multiple": _check_multiple,
    "matrix": _check_matrix,
    "number": _check_number,
    "number_grid": _check_number_grid,
    "text": _check_text,
}


# --- expressions ------------------------------------------------------------------------------


def _compile(checker: Checker, path: str, source: str) -> set[str] | None:
    """Check ``source`` against the questions; the question codes it reads, or None if bad."""
    try:
        codes = {code for code, _item in expression_references(compile_expression(source))}
        if codes & checker.invalid_codes:
            return None  # those questions' own problems are reported already
        compile_expression(source, checker.specs)
    except ExpressionError as exc:
        message = _('"%(source)s" %(error)s') % {
            "source": source,
            "error": expression_error_text(exc),
        }
        checker.add(path, exc.code, message, source)
        return None
    return codes


def _check_show_if(checker: Checker) -> None:
    order = {path: index for index, (path, _q) in enumerate(checker.questions)}
    position = {q["code"]: order[path] for path, q in checker.questions}
    for path, question in checker.questions:
        source = question.get("show_if")
        if not isinstance(source, str) or not source.strip():
            continue
        codes = _compile(checker, f"{path}.show_if", source)
        for code in sorted(codes or ()):
            if code == question["code"]:
                message = _("refers to the question itself (%(code)s)") % {"code": code}
                checker.add(f"{path}.show_if", "refers_to_itself", message, source)
            elif position[code] > order[path]:
                message = _(
                    "refers to %(code)s, which comes later (a question can only depend on "
                    "questions before it)"
                )
                checker.add(f"{path}.show_if", "refers_to_later", message % {"code": code}, source)


# --- scores, segments, validity, analysis -----------------------------------------------------


def _entries(checker: Checker, name: str, value: Any) -> list[tuple[str, dict]]:
    if value is MISSING or not checker.listing(name, value, empty_ok=True):
        return []
    return [(f"{name}[{i}]", e) for i, e in enumerate(value) if checker.mapping(f"{name}[{i}]", e)]


def _check_scores(checker: Checker, scores: Any) -> None:
    seen: dict[str, str] = {}
    for path, score in _entries(checker, "scores", scores):
        checker.keys(path, score, ("code", "of", "label"))
        checker.code(f"{path}.code", score.get("code", MISSING), seen, _("score code"))
        path = annotated(path, score)
        checker.label(f"{path}.label", score.get("label", MISSING))
        of = score.get("of", MISSING)
        if of is MISSING:
            checker.missing(f"{path}.of", _("missing (the code of a single or matrix question)"))
        elif of in checker.invalid_codes:
            continue
        elif not isinstance(of, str) or of not in checker.specs:
            message = _("unknown question %(value)s") % {"value": display(of)}
            checker.add(f"{path}.of", "unknown_reference", message, of)
        elif (problem := _unscorable(checker, of)) is not None:
            checker.add(f"{path}.of", problem[0], problem[1], of)


def _unscorable(checker: Checker, code: str) -> tuple[str, str] | None:
    """(problem code, message) when question ``code`` cannot carry a score, else None."""
    spec = checker.specs[code]
    if spec.type not in ("single", "matrix"):
        message = _("%(code)s is a %(type)s question; only single and matrix questions have scores")
        kind = "score_on_text" if spec.type == "text" else "score_on_unscorable"
        return kind, message % {"code": code, "type": spec.type}
    question = next(q for _p, q in checker.questions if q["code"] == code)
    entries = question.get("scale" if spec.type == "matrix" else "options") or []
    if not any(isinstance(e, dict) and "score" in e for e in entries):
        message = _("%(code)s has no scored options (give its options a score)")
        return "no_scored_options", message % {"code": code}
    return None


def _check_segments(checker: Checker, segments: Any) -> None:
    seen: dict[str, str] = {}
    for path, segment in _entries(checker, "segments", segments):
        checker.keys(path, segment, ("code", "label", "rule"))
        code = checker.code(f"{path}.code", segment.get("code", MISSING), seen, _("segment code"))
        path = annotated(path, segment)
        checker.label(f"{path}.label", segment.get("label", MISSING))
        rule = segment.get("rule", MISSING)
        if rule is MISSING:
            checker.missing(f"{path}.rule", _("missing (an expression over answers)"))
        elif not isinstance(rule, str) or not rule.strip():
            message = _("must be an expression, not %(kind)s") % kinds(rule)
            checker.add(f"{path}.rule", "not_expression", message, rule)
        else:
            _compile(checker, f"{path}.rule", rule)
        if code is not None:
            checker.segment_codes.add(code)


def _check_validity(checker: Checker, validity: Any) -> None:
    if validity is MISSING or not checker.mapping("validity", validity):
        return
    for kind, rule in validity.items():
        path = f"validity.{kind}"
        if kind not in VALIDITY_PARAMS:
            message = _("unknown rule (expected %(known)s)") % {"known": ", ".join(VALIDITY_PARAMS)}
            checker.add(path, "unknown_rule", message, kind)
            continue
        if not checker.mapping(path, rule):
            continue
        checker.keys(path, rule, ("action", *VALIDITY_PARAMS[kind]))
        action = rule.get("action", MISSING)
        if action is MISSING:
            checker.missing(f"{path}.action", _("missing (invalidate or flag)"))
        elif action not in VALIDITY_ACTIONS:
            message = _("%(value)s is not invalidate or flag") % {"value": display(action)}
            checker.add(f"{path}.action", "not_allowed", message, action)
        RULE_CHECKS[kind](checker, path, rule)


def _check_speeder(checker: Checker, path: str, rule: dict) -> None:
    fraction = rule.get("below_fraction_of_median", MISSING)
    path = f"{path}.below_fraction_of_median"
    if fraction is MISSING:
        checker.missing(path, _("missing (a fraction between 0 and 1, such as 0.33)"))
    elif not is_number(fraction) or not 0 < fraction < 1:
        message = _("must be a number between 0 and 1, not %(kind)s") % kinds(fraction)
        checker.add(path, "not_fraction", message, fraction)


def _check_attention(checker: Checker, path: str, rule: dict) -> None:
    if not any(
        q.get("type") == "single" and "attention_check" in q for q in checker.every_question
    ):
        message = _("no question has an attention_check, so this rule can never apply")
        checker.add(path, "rule_never_applies", message)


def _check_duplicate(checker: Checker, path: str, rule: dict) -> None:
    settings = checker.data.get("settings")
    per = settings.get("one_response_per", "none") if isinstance(settings, dict) else "none"
    if per == "none":
        message = _("needs settings.one_response_per: respondent (with none it can never apply)")
        checker.add(path, "rule_never_applies", message)


def _check_straightlining(checker: Checker, path: str, rule: dict) -> None:
    min_items = rule.get("min_items", MISSING)
    if min_items is MISSING:
        checker.missing(f"{path}.min_items", _("missing (a whole number, 2 or more)"))
        return
    if not checker.count(f"{path}.min_items", min_items, minimum=2):
        return
    checked = [
        q
        for q in checker.every_question
        if q.get("type") == "matrix" and q.get("straightlining_check")
    ]
    if not checked:
        message = _("no matrix has straightlining_check: true, so this rule can never apply")
        checker.add(path, "rule_never_applies", message)
    elif all(len(as_list(q.get("items"))) < min_items for q in checked):
        message = _(
            "no matrix with straightlining_check has %(count)s items, so this rule can never apply"
        )
        checker.add(
            f"{path}.min_items", "rule_never_applies", message % {"count": min_items}, min_items
        )


RULE_CHECKS: dict[str, Callable[[Checker, str, dict], None]] = {
    "speeder": _check_speeder,
    "attention": _check_attention,
    "duplicate": _check_duplicate,
    "straightlining": _check_straightlining,
}


def _check_analysis(checker: Checker, analysis: Any) -> None:
    if analysis is MISSING or not checker.mapping("analysis", analysis):
        return
    checker.keys("analysis", analysis, ("banner", "significance", "correction"))
    banner = analysis.get("banner", MISSING)
    if banner is not MISSING and checker.listing("analysis.banner", banner, empty_ok=True):
        seen: set[str] = set()
        for index, entry in enumerate(banner):
            path = f"analysis.banner[{index}]"
            if entry in seen:
                message = _("%(entry)s is listed twice") % {"entry": entry}
                checker.add(path, "duplicate_entry", message, entry)
                continue
            if isinstance(entry, str):
                seen.add(entry)
            if problem := _banner_problem(checker, entry):
                checker.add(path, problem[0], problem[1], entry)
    significance = analysis.get("significance", MISSING)
    if significance is not MISSING:
        path = "analysis.significance"
        if not is_number(significance) or not 0 < significance < 1:
            message = _("must be a number between 0 and 1, not %(kind)s") % kinds(significance)
            checker.add(path, "not_fraction", message, significance)
        else:
            checker.number(path, significance, (SIGNIFICANCE_PLACES, Decimal(1)))
    correction = analysis.get("correction", MISSING)
    if correction is not MISSING and correction not in CORRECTIONS:
        message = _("%(value)s is not %(expected)s")
        shown = {"value": display(correction), "expected": " or ".join(CORRECTIONS)}
        checker.add("analysis.correction", "not_allowed", message % shown, correction)


def _banner_problem(checker: Checker, entry: Any) -> tuple[str, str] | None:
    """(problem code, message) for a banner entry that cannot be used, else None."""
    if not isinstance(entry, str):
        message = _("must be a question code or segment:CODE, not %(kind)s") % kinds(entry)
        return "invalid_banner", message
    if entry.startswith(SEGMENT_PREFIX):
        code = entry.removeprefix(SEGMENT_PREFIX)
        if code in checker.segment_codes:
            return None
        return "unknown_reference", _("unknown segment %(code)s") % {"code": repr(code)}
    spec = checker.specs.get(entry)
    if entry in checker.invalid_codes:
        return None
    if spec is None:
        return "unknown_reference", _("unknown question %(code)s") % {"code": repr(entry)}
    if spec.type != "single":
        message = _("%(code)s is a %(type)s question; a banner breaks down by single questions")
        return "banner_not_single", message % {"code": entry, "type": spec.type}
    return None
