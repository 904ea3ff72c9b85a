"""How library code reports long work: a callback, never a drawing.

    progress(done, total, label)     e.g. progress(3, 32, "sheet003.yaml") or progress(120, 500, "numeric column")

Library functions take `progress: ProgressCallback | None = None` and call `report(progress, ...)`; the CLI
passes a Rich bar (`gradcli.cli.progress.bar`) on a terminal and nothing under `--json` or when piped.
A call whose `done` goes back (or whose `total` changes) starts a new phase; `label` says what is being
done now and may change on every call (the file being checked).
"""

from __future__ import annotations

from typing import Callable

ProgressCallback = Callable[[int, int, str], None]


def report(progress: ProgressCallback | None, done: int, total: int, label: str = "") -> None:
    """Call `progress` when there is one."""
    if progress is not None:
        progress(done, total, label)


def stepper(progress: ProgressCallback | None, total: int, label: str, reports: int = 200) -> Callable[[int], None]:
    """step(done) for a loop of `total` steps: reports at most `reports` times (every ⌈total/reports⌉-th
    step, and the last), so a 10⁶-step run stays cheap; a no-op without a callback."""
    if progress is None:
        return lambda done: None
    every = max(1, total // reports)

    def step(done: int) -> None:
        if done % every == 0 or done == total:
            progress(done, total, label)

    return step
