"""The one Rich progress bar of the CLI: a ProgressCallback (gradcli.progress) drawn on stderr, transient."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from gradcli.progress import ProgressCallback


@contextmanager
def bar(enabled: bool) -> Iterator[ProgressCallback | None]:
    """A callback that draws (done/total, label, elapsed time) while the block runs; None when not `enabled`
    (no terminal, `--json`), so library code does no progress work at all."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    drawing = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                       transient=True, console=Console(stderr=True, emoji=False))
    phase: dict[str, object] = {"task": None, "done": 0, "total": None}

    def update(done: int, total: int, label: str = "") -> None:
        if phase["task"] is None or starts_phase(phase["done"], phase["total"], done, total):
            if phase["task"] is not None:
                drawing.remove_task(phase["task"])
            phase["task"] = drawing.add_task(label, total=total)
        phase["done"], phase["total"] = done, total
        drawing.update(phase["task"], completed=done, total=total, description=label)

    with drawing:
        yield update


def starts_phase(done_before: int, total_before: int | None, done: int, total: int) -> bool:
    """A report starts a new phase when its count goes back or its total changes (gradcli.progress)."""
    return done < done_before or total != total_before
