"""The drafted report of a questionnaire's latest run, as its readers ask for it.

Promises:
- Reads the latest successful run's stored document, or, with filters, the filtered document
  the results page computes (``analysis.services.filtered``): the same rows as the page.
- Filters that cannot be used are reported in ``filter_errors`` (each naming its field) and
  the report then covers all valid responses, as the results page does.
- Reads the collection facts the document does not hold (first and last submission and the
  channels, up to the run's last response) and leaves out attention-check questions.
- Applies the analysts' rewrites of this language and these filters (``report_edits``).
- Must be called inside ``translation.override(language)``: the sentences are drafted in the
  active language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.utils import timezone
from django.utils.translation import gettext as _

from analysis.models import AnalysisRun
from analysis.selectors import collection_facts, latest_successful_run
from analysis.services.filtered import FilteredTooLarge, filtered_results
from analysis.services.report import Collection, Draft, report_draft
from analysis.services.report_edits import Shown, report_apply, report_edits
from analysis.services.tables import weighted_for_reading
from survey.filters import FiltersInvalid, filters_parse
from survey.labels import label_text
from survey.models import Questionnaire, Response
from survey.structure import structure_for


@dataclass
class BuiltReport:
    questionnaire: Questionnaire
    language: str
    asked: dict[str, str]
    run: AnalysisRun | None = None
    draft: Draft | None = None
    shown: dict[str, Shown] = field(default_factory=dict)  # finding key → what to show
    scope: str = ""  # the filters the draft covers, canonical ("" = all valid responses)
    filter_errors: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return _("%(title)s: survey report (draft)") % {
            "title": label_text(self.questionnaire.title, self.language)
        }

    @property
    def subtitle(self) -> str:
        finished = ""
        if self.run is not None and self.run.finished_at is not None:
            finished = timezone.localtime(self.run.finished_at).strftime("%Y-%m-%d %H:%M")
        return _("Drafted from analysis run #%(run)s of %(date)s.") % {
            "run": self.run.pk if self.run else "–",
            "date": finished,
        }


def report_build(
    *, questionnaire: Questionnaire, language: str, asked: dict[str, str]
) -> BuiltReport:
    """The draft of the latest run over the ``asked`` filters, with its rewrites applied
    (``draft`` is None when no run has finished)."""
    report = BuiltReport(questionnaire=questionnaire, language=language, asked=asked)
    report.run = latest_successful_run(questionnaire)
    if report.run is None or not report.run.results:
        return report
    document = report.run.results
    if asked:
        try:
            document = filtered_results(questionnaire=questionnaire, filters=filters_parse(asked))
            report.scope = urlencode(sorted(asked.items()))
        except FiltersInvalid as error:
            fields = error.fields or {"": [error.message]}
            report.filter_errors = [
                f"{name}: {' '.join(messages)}" if name else " ".join(messages)
                for name, messages in fields.items()
            ]
        except FilteredTooLarge as error:
            report.filter_errors = [error.message]
    if document.get("weighted"):  # a weighted questionnaire's report is weighted (and says so)
        document = weighted_for_reading(document)
    first, last, channels = collection_facts(questionnaire, report.run.last_response_id)
    names = dict(Response.Channel.choices)
    structure = structure_for(questionnaire)
    collection = Collection(
        first=timezone.localdate(first).isoformat() if first else "",
        last=timezone.localdate(last).isoformat() if last else "",
        channels=[str(names.get(channel, channel)) for channel in channels],
        skipped=frozenset(q.code for q in structure.questions.values() if q.attention_expect),
    )
    report.draft = report_draft(document, language=language, collection=collection)
    report.shown = report_apply(
        report.draft,
        report_edits(questionnaire=questionnaire, language=language, scope=report.scope),
    )
    return report
