"""Answering the form the way a person does: tap by tap, section by section."""

from __future__ import annotations

from typing import Any

from survey.models import Response


def answer(page: Any, code: str, value: Any) -> None:
    """Tap or type one question's answer (the answers object's shape, as in the format)."""
    if code.endswith(".other"):
        page.fill(f"#o-{code.removesuffix('.other')}", value)
        return
    kind = page.get_attribute(f"#q-{code}", "data-type")
    if kind == "multiple":
        for option in value:
            page.check(f'#q-{code} input[value="{option}"]')
    elif kind == "matrix":
        for item, scale in value.items():
            page.check(f'#i-{code}-{item} input[value="{scale}"]')
    elif kind == "number_grid":
        for item, number in value.items():
            page.fill(f"#i-{code}-{item}", str(number))
    elif kind in ("number", "text"):
        page.fill(f"#f-{code}", str(value))
    else:
        page.check(f'#q-{code} input[value="{value}"]')


def section_codes(page: Any, section: str) -> list[str]:
    return page.eval_on_selector_all(f"#s-{section} .q", "els => els.map(e => e.dataset.q)")


def answer_section(page: Any, section: str, answers: dict[str, Any]) -> None:
    """Answer every question of the section that the answers object has (other texts last,
    since their boxes appear once their option is chosen)."""
    codes = section_codes(page, section)
    for code in codes:
        if code in answers:
            answer(page, code, answers[code])
    for code in codes:
        if f"{code}.other" in answers:
            answer(page, f"{code}.other", answers[f"{code}.other"])


def fill_by_script(page: Any, answers: dict[str, Any]) -> None:
    """Set every answer at once through the DOM (for tests about sending, not filling)."""
    page.evaluate(
        """answers => {
          const form = document.getElementById("wf");
          for (const [code, value] of Object.entries(answers)) {
            if (code.endsWith(".other")) { form.elements[code].value = value; continue; }
            const set = (name, v) => {
              for (const input of form.querySelectorAll(`[name="${name}"]`)) {
                if (input.type === "radio" || input.type === "checkbox") {
                  if (input.value === String(v)) input.checked = true;
                } else { input.value = String(v); }
              }
            };
            if (Array.isArray(value)) value.forEach(v => set(code, v));
            else if (value && typeof value === "object") {
              for (const [item, v] of Object.entries(value)) set(`${code}.${item}`, v);
            } else set(code, value);
          }
          form.dispatchEvent(new Event("change", {bubbles: true}));
        }""",
        answers,
    )


def next_section(page: Any) -> None:
    page.click(".sec.current [data-go=next]")


def response_count() -> int:
    return Response.objects.count()
