"""Hypothesis strategies for valid questionnaire/v1 documents in the form
``questionnaire_export`` writes them (what round trips are held to)."""

from __future__ import annotations

from hypothesis import strategies as st

_TEXT = st.text(
    alphabet=st.characters(
        codec="utf-8", categories=("L", "N", "P", "Zs"), exclude_characters="\x85\xa0"
    ),
    min_size=1,
    max_size=12,
).filter(lambda s: s.strip() == s and s.strip())
_LABEL = (
    _TEXT
    | st.fixed_dictionaries({"zh-hans": _TEXT, "en": _TEXT})
    | st.fixed_dictionaries({"zh-hans": _TEXT})
)
_CODE = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,5}", fullmatch=True)
_OPTION_CODE = st.integers(0, 99) | st.from_regex(r"[a-z][a-z0-9]{0,3}", fullmatch=True)


@st.composite
def _options(draw, with_flags: bool):
    codes = draw(st.lists(_OPTION_CODE, min_size=2, max_size=5, unique_by=str))
    options = []
    for code in codes:
        option: dict = {"code": code, "label": draw(_LABEL)}
        if draw(st.booleans()):
            option["score"] = draw(st.integers(-5, 5) | st.sampled_from([0.5, 1.25, -2.75]))
        options.append(option)
    if with_flags:
        options[-1]["other"] = True
    return options


@st.composite
def documents(draw):
    used: set[str] = set()
    sections = []
    singles: list[dict] = []
    for s in range(draw(st.integers(1, 3))):
        questions = []
        for _ in range(draw(st.integers(1, 4))):
            code = draw(_CODE.filter(lambda c: c not in used and c.lower() not in {"other"}))
            used.add(code)
            qtype = draw(
                st.sampled_from(["single", "multiple", "matrix", "number", "number_grid", "text"])
            )
            question: dict = {"code": code, "type": qtype, "label": draw(_LABEL)}
            if draw(st.booleans()):
                question["required"] = False
            if singles and draw(st.booleans()):
                target = draw(st.sampled_from(singles))
                option = draw(st.sampled_from(target["options"]))
                literal = (
                    option["code"] if isinstance(option["code"], int) else f'"{option["code"]}"'
                )
                question["show_if"] = f"{target['code']} == {literal}"
            if qtype in ("single", "multiple"):
                question["options"] = draw(_options(draw(st.booleans())))
                if qtype == "multiple" and draw(st.booleans()):
                    question["max_choices"] = 2
            elif qtype == "matrix":
                question["scale"] = draw(_options(False))
                items = draw(
                    st.lists(
                        st.from_regex(r"[a-z][a-z0-9]{0,3}", fullmatch=True),
                        min_size=1,
                        max_size=3,
                        unique=True,
                    )
                )
                question["items"] = [{"code": c, "label": draw(_LABEL)} for c in items]
            elif qtype in ("number", "number_grid"):
                question["min"] = draw(st.integers(-10, 0))
                question["max"] = draw(st.integers(1, 1000))
                if draw(st.booleans()):
                    question["integer"] = False
                if qtype == "number_grid":
                    question["items"] = [{"code": c, "label": draw(_LABEL)} for c in ("a", "b")]
            else:
                question["max_length"] = draw(st.integers(1, 5000))
            if draw(st.booleans()):
                question["hint"] = draw(_LABEL)
            questions.append(question)
            if qtype == "single":
                singles.append(question)
        section = {"code": f"S{s + 1}", "questions": questions}
        if draw(st.booleans()):
            section["title"] = draw(_LABEL)
        sections.append(section)
    return {
        "format": "questionnaire/v1",
        "slug": draw(st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)),
        "languages": ["zh-hans", "en"],
        "title": draw(_LABEL),
        "settings": {"one_response_per": draw(st.sampled_from(["respondent", "none"]))},
        "sections": sections,
        "analysis": {"significance": 0.05},
    }
