"""Signals of the analysis, for the rooms that build on it (``exports``): ``analysis`` imports
none of them, they connect here.

- ``run_done``: a run has ended done, in the transaction that marked it done (a receiver
  wanting its effect committed uses ``transaction.on_commit``). Sent with ``run`` (the
  ``AnalysisRun``) and ``incremental`` (True when only the changed chunks were recomputed).
"""

from __future__ import annotations

from django.dispatch import Signal

run_done = Signal()
