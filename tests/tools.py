"""Test helper: an external tool a test needs (pdflatex, Graphviz's dot, git, pre-commit, matplotlib).

Where it is missing the test skips saying what to install — except under CI=true: `.ci/run` installs every
one of them, so there a missing tool is a broken CI machine and the test fails instead of passing silently.
"""

from __future__ import annotations

import importlib
import os
import shutil
from types import ModuleType

import pytest


def unavailable(message: str) -> None:
    """Skip with `message`, or fail with it under CI=true."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} — CI installs it, so this is a broken CI run, not a skip")
    pytest.skip(message)


def need_program(name: str, install: str) -> str:
    """The path of program `name`, or skip/fail naming the package that brings it."""
    path = shutil.which(name)
    if path is None:
        unavailable(f"{name} is not installed (install {install})")
    return path


def need_module(name: str) -> ModuleType:
    """Module `name` imported, or skip/fail naming it."""
    try:
        return importlib.import_module(name)
    except ImportError:
        unavailable(f"the Python package {name} is not installed (pip install '.[test]' brings it)")
