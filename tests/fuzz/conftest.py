"""Hypothesis profiles for the differential fuzzers, and their shared helpers on sys.path.

``make test`` runs the ``ci`` profile: a fixed number of examples per state
machine, derandomized (the same sequences on every run, so a failure in CI is
reproducible and the suite's time is bounded), no example database. ``make
fuzz`` sets FUZZ_EXAMPLES and runs the ``fuzz`` profile: that many examples,
random each run (a failure prints the seed and a ``@reproduce_failure`` blob).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

# The fuzzers import `differential` (this folder's helpers) as the deck checks
# import the slides pipeline: pytest's importlib mode puts no test folder on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent))

# A step runs real I/O on two loops: its time is not Hypothesis' concern, and
# the drivers bound each step themselves.
_COMMON = dict(deadline=None, database=None, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                      HealthCheck.data_too_large])

settings.register_profile('ci', max_examples=int(os.environ.get('FUZZ_CI_EXAMPLES', '20')),
                          derandomize=True, **_COMMON)
settings.register_profile('fuzz', max_examples=int(os.environ.get('FUZZ_EXAMPLES') or '0') or 400,
                          **_COMMON)
settings.load_profile('fuzz' if os.environ.get('FUZZ_EXAMPLES') else 'ci')
