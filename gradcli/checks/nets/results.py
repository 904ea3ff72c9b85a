"""What a net check returns: per-parameter checks (three columns, verdict, worst entry, symbolic
coverage) and the whole result; and the three columns as computed.
"""


from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# ============================================================================================ results


@dataclass
class SymbolicCoverage:
    """How the symbolic column was computed for one parameter."""

    path: str  # 'full' (every entry a symbol) | 'sampled' (a seeded sample of entries) | 'skipped'
    entries: int  # entries the column covers
    total: int  # entries of the parameter
    reason: str | None = None  # why sampled or skipped


@dataclass
class ParamCheck:
    """∂L/∂P three ways and the verdict; arrays have P's shape, nan where a column was not computed."""

    name: str
    shape: tuple[int, ...]
    symbolic: np.ndarray
    backprop: np.ndarray
    numeric: np.ndarray
    numeric_error: np.ndarray
    max_rel_error: float
    verdict: str  # agree | disagree | kink
    odd_one_out: str | None
    reason: str
    worst_index: tuple[int, ...] | None
    worst: tuple[float | None, float | None, float | None]  # (symbolic, backprop, numeric) at worst_index
    symbolic_coverage: SymbolicCoverage
    numeric_method: str  # 'central' (every entry) | 'directional' (--fast)
    numeric_entries: int  # entries with a numeric value
    disagreeing: int = 0
    kinks: int = 0
    directional_rel_error: float | None = None  # --fast: the worst direction's relative error


@dataclass
class NetCheckResult:
    """Everything `gradcli check net.yaml` reports; renderers read it, never compute."""

    file: str
    name: str | None
    value: float
    gradients: dict[str, ParamCheck]
    examples: int  # 1 without data:
    reduce: str | None  # 'mean' | 'sum' over the examples, None without data:
    forward_text: list[str]  # 'h1 = tanh(W1 @ x + b1)', ...
    loss_text: str
    expanded_from_layers: bool = False
    show: list[str] = field(default_factory=list)
    fast: bool = False
    backward: Any = None  # gradcli.checks.nets.backward_equations.BackwardReport
    cost: Any = None  # gradcli.checks.nets.cost.CostReport
    timings: dict[str, float] = field(default_factory=dict)  # seconds per column

    @property
    def verdict(self) -> str:
        verdicts = {p.verdict for p in self.gradients.values()}
        return "disagree" if "disagree" in verdicts else ("kink" if "kink" in verdicts else "agree")

    @property
    def exit_code(self) -> int:
        return 1 if self.verdict == "disagree" else 0


@dataclass
class BackpropColumn:
    value: float
    grads: dict[str, np.ndarray]
    kink: bool  # some op sat on a kink in some example


@dataclass
class SymbolicColumn:
    values: dict[str, np.ndarray]  # nan where not covered
    coverage: dict[str, SymbolicCoverage]
    covered: dict[str, np.ndarray]  # boolean mask of the entries the column computed


@dataclass
class NumericColumn:
    values: dict[str, np.ndarray]
    errors: dict[str, np.ndarray]
    evaluations: int
