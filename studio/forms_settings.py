"""The studio's analysis settings: derived scores, segments, validity rules and the banner, as
forms over the draft document (``settings_apply`` writes them back), each of the rulebook's
problems placed beside its field (``settings_place``)."""

from __future__ import annotations

import copy
import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from survey.forms.labels import LabelField
from survey.interchange_problems import Problem
from survey.services.questionnaires import plain_number

ACTIONS = (("", _("off")), ("invalidate", _("invalid")), ("flag", _("flag for review")))
CORRECTIONS = (
    ("holm", _("Holm (default)")),
    ("bonferroni", _("Bonferroni")),
    ("none", _("None")),
)
RULES = ("speeder", "attention", "duplicate", "straightlining")


class ScoreForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=64)
    of = forms.ChoiceField(label=_("Of question"), choices=())
    label = LabelField(label=_("Wording"))

    def __init__(self, *args: Any, scorable: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["of"].choices = scorable


class SegmentForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=64)
    label = LabelField(label=_("Wording"))
    rule = forms.CharField(
        label=_("Who is in it"),
        max_length=2000,
        widget=forms.TextInput(attrs={"data-expression": ""}),
        help_text=_("An expression such as Q14 in [1, 2] and Q15 == 1."),
    )


ScoreFormSet = forms.formset_factory(ScoreForm, extra=1, can_delete=True)
SegmentFormSet = forms.formset_factory(SegmentForm, extra=1, can_delete=True)


class RulesForm(forms.Form):
    """Validity rules and the analysis block, flat."""

    speeder_action = forms.ChoiceField(label=_("Speeders"), choices=ACTIONS, required=False)
    speeder_below_fraction_of_median = forms.DecimalField(
        label=_("Faster than this share of the median time"),
        required=False,
        max_digits=4,
        decimal_places=3,
    )
    attention_action = forms.ChoiceField(
        label=_("Failed attention checks"), choices=ACTIONS, required=False
    )
    duplicate_action = forms.ChoiceField(
        label=_("Second answers from one respondent"), choices=ACTIONS, required=False
    )
    straightlining_action = forms.ChoiceField(
        label=_("Straight-lining in matrices"), choices=ACTIONS, required=False
    )
    straightlining_min_items = forms.IntegerField(
        label=_("Only in matrices with at least this many items"), required=False
    )
    banner = forms.MultipleChoiceField(
        label=_("Cross-tabs by"),
        choices=(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    significance = forms.DecimalField(
        label=_("Significance level"), max_digits=4, decimal_places=3, required=False
    )
    correction = forms.ChoiceField(
        label=_("Correction for many comparisons"), choices=CORRECTIONS, required=False
    )

    def __init__(self, *args: Any, banner_choices: list[tuple[str, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["banner"].choices = banner_choices


def rules_initial(document: dict[str, Any]) -> dict[str, Any]:
    validity = document.get("validity") or {}
    analysis = document.get("analysis") or {}
    initial: dict[str, Any] = {}
    for rule in RULES:
        entry = validity.get(rule) or {}
        initial[f"{rule}_action"] = entry.get("action", "")
    initial["speeder_below_fraction_of_median"] = (validity.get("speeder") or {}).get(
        "below_fraction_of_median"
    )
    initial["straightlining_min_items"] = (validity.get("straightlining") or {}).get("min_items")
    initial["banner"] = [str(code) for code in analysis.get("banner") or []]
    initial["significance"] = analysis.get("significance")
    initial["correction"] = analysis.get("correction", "holm")
    return initial


def settings_apply(
    document: dict[str, Any],
    *,
    scores: list[forms.Form],
    segments: list[forms.Form],
    rules: forms.Form,
) -> dict[str, Any]:
    """``document`` with the scores, segments, validity rules and analysis block as edited."""
    changed = copy.deepcopy(document)
    changed["scores"] = [
        {
            "code": f.cleaned_data["code"].strip(),
            "of": f.cleaned_data["of"],
            "label": f.cleaned_data["label"],
        }
        for f in scores
    ]
    changed["segments"] = [
        {
            "code": f.cleaned_data["code"].strip(),
            "label": f.cleaned_data["label"],
            "rule": f.cleaned_data["rule"].strip(),
        }
        for f in segments
    ]
    data = rules.cleaned_data
    validity: dict[str, Any] = {}
    for rule in RULES:
        action = data.get(f"{rule}_action")
        if not action:
            continue
        entry: dict[str, Any] = {"action": action}
        if rule == "speeder":
            fraction = data.get("speeder_below_fraction_of_median")
            entry["below_fraction_of_median"] = plain_number(fraction)
        if rule == "straightlining":
            entry["min_items"] = data.get("straightlining_min_items")
        validity[rule] = entry
    changed["validity"] = validity
    analysis = dict(changed.get("analysis") or {})
    analysis["banner"] = list(data.get("banner") or [])
    if data.get("significance") is not None:
        analysis["significance"] = plain_number(data["significance"])
    else:
        analysis.pop("significance", None)
    if data.get("correction") and data["correction"] != "holm":
        analysis["correction"] = data["correction"]
    else:
        analysis.pop("correction", None)
    changed["analysis"] = analysis
    for key in ("scores", "segments", "validity"):
        if not changed[key]:
            del changed[key]
    return changed


_LISTED = re.compile(r"^(scores|segments)\[(\d+)\](?:\.(\w+))?")
_VALIDITY = re.compile(r"^validity\.(\w+)(?:\.(\w+))?")
_ANALYSIS = re.compile(r"^analysis\.(\w+)")


def settings_place(
    problems: list[Problem],
    *,
    scores: list[forms.Form],
    segments: list[forms.Form],
    rules: forms.Form,
) -> list[str]:
    """Put each problem beside its field; the ones about other parts, with their place."""
    elsewhere = []
    for problem in problems:
        path = problem.path
        if listed := _LISTED.match(path):
            kind, index, key = listed.groups()
            targets = scores if kind == "scores" else segments
            if int(index) < len(targets):
                target = targets[int(index)]
                target.add_error(key if key in target.fields else None, problem.message)
                continue
        elif validity := _VALIDITY.match(path):
            rule, key = validity.groups()
            name = f"{rule}_{key or 'action'}"
            if name in rules.fields:
                rules.add_error(name, problem.message)
                continue
        elif (analysis := _ANALYSIS.match(path)) and analysis.group(1) in rules.fields:
            rules.add_error(analysis.group(1), problem.message)
            continue
        elsewhere.append(f"{problem.place}: {problem.message}")
    return elsewhere
