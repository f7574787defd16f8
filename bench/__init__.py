"""jobmill's benchmarks beside its peers and the raw limits: ``make bench``
(``python -m bench``), described in docs/benchmarks.md. Not part of the tests."""
