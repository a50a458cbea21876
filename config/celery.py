"""The Celery app: settings from ``CELERY_*`` in config/settings.py, tasks from each app's
``tasks`` module, and the beat schedule."""

import os
from typing import Any

import redis
from celery import Celery, bootsteps
from kombu.transport import redis as kombu_redis

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def _survive_a_lost_broker() -> None:
    """Keep the worker alive when Redis goes away while it holds unacknowledged tasks.

    On a lost broker the consumer closes its channel and kombu 5.7 tears the channel's
    connection down (``channel.connection`` or its ``client`` becomes None). Two things still
    reach Redis through that closed channel afterwards:

    - closing hands the tasks it holds back to Redis (``QoS.restore_unacked``);
    - a task that finished while Redis was away is acknowledged (tasks are acknowledged
      late) once the worker has reconnected, through the channel that delivered it.

    Both failed with an AttributeError, which is no "connection error", so the worker
    stopped with "Unrecoverable error" (the first seen in bench/soak after a 20 s outage,
    the second when a task ended inside an outage). A closed channel now raises redis's
    ConnectionError, the error kombu and Celery already recover from: the restore is given
    up, the acknowledgement is logged as not made ("Couldn't ack"), and the worker goes on.
    Nothing is lost: those tasks stay in Redis's unacked set and the visibility timeout
    delivers them again; a run is claimed by a conditional UPDATE, so a second delivery of
    one that has ended does nothing.
    """
    connparams = kombu_redis.Channel._connparams

    def _connparams(self: Any, asynchronous: bool = False) -> Any:
        if self.connection is None or self.connection.client is None:
            raise redis.exceptions.ConnectionError(
                "this broker channel was closed when the connection to Redis was lost"
            )
        return connparams(self, asynchronous)

    kombu_redis.Channel._connparams = _connparams


_survive_a_lost_broker()

app = Celery("wenji")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class WorkerAlive(bootsteps.StartStopStep):
    """Marks this worker alive every WORKER_ALIVE_SECONDS (``wenji.workers``), from the
    worker's own timer: independent of beat, of the queues and of Celery's event heartbeats."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.timer_ref: Any = None

    def start(self, worker: Any) -> None:
        from django.conf import settings

        from wenji.workers import worker_alive_mark

        worker_alive_mark(worker.hostname)
        self.timer_ref = worker.timer.call_repeatedly(
            float(settings.WORKER_ALIVE_SECONDS), worker_alive_mark, (worker.hostname,)
        )

    def stop(self, worker: Any) -> None:
        from wenji.workers import worker_alive_clear

        if self.timer_ref is not None:
            self.timer_ref.cancel()
        worker_alive_clear(worker.hostname)


app.steps["worker"].add(WorkerAlive)


@app.on_after_configure.connect
def add_beat_schedule(sender: Celery, **kwargs: Any) -> None:
    """Periodic tasks; read from settings only once Celery reads its configuration."""
    from django.conf import settings

    sender.add_periodic_task(
        settings.ANALYSIS_SCHEDULE_MINUTES * 60.0,
        sender.signature("analysis.catch_up"),
        name="analysis.catch_up",
    )
    sender.add_periodic_task(
        float(settings.ANALYSIS_REAP_SECONDS),
        sender.signature("analysis.reap"),
        name="analysis.reap",
    )
    # Drops identities past each questionnaire's identity_retention_days (survey/tasks.py).
    sender.add_periodic_task(
        3600.0, sender.signature("survey.expire_identities"), name="survey.expire_identities"
    )
    # Stores the wide export's cells where labels changed or the cache forgot (exports/cells.py).
    sender.add_periodic_task(
        settings.ANALYSIS_SCHEDULE_MINUTES * 60.0,
        sender.signature("exports.store_cells_catch_up"),
        name="exports.store_cells_catch_up",
    )
    # Deletes export files past EXPORT_RETENTION_HOURS (exports/tasks.py).
    sender.add_periodic_task(
        3600.0, sender.signature("analysis.export_expire"), name="analysis.export_expire"
    )
