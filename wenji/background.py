"""Jobs run in this process when there is no worker (Celery eager, as under ``wenji up``).

Promises:
- ``run_here(job, **kwargs)`` runs ``job`` to its end before it returns, unless
  ``settings.JOBS_IN_THREADS``: then it starts ``job`` in a daemon thread and returns at once,
  so that the request that asked answers now and the page follows the job's progress the way
  it does with a worker (the job records its own state: AnalysisRun, Export).
- A job that fails in a thread is logged with its traceback, never lost silently; the thread
  closes its database connections when it ends.
- Tests and management commands keep ``JOBS_IN_THREADS`` off: a job they start is finished
  when the call returns.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)


def run_here(job: Callable[..., Any], /, **kwargs: Any) -> threading.Thread | None:
    """Run ``job(**kwargs)`` in this process (see the promises); the thread, when one runs it."""
    if not settings.JOBS_IN_THREADS:
        job(**kwargs)
        return None

    def target() -> None:
        try:
            job(**kwargs)
        except Exception:
            logger.exception("in-process job %s failed", job.__name__)
        finally:
            connections.close_all()

    thread = threading.Thread(target=target, name=f"job-{job.__name__}", daemon=True)
    thread.start()
    return thread
