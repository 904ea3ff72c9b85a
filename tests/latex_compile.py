"""Test helper: compile a LaTeX document with a real engine (pdflatex, else tectonic), or skip saying why.

CI (.ci/run) installs Debian's texlive-latex-base when pdflatex is missing; elsewhere the compile tests
skip with a message naming what to install (and fail under CI=true).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tools import unavailable

SECONDS = 180


def engine() -> list[str] | None:
    if shutil.which("pdflatex"):
        return ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape"]
    if shutil.which("tectonic"):
        return ["tectonic", "--chatter", "minimal"]
    return None


def compile_latex(text: str, directory: Path, name: str = "doc") -> str:
    """Compile `text`; return the engine's log. Fails the test with the log's error lines when it does not
    compile; skips when no engine is installed."""
    command = engine()
    if command is None:
        unavailable("no LaTeX engine: install texlive-latex-base (pdflatex) or tectonic to compile the LaTeX output")
    source = directory / f"{name}.tex"
    source.write_text(text, encoding="utf-8")
    done = subprocess.run([*command, source.name], cwd=directory, capture_output=True, timeout=SECONDS,
                          stdin=subprocess.DEVNULL)
    log_path = directory / f"{name}.log"
    log = log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else done.stdout.decode(
        "utf-8", "replace")
    if done.returncode != 0:
        errors = [line for line in log.splitlines() if line.startswith("!") or "Error" in line]
        pytest.fail(f"{name}.tex does not compile ({command[0]} exit {done.returncode}):\n" + "\n".join(errors[:20]))
    pdf = directory / f"{name}.pdf"
    assert pdf.exists() and pdf.read_bytes()[:5] == b"%PDF-", f"{command[0]} wrote no PDF"
    # Fonts outside texlive-latex-base (TS1 text symbols, EC fonts) would need bitmap generation or cm-super.
    assert "TS1+" not in log and "mktexpk" not in log, "the document needs fonts that texlive-latex-base lacks"
    return log
