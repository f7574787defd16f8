"""jobmill's benchmarks: ``make bench`` (``python -m bench``). Not part of the tests."""
