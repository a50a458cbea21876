"""``wenji.postgresql``: the health check of a reused connection asks the server only when
the connection's socket says something happened to it."""

from __future__ import annotations

import time

import psycopg
import pytest
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _other_connection() -> psycopg.Connection:
    params = connection.get_connection_params()
    return psycopg.connect(
        **{k: v for k, v in params.items() if k not in ("cursor_factory", "context")},
        autocommit=True,
    )


def _last_query_of(pid: int) -> str | None:
    """The last statement backend ``pid`` ran; None once the backend is gone."""
    with _other_connection() as other:
        row = other.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
    return row[0] if row else None


def _start_of_a_request() -> None:
    """What Django does to a reused connection as a request begins (CONN_HEALTH_CHECKS)."""
    connection.health_check_enabled = True
    connection.health_check_done = False
    connection.close_if_health_check_failed()


def test_a_healthy_idle_connection_passes_without_a_query_sent():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'before the check'")
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    _start_of_a_request()
    assert connection.connection is not None  # kept
    assert _last_query_of(pid) == "SELECT pg_backend_pid()"  # no SELECT 1 reached the server


def test_a_connection_the_server_ended_is_found_closed_and_replaced():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    with _other_connection() as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _last_query_of(pid) is not None:
        time.sleep(0.05)
    _start_of_a_request()
    assert connection.connection is None  # found dead and closed, before any query failed
    with connection.cursor() as cursor:  # the next query connects afresh
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid


def test_a_connection_with_something_to_read_is_asked_and_kept_when_it_answers():
    with connection.cursor() as cursor:
        cursor.execute("LISTEN wenji_backend_test")
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    with _other_connection() as other:
        other.execute("NOTIFY wenji_backend_test")  # arrives on the idle socket
    time.sleep(0.2)
    _start_of_a_request()
    assert connection.connection is not None  # SELECT 1 answered: kept
    assert _last_query_of(pid) == "SELECT 1"
    with connection.cursor() as cursor:
        cursor.execute("UNLISTEN *")
