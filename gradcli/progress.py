"""How library code reports long work: a callback, never a drawing.

    progress(done, total, label)     e.g. progress(3, 32, "sheet003.yaml") or progress(120, 500, "numeric column")

Library functions take `progress: ProgressCallback | None = None` and call `report(progress, ...)`; the CLI
passes a Rich bar (`gradcli.cli.progress.bar`) on a terminal and nothing under `--json` or when piped.
A new `label` starts a new phase (its own `total`).
"""

from __future__ import annotations

from typing import Callable

ProgressCallback = Callable[[int, int, str], None]


def report(progress: ProgressCallback | None, done: int, total: int, label: str = "") -> None:
    """Call `progress` when there is one."""
    if progress is not None:
        progress(done, total, label)
