"""Test-wide settings: Hypothesis profiles and how a missing external tool is reported.

Hypothesis: under CI=true the `ci` profile runs derandomized (the same examples on every run, so a failure
in CI fails again on any machine) and prints the `@reproduce_failure` blob of a failure; locally the `dev`
profile draws new examples each run and stores failing ones in `.hypothesis/` so the next run replays them
first. `HYPOTHESIS_PROFILE=ci pytest ...` reproduces CI's examples locally.
"""

from __future__ import annotations

import os

from hypothesis import settings
from hypothesis.database import DirectoryBasedExampleDatabase

settings.register_profile("ci", derandomize=True, print_blob=True, database=None)
settings.register_profile("dev", print_blob=True, database=DirectoryBasedExampleDatabase(".hypothesis/examples"))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") == "true" else "dev"))
