"""Telling the analysis that a questionnaire has new data, without importing it.

``survey`` never imports ``analysis``: it sends a task by name after the transaction commits.
A broker or cache that is down must never fail a submission: the missed signal is logged
and the analysis' scheduled catch-up run finds the data anyway.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

from wenji.cache import redis_script, stored_key

logger = logging.getLogger(__name__)

NEW_DATA_TASK = "analysis.new_data"
DEFINITION_CHANGED_TASK = "analysis.definition_changed"


def new_data_signal(questionnaire_id: int) -> None:
    """Send ``analysis.new_data`` at once for the first new data of a debounce window, and at
    most one more, delayed to the window's end, for all that follows within it: every change
    is followed by a task that starts after it (never dropped), and a questionnaire taking
    hundreds of submissions a second sends two tasks per ``ANALYSIS_DEBOUNCE_SECONDS``.

    On Redis one round trip (a script), and none while this process knows a delayed task is
    on its way: a submission then costs the debounce nothing (it cost two round trips)."""
    window = settings.ANALYSIS_DEBOUNCE_SECONDS
    key = f"analysis-new-data:{questionnaire_id}"

    def delay() -> float | None:
        asked = time.monotonic()
        if asked < _covered.get(questionnaire_id, 0):
            return None
        keys = [stored_key(cache, key), stored_key(cache, f"{key}:trailing")]
        script = redis_script(cache, keys[0], _DEBOUNCE_LUA)
        if script is not None:
            answer = int(script(keys=keys, args=[max(1, round(window * 1000))]))
        elif cache.add(key, 1, timeout=window):  # not Redis: the same steps, one call each
            answer = -1
        else:
            answer = 0 if cache.add(f"{key}:trailing", 1, timeout=window) else -3
        if answer == -1:
            return 0
        if answer == 0:
            # Sent by this call, to start half a second after its key is gone: what arrives
            # while the key lives is always before it, whatever the small difference between
            # Redis's and a worker's clock. Until then, nothing more to send from here.
            _covered[questionnaire_id] = asked + window
            return window + 0.5
        if answer > 0:  # another's delayed task starts after its key, alive for `answer` ms
            _covered[questionnaire_id] = asked + answer / 1000
        return None  # a delayed task is on its way and starts after this change

    _send(NEW_DATA_TASK, questionnaire_id, delay=delay)


# Per questionnaire, the monotonic time until which a delayed new-data task known to this
# process starts after any change: a change before it needs no signal.
_covered: dict[int, float] = {}


def new_data_windows_forget() -> None:
    """Forget the delayed tasks this process knows of (tests: the cache they lived in was
    cleared, or the worker that would run them is gone)."""
    _covered.clear()


# KEYS: the leading and the trailing key; ARGV: the window in ms. Returns -1 when the
# leading key was set (send now), 0 when the trailing one was (send delayed), else the
# trailing key's remaining ms (a delayed task is on its way), or -3 when that is unknown.
_DEBOUNCE_LUA = """
if redis.call('SET', KEYS[1], 1, 'NX', 'PX', ARGV[1]) then return -1 end
if redis.call('SET', KEYS[2], 1, 'NX', 'PX', ARGV[1]) then return 0 end
local left = redis.call('PTTL', KEYS[2])
if left < 1 then return -3 end
return left
"""


def definition_changed_signal(questionnaire_id: int) -> None:
    """Send ``analysis.definition_changed`` (call it on commit). Not debounced: edits are rare
    and the analysis keeps at most one run queued per questionnaire anyway."""
    _send(DEFINITION_CHANGED_TASK, questionnaire_id, delay=lambda: 0)


def _send(task: str, questionnaire_id: int, *, delay: Callable[[], float | None]) -> None:
    """Send ``task`` after ``delay()`` seconds, or not at all when it says None; a broker or
    cache that is down is logged, never raised (the scheduled catch-up runs the analysis)."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        # No worker: analysing inline would make every submission wait for a full run.
        # Runs are started by hand, by the demo, or by `manage.py analysis_run`.
        return
    try:
        seconds = delay()
        if seconds is not None:
            current_app.send_task(
                task, args=[questionnaire_id], countdown=seconds or None, retry=False
            )
    except (OperationalError, RedisError, OSError) as exc:
        logger.warning(
            "analysis trigger for questionnaire %s missed (%s); the scheduled catch-up will run it",
            questionnaire_id,
            exc.__class__.__name__,
        )
