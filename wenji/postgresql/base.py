"""Django's PostgreSQL backend, with a health check that asks the server only when needed.

With ``CONN_HEALTH_CHECKS`` (on: ``config.env``), Django checks a reused connection at the
start of every request by running ``SELECT 1`` on it: one more round trip per request, and on
the submit path one of three (the check, the questionnaire lookup, the response's INSERT).

A connection that died while idle says so on its socket: a server that shuts down, restarts
or terminates the backend sends an error message and closes the connection, and a dropped
TCP connection reads as end-of-file; either makes the socket readable. A healthy idle
connection's socket has nothing to read (no query is in flight between requests). So
``is_usable`` first looks at the socket without waiting: nothing to read, and psycopg has not
marked the connection closed or broken, means usable, with no query sent; anything to read
(the error, the end of file, or a notice) means Django's ``SELECT 1`` decides as before. A
connection whose peer vanished without a word (a cable pulled) passes either check until the
first real query times out; ``SELECT 1`` would have waited just as long.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        raw = self.connection
        if raw is None or raw.closed or raw.broken:
            return False
        if _quiet(raw):
            return True
        return super().is_usable()


def _quiet(raw) -> bool:
    """Whether the connection's socket has nothing to read, checked without waiting."""
    try:
        poller = select.poll()
        poller.register(raw.fileno(), select.POLLIN | select.POLLPRI)
        return not poller.poll(0)
    except (AttributeError, OSError, ValueError):  # no poll() here, or no socket: ask
        return False
