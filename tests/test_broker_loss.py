"""A worker's broker channel after the connection to Redis was lost (config.celery).

When Redis goes away the worker's consumer closes its channel, and kombu tears the channel's
connection down. A task that finished meanwhile is acknowledged later through that channel,
and closing hands the tasks it holds back through it: both raised an AttributeError, which
stopped the worker ("Unrecoverable error"). They must raise the connection error that kombu
and Celery recover from, and the task must not be lost: it is delivered again.

Driven here with kombu itself, on a redis-server of the test's own, so that the moment the
channel is closed is the test's to choose (with a real worker it is a race).
"""

from __future__ import annotations

import contextlib
import logging
import time

import pytest
from kombu import Connection

import config.celery  # noqa: F401  (the patch under test is applied on import)
from tests.analysis.test_worker import own_redis  # noqa: F401  (fixture)

pytestmark = [pytest.mark.redis]

QUEUE = "broker-loss-test"


def _connection(url: str, **transport_options) -> Connection:
    options = {"socket_connect_timeout": 2, "socket_timeout": 5, **transport_options}
    return Connection(url, transport_options=options)


def _delivered(connection: Connection):
    """One task taken off the queue, not yet acknowledged (as a worker holds it)."""
    queue = connection.SimpleQueue(QUEUE)
    queue.put({"task": "analysis.run", "run_id": 7})
    return queue.get(timeout=5)


def _lost(connection: Connection, channel) -> None:
    """What a worker's consumer does on losing Redis: it collects the broken connection,
    whose transport lets go of its client (kombu's ``Connection._do_close_transport``), and
    then closes the channel, ignoring connection errors, as Celery does."""
    connection.transport.client = None
    with contextlib.suppress(*connection.connection_errors):
        channel.close()


class _Recorded(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _recording_logger() -> tuple[logging.Logger, _Recorded]:
    """A logger of the test's own (Celery passes its worker's logger to the ack)."""
    logger = logging.Logger("broker-loss-test")
    recorded = _Recorded()
    logger.addHandler(recorded)
    return logger, recorded


def test_closing_the_channel_gives_up_handing_tasks_back_with_a_connection_error(
    own_redis,  # noqa: F811  (the fixture of tests/analysis/test_worker.py)
):
    connection = _connection(own_redis.url)
    message = _delivered(connection)
    connection.transport.client = None

    with pytest.raises(connection.connection_errors) as raised:
        message.channel.close()
    assert "connection to Redis was lost" in str(raised.value)


def _acknowledged_after_the_loss(url: str) -> list[logging.LogRecord]:
    """A task delivered, the connection lost, then the task acknowledged as Celery does once
    it finished: what was logged."""
    connection = _connection(url)
    message = _delivered(connection)
    errors = connection.connection_errors + connection.channel_errors
    _lost(connection, message.channel)
    logger, recorded = _recording_logger()
    message.ack_log_error(logger, errors)
    return recorded.records


def test_a_task_acknowledged_after_its_channel_closed_is_logged_not_fatal(
    own_redis,  # noqa: F811
):
    [record] = _acknowledged_after_the_loss(own_redis.url)
    assert record.levelno == logging.CRITICAL and record.getMessage().startswith("Couldn't ack")
    assert "connection to Redis was lost" in str(record.exc_info[1])


def test_the_task_not_acknowledged_is_delivered_again_after_the_visibility_timeout(
    own_redis,  # noqa: F811
):
    assert _acknowledged_after_the_loss(own_redis.url)  # "Couldn't ack"

    again = _connection(own_redis.url, visibility_timeout=1)
    try:
        queue = again.SimpleQueue(QUEUE)
        with pytest.raises(queue.Empty):  # not back yet: it waits out the visibility timeout
            queue.get(block=False)
        time.sleep(1.2)
        queue.channel.qos.restore_visible(interval=1)
        redelivered = queue.get(timeout=5)
        assert redelivered.payload == {"task": "analysis.run", "run_id": 7}
        redelivered.ack()
    finally:
        again.close()
