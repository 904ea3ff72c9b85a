"""What a network spec and a problem file become once read: plain dataclasses (NetSpec, DenseLayer,
Batch, TrainSpec, Definition, ProblemFile, Claim) and the vocabulary their YAML keys take.
"""


from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from gradcli.language.expr import Node

if TYPE_CHECKING:
    import numpy as np




MAX_AXES = 4  # axes of a declared value (a Jacobian claim_shape may have more)
MAX_CLAIM_AXES = 8
MAX_STEPS = 1_000_000  # gradient-descent steps of one training run
ACTIVATIONS = ("none", "sigmoid", "tanh", "relu", "softmax")
LOSS_KEYWORDS = {
    "mse": "mean((yhat - y)^2)",
    "sse": "sum((yhat - y)^2)",
    "cross_entropy": "-sum(y * ln(yhat))",
    "softmax_cross_entropy": "logsumexp(yhat) - sum(y * yhat)",
}
CLAIM_KINDS = ("derivative", "value", "gradient", "jacobian", "update", "behaviour")
BEHAVIOURS = ("converges", "diverges", "symmetric", "learns", "fails_to_learn")
EXPECTS = ("correct", "wrong")
INIT_KINDS = ("zeros", "ones", "constant", "normal", "uniform", "xavier", "he")

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

# ------------------------------------------------------------------------------------------- models


@dataclass(frozen=True)
class Definition:
    """`name: text` from a YAML file, parsed; `where` is 'FILE: yaml.path (line N)' for messages."""

    name: str
    node: Node
    text: str
    line: int | None
    path: str = ""
    where: str = ""


@dataclass
class Batch:
    """`data:` of a network spec: example i feeds x[i] as `x` and y[i] as `y`; the loss is reduced."""

    x: list["np.ndarray"]
    y: list["np.ndarray"]
    reduce: str = "mean"  # 'mean' | 'sum' over examples

    def __len__(self) -> int:
        return len(self.x)


@dataclass
class TrainSpec:
    """Plain gradient descent: `steps` updates theta <- theta - lr * grad.

    For a `function:` problem, `params` are the trained names with their start values and
    `constants` the names held fixed; for a network both are None (its params are trained).
    """

    lr: float
    steps: int
    params: dict[str, "np.ndarray"] | None = None
    constants: dict[str, "np.ndarray"] | None = None


@dataclass(frozen=True)
class DenseLayer:
    """One expanded `{dense: ...}` layer k: out = act(W @ prev + b), W is (n_out x n_in), b is (n_out, 1)."""

    index: int
    n_in: int
    n_out: int
    activation: str
    weight: str  # 'W{k}'
    bias: str | None  # 'b{k}' or None when `bias: false`
    input: str  # 'x' or the previous layer's output
    output: str  # 'h{k}', or 'yhat' for the last layer


@dataclass
class NetSpec:
    """A network spec (the network-spec format): values, ordered forward definitions, a scalar loss, what to differentiate.

    `source_yaml_lines` maps YAML paths relative to the spec ('params.W0', 'forward.yhat', 'loss') to
    lines; `yaml_prefix` is 'net.' for a net written inline in a problem file. Use `where(path)` or
    `locate(name)` to name a place in an error message.
    """

    name: str | None
    inputs: dict[str, "np.ndarray"]
    params: dict[str, "np.ndarray"]
    forward: list[Definition]
    loss: Definition
    wrt: list[str]
    data: Batch | None = None
    train: TrainSpec | None = None
    seed: int = 0
    expanded_from_layers: bool = False
    source_yaml_lines: dict[str, int] = field(default_factory=dict)
    file: str = "<string>"
    yaml_prefix: str = ""
    layers: list[DenseLayer] = field(default_factory=list)

    def where(self, path: str) -> str:
        """'FILE: [net.]path (line N)' for a path relative to the spec, e.g. where('params.W0')."""
        line = None
        probe = path
        while probe:
            if probe in self.source_yaml_lines:
                line = self.source_yaml_lines[probe]
                break
            probe = probe.rpartition(".")[0]
        if line is None:
            line = self.source_yaml_lines.get("")
        shown = f"{self.file}: {self.yaml_prefix}{path}" if path else self.file
        return f"{shown} (line {line})" if line is not None else shown

    def locate(self, name: str) -> str:
        """Where a name is defined: its forward definition, param, input or data column."""
        for d in self.forward:
            if d.name == name:
                return d.where
        for section in ("params", "inputs", "data"):
            if f"{section}.{name}" in self.source_yaml_lines:
                return self.where(f"{section}.{name}")
        if name == "loss":
            return self.loss.where
        return self.where("")

    @property
    def example_names(self) -> tuple[str, ...]:
        """Names fed per example from `data:` (empty without a batch)."""
        return ("x", "y") if self.data is not None else ()

    def names(self) -> list[str]:
        """Every name the loss may use: inputs, data columns, params, forward definitions."""
        return [*self.inputs, *self.example_names, *self.params, *(d.name for d in self.forward)]


class ClaimSettings(BaseModel):
    """The settings next to a claim's kind key; readable as attributes or as a dict (`s["wrt"]`)."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    def __getitem__(self, key: str) -> Any:
        if key not in type(self).model_fields:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default) if key in type(self).model_fields else default

    def keys(self) -> list[str]:
        return list(type(self).model_fields)


@dataclass
class Claim:
    """One claim of a problem file. Formulas stay raw text here; the checker parses them with
    `parse_claim_formula`, so a bad formula names the claim. `claim_source` is the claim exactly as
    written (the digits of `40.10` set a value's tolerance)."""

    id: str
    kind: str
    settings: ClaimSettings
    claim: Any
    claim_text_line: int | None
    expect: str = "correct"
    line: int | None = None
    index: int = 0
    claim_source: str | None = None
    claim_shape: tuple[int, ...] | None = None
    claim_entry: str | None = None
    note: str | None = None
    where: str = ""
    lines: dict[str, int] = field(default_factory=dict)


@dataclass
class ProblemFile:
    """A problem file (the problem-file format): the setting (function + where:, or an inline net) and its claims."""

    path: str
    title: str
    source: str | None
    function: Definition | None
    net: NetSpec | None
    where: dict[str, Definition]
    claims: list[Claim]
    constants: dict[str, "np.ndarray"] = field(default_factory=dict)
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    notes: str | None = None
    source_yaml_lines: dict[str, int] = field(default_factory=dict)

    def where_of(self, path: str) -> str:
        line = self.source_yaml_lines.get(path)
        return f"{self.path}: {path} (line {line})" if line is not None else f"{self.path}: {path}"
