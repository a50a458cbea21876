"""Signals of the analysis, for the rooms that build on it (``exports``): ``analysis`` imports
none of them, they connect here.

- ``run_done``: a run has just been marked done. Sent with ``run`` (the ``AnalysisRun``)
  and ``incremental`` (True when only the changed chunks were recomputed). A receiver that
  starts work elsewhere does it through ``transaction.on_commit``, in case the sender is in
  a transaction (exports.cells.after_run).
"""

from __future__ import annotations

from django.dispatch import Signal

run_done = Signal()
