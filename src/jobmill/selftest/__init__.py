"""``jobmill selftest``: no-op jobs run by real worker processes, some killed or
frozen on purpose, then every job checked for loss and duplicate completion
from the marks its attempts left (``marks``), not from jobmill's bookkeeping.

``run.run_selftest`` runs one; ``tally.tally_jobs`` is the pure check.
"""
