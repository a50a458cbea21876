"""What every app of Wenji shares: who may do what (``access``), the API's common parts
(``api``: authentication, one error shape, parsers, throttling, pagination), keyed hashing of
personal data (``hashing``), spreadsheet-cell escaping (``cells``), domain errors (``errors``),
the cache client (``cache``), and the ``python -m wenji`` command (``__main__``).

This package is imported by the bootstrap command before Django is installed, so nothing here
may import Django at package level.
"""
