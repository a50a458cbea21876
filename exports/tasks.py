"""Celery tasks of the exports: thin wrappers named after the services they call.

``analysis.export_run`` is sent by ``exports.services.export_dispatch`` once the
request's transaction commits; ``analysis.export_expire`` is on the beat schedule
(config/celery.py). Failures are recorded on the Export row by the service. The task names
are the ones they had before exports left ``analysis``: they are what queued messages carry.
``exports.store_cells`` is sent after each analysis run (``exports.cells``);
``exports.store_cells_catch_up`` is on the beat schedule.
"""

from __future__ import annotations

from celery import shared_task

from exports.cells import answer_cells_catch_up, answer_cells_job
from exports.services import export_expire, export_run


@shared_task(name="analysis.export_run", ignore_result=True)
def run_export(export_id: int) -> None:
    export_run(export_id=export_id)


@shared_task(name="analysis.export_expire", ignore_result=True)
def expire_exports() -> int:
    return export_expire()


@shared_task(name="exports.store_cells", ignore_result=True)
def store_cells(questionnaire_id: int, every: bool = True, resume: list | None = None) -> int:
    return answer_cells_job(questionnaire_id, every, resume)


@shared_task(name="exports.store_cells_catch_up", ignore_result=True)
def store_cells_catch_up() -> list[int]:
    return answer_cells_catch_up()
