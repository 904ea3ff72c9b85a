"""The options of `gradcli check` (CLI flags and api.check's arguments), read by the net check and the bank."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gradcli.progress import ProgressCallback


@dataclass
class CheckOptions:
    fast: bool = False  # directional check, bisection on failure
    show: list[str] = field(default_factory=list)  # parameters whose three gradients are printed
    cost: bool = False  # count multiply-adds per op
    equations: bool = True  # the backward pass as equations
    jobs: int | None = None  # files checked at a time (None: the cores)
    shard: str | None = None  # 'i/n'
    junit: Path | None = None  # where JUnit XML goes
    seed: int = 0
    progress: ProgressCallback | None = None  # hears (done, total, label) during long checks
    symbolic_seconds: float | None = None  # a net's symbolic column's time bound (None: its default, 30 s)
