"""Network specs (SPEC §4) and problem files (SPEC §5): YAML -> validated in-memory models.

No math lives here beyond building the arrays a file declares. The YAML is read by
`gradcli.yaml_source` (safe_load-equivalent, size/alias/nesting limits, a line for every value), the
fixed-shape parts are validated by pydantic models, and every failure is a SpecError whose `where`
reads `FILE: yaml.path (line N)`, e.g. `net.yaml: params.W0.shape (line 7)`.

Values (SPEC §4 shape convention, float64): a number is a 0-d array, a flat list a column (n, 1),
a nested list a matrix (m, n) (up to 4 axes, rectangular); `{shape: [...], init: ...}` builds an array
of that shape, where `shape: [n]` is a column (n, 1) and `shape: []` a scalar. Inits:
    zeros, ones, {constant: c}
    {normal: {mean: 0, std: 1, seed}}          N(mean, std^2)
    {uniform: {low: 0, high: 1, seed}}         U(low, high)
    xavier  (Glorot uniform)                   U(-a, a), a = sqrt(6 / (fan_in + fan_out))
    he                                          N(0, 2 / fan_in)
with fan_in, fan_out = shape[1], shape[0] of a 2-D shape [out, in]; `{xavier: {seed: s}}`,
`{he: {seed: s}}` give those a seed too. Every random init draws from numpy.random.default_rng(seed)
when it names a seed, else from default_rng([top-level seed (default 0), crc32(name)]): the same
file gives the same numbers everywhere, and each parameter (each layer) gets its own stream.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from gradcli.language import functions as F
from gradcli.errors import ParseError, SpecError
from gradcli.language.expr import Name, Node, parse, walk
from gradcli.io.yaml_source import Path, YamlDoc, format_path, load_text as _load_yaml_text, read_file

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

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

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
    """A network spec (SPEC §4): values, ordered forward definitions, a scalar loss, what to differentiate.

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
    """A problem file (SPEC §5): the setting (function + where:, or an inline net) and its claims."""

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


# ---------------------------------------------------------------------------- pydantic field types


# YAML 1.1 (PyYAML) reads `1e-6` and `1E3` as text: a float needs a dot there. Users write them as
# numbers, so wherever a number is expected, text of exactly this form is read as one.
_YAML11_MISSED_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\Z")


def as_number(value: Any) -> Any:
    """`value`, or the float that text such as '1e-6' stands for (YAML 1.1 leaves it a string)."""
    if isinstance(value, str) and _YAML11_MISSED_NUMBER.match(value.strip()):
        return float(value)
    return value


def _number(value: Any) -> Any:
    value = as_number(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number, found {_show(value)}")
    if not math.isfinite(float(value)):
        raise ValueError(f"expected a finite number, found {value}")
    return float(value)


def _whole(value: Any) -> Any:
    value = as_number(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not float(value).is_integer():
        raise ValueError(f"expected a whole number, found {_show(value)}")
    return int(value)


def _text(value: Any) -> Any:
    if isinstance(value, bool) or value is None or not isinstance(value, (str, int, float)):
        raise ValueError(f"expected text, found {_show(value)}")
    return value if isinstance(value, str) else repr(value)


def _identifier(value: str) -> str:
    if not _IDENT.match(value):
        raise ValueError(f"expected a name such as x or W1, found {value!r}")
    return value


Number = Annotated[float, BeforeValidator(_number)]
Positive = Annotated[float, BeforeValidator(_number), Field(gt=0)]
Count = Annotated[int, BeforeValidator(_whole), Field(gt=0)]
Seed = Annotated[int, BeforeValidator(_whole), Field(ge=0)]
Text = Annotated[str, BeforeValidator(_text)]
Ident = Annotated[str, BeforeValidator(_text), AfterValidator(_identifier)]
Steps = Annotated[int, BeforeValidator(_whole), Field(gt=0, le=MAX_STEPS)]
Flag = Annotated[bool, Field(strict=True)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, populate_by_name=True)


class _NetKeys(_Strict):
    name: Text | None = None
    inputs: Any = None
    params: Any = None
    forward: Any = None
    layers: Any = None
    loss: Any = None
    wrt: Any = None
    data: Any = None
    train: Any = None
    seed: Seed = 0


class _ProblemKeys(_Strict):
    title: Text | None = None
    source: Text | None = None
    function: Any = None
    net: Any = None
    where: Any = None
    constants: Any = None
    shapes: Any = None
    notes: Text | None = None
    claims: Any = None


class _DataKeys(_Strict):
    x: list[Any]
    y: list[Any]
    reduce: Literal["mean", "sum"] = "mean"


class _NetTrain(_Strict):
    lr: Positive
    steps: Steps


class FunctionTrain(_Strict):
    """`train:` of a behaviour claim: lr, steps, and for a `function:` the trained names and constants."""

    lr: Positive
    steps: Steps
    params: dict[str, Any] | None = None
    constants: dict[str, Any] | None = None


class _Dense(_Strict):
    n_in: Count | None = Field(None, alias="in")
    out: Count
    activation: Literal["none", "sigmoid", "tanh", "relu", "softmax"] = "none"
    bias: Flag = True
    init: Any = "xavier"
    bias_init: Any = "zeros"


class _NormalInit(_Strict):
    mean: Number = 0.0
    std: Annotated[float, BeforeValidator(_number), Field(ge=0)] = 1.0
    seed: Seed | None = None


class _UniformInit(_Strict):
    low: Number = 0.0
    high: Number = 1.0
    seed: Seed | None = None


class _SeedOnly(_Strict):
    seed: Seed | None = None


class DerivativeSettings(ClaimSettings):
    """`derivative: {wrt: V [, of: NAME or EXPR]}`: a formula for d(of)/dV."""

    wrt: Ident
    of: Text | None = None
    tol: Positive | None = None


class ValueSettings(ClaimSettings):
    """`value: {at: {...} [, of: NAME] [, wrt: V] [, tol: t]}`: a number (of a derivative with wrt)."""

    at: dict[str, Any] = Field(default_factory=dict)
    of: Text | None = None
    wrt: Ident | None = None
    tol: Positive | None = None


class GradientSettings(ClaimSettings):
    """`gradient: {wrt: PARAM}` of a net's loss: a matrix formula over the net's names."""

    wrt: Ident
    tol: Positive | None = None


class JacobianSettings(ClaimSettings):
    """`jacobian: {of: EXPR, wrt: V, shapes: {X: [3, 4]}}` with claim_shape / claim_entry / claim."""

    of: Text
    wrt: Ident
    shapes: dict[str, list[Count]] = Field(default_factory=dict)
    tol: Positive | None = None


class UpdateSettings(ClaimSettings):
    """`update: {wrt: PARAM, lr: eta}`: the parameter after one step of gradient descent, as a formula."""

    wrt: Ident
    lr: Text
    tol: Positive | None = None


class BehaviourSettings(ClaimSettings):
    """`behaviour: {train: {lr, steps [, params, constants]}}`; claim: converges | diverges | ..."""

    train: Any
    tol: Positive | None = None


SETTINGS_MODELS: dict[str, type[ClaimSettings]] = {
    "derivative": DerivativeSettings,
    "value": ValueSettings,
    "gradient": GradientSettings,
    "jacobian": JacobianSettings,
    "update": UpdateSettings,
    "behaviour": BehaviourSettings,
}

# --------------------------------------------------------------------------------------- public API


def load(path: str | os.PathLike) -> NetSpec | ProblemFile:
    """Read a YAML file: a problem file when it has a top-level `claims:` key (SPEC §3), else a net spec."""
    return _from_doc(read_file(path))


def load_text(text: str, file: str = "<string>") -> NetSpec | ProblemFile:
    """Like `load`, from text; `file` names it in messages."""
    return _from_doc(_load_yaml_text(text, file))


def load_net(path: str | os.PathLike) -> NetSpec:
    """Read a network spec; a problem file here is a SpecError."""
    result = load(path)
    if not isinstance(result, NetSpec):
        raise SpecError("this is a problem file (it has claims:), not a network spec", where=os.fspath(path))
    return result


def load_problem(path: str | os.PathLike) -> ProblemFile:
    """Read a problem file; a file without a top-level `claims:` key is a SpecError."""
    result = load(path)
    if not isinstance(result, ProblemFile):
        raise SpecError("this is a network spec, not a problem file (it has no claims:)", where=os.fspath(path))
    return result


def iter_yaml_files(directory: str | os.PathLike) -> list[FsPath]:
    """Every *.yaml / *.yml under `directory`, recursively, sorted by path; hidden (.dot) directories
    and files are skipped and symbolic links to directories are not followed."""
    root = os.fspath(directory)
    if not os.path.isdir(root):
        raise SpecError("no such directory", where=root)
    found: list[FsPath] = []
    for current, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.extend(FsPath(current, f) for f in files
                     if not f.startswith(".") and f.lower().endswith((".yaml", ".yml")))
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def expanded_forward_text(spec: NetSpec) -> list[str]:
    """The forward pass as lines 'h1 = tanh(W1 @ x + b1)', ..., in order (what `layers:` expanded to)."""
    return [f"{d.name} = {d.text}" for d in spec.forward]


def parse_claim_formula(problem: ProblemFile, claim: Claim, text: str, allow_index: bool = False,
                        field: str = "claim") -> Node:
    """Parse a formula of `claim` (its `claim:` text, or the setting named by `field`, e.g. 'of' or
    'claim_entry'); a ParseError becomes a SpecError "FILE: claims[3] 'dv/dx' (line 21)" with the caret."""
    line = claim.claim_text_line if field == "claim" else claim.lines.get(field, claim.line)
    label = f"claims[{claim.index}] {claim.id!r}"
    where = f"{problem.path}: {label} (line {line})" if line is not None else f"{problem.path}: {label}"
    if not isinstance(text, str):
        text = claim.claim_source if field == "claim" and claim.claim_source else _scalar_text(text)
    try:
        return parse(text, allow_index=allow_index, what="claim" if field == "claim" else field)
    except ParseError as exc:
        raise SpecError(f"{exc.message} (column {exc.column + 1} of {field})", where=where,
                        detail=exc.detail) from None


# ------------------------------------------------------------------------------------- dispatching


def _from_doc(doc: YamlDoc) -> NetSpec | ProblemFile:
    if not isinstance(doc.data, dict):
        raise doc.error((), f"the top level must be a mapping of keys (such as params:, forward:, loss: or "
                            f"claims:), found {_kind(doc.data)}")
    if "claims" in doc.data:
        return _build_problem(doc)
    return _build_net(doc, (), doc.data)


# ----------------------------------------------------------------------------------- pydantic glue


def _validate(model: type[BaseModel], data: Any, doc: YamlDoc, path: Path) -> Any:
    """Validate `data` (found at `path`) with `model`; the first error becomes a SpecError at its path."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        sub = _descend(data, err["loc"])
        kind = err["type"]
        if kind == "missing":
            key = str(err["loc"][len(sub)]) if len(err["loc"]) > len(sub) else str(err["loc"][-1])
            raise doc.error((*path, *sub), f"missing {key!r}") from None
        if kind == "extra_forbidden":
            key = str(sub[-1]) if sub else str(err["loc"][-1])
            allowed = _model_keys(model, err["loc"])
            hint = _did_you_mean(key, allowed)
            listed = f"; allowed here: {', '.join(allowed)}" if allowed else ""
            raise doc.error((*path, *sub), f"unknown key {key!r}{hint}{listed}") from None
        msg = err["msg"].removeprefix("Value error, ")
        if kind.startswith("literal_error"):
            msg = msg.replace("Input should be", "expected")
            msg += f", found {_show(err.get('input'))}"
        elif kind in ("greater_than", "greater_than_equal", "less_than_equal"):
            msg = msg.replace("Input should be", "must be") + f", found {_show(err.get('input'))}"
        elif kind in ("dict_type", "list_type"):
            msg = f"expected a {'mapping' if kind == 'dict_type' else 'list'}, found {_show(err.get('input'))}"
        elif kind == "bool_type":
            msg = f"expected true or false, found {_show(err.get('input'))}"
        elif msg.startswith("Input should be"):
            msg = msg.replace("Input should be", "expected") + f", found {_show(err.get('input'))}"
        raise doc.error((*path, *sub), msg) from None


def _descend(data: Any, loc: tuple) -> tuple:
    """The longest prefix of a pydantic error location that names real keys / indices of `data`."""
    out: list = []
    current = data
    aliases = {"n_in": "in"}
    for part in loc:
        part = aliases.get(part, part)
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            current = current[part]
        else:
            if isinstance(current, dict) and isinstance(part, str) and part not in current:
                out.append(part)
            break
        out.append(part)
    return tuple(out)


def _model_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """The keys a model accepts (its fields, by YAML name), for an unknown key at its top level."""
    if len(loc) != 1:
        return []
    return [f.alias or name for name, f in model.model_fields.items()]

# ---------------------------------------------------------------------------------------- networks


def _build_net(doc: YamlDoc, base: Path, data: Any) -> NetSpec:
    """The network spec written at `base` (() for a spec file, ('net',) inline in a problem file)."""
    if not isinstance(data, dict):
        raise doc.error(base, f"a network spec must be a mapping (inputs:, params:, forward:, loss:), "
                              f"found {_kind(data)}")
    keys = _validate(_NetKeys, data, doc, base)
    seed = keys.seed
    ctx = _NetBuild(doc, base, seed)

    inputs = ctx.values("inputs", data.get("inputs"))
    params = ctx.values("params", data.get("params"))
    for name in params:
        if name in inputs:
            raise ctx.error(("params", name), f"{name!r} is both an input (line {ctx.line(('inputs', name))}) "
                                              "and a param")
    batch = ctx.batch(data.get("data"), inputs) if data.get("data") is not None else None
    if "data" in data and data["data"] is None:
        raise ctx.error(("data",), "data: is empty; give {x: [...], y: [...]} or remove it")

    layers: list[DenseLayer] = []
    if data.get("layers") is not None:
        if data.get("forward") is not None:
            raise ctx.error(("forward",), "give either layers: or forward:, not both "
                                          f"(layers: is on line {ctx.line(('layers',))})")
        forward, layers = ctx.layers(data["layers"], inputs, params, batch)
    else:
        known = [*inputs, *(("x", "y") if batch else ()), *params]
        forward = ctx.forward(data.get("forward"), known)

    defined = [*inputs, *(("x", "y") if batch else ()), *params, *(d.name for d in forward)]
    loss = ctx.loss(data, defined, forward)
    wrt = ctx.wrt(keys.wrt, inputs, params, forward, batch)
    train = None
    if data.get("train") is not None:
        t = _validate(_NetTrain, data["train"], doc, (*base, "train"))
        train = TrainSpec(lr=t.lr, steps=t.steps)
    lines = {format_path(p[len(base):]): loc.line for p, loc in doc.locs.items()
             if p[:len(base)] == base and len(p) - len(base) <= 3}
    lines.update(ctx.extra_lines)
    name = keys.name if keys.name is not None else FsPath(doc.file).stem
    return NetSpec(name=name, inputs=inputs, params=params, forward=forward, loss=loss, wrt=wrt, data=batch,
                   train=train, seed=seed, expanded_from_layers=bool(layers), source_yaml_lines=lines,
                   file=doc.file, yaml_prefix=format_path(base) + "." if base else "", layers=layers)


class _NetBuild:
    """The pieces of one network spec, each validated with its YAML path (relative to `base`)."""

    def __init__(self, doc: YamlDoc, base: Path, seed: int):
        self.doc = doc
        self.base = base
        self.seed = seed
        self.extra_lines: dict[str, int] = {}

    def path(self, rel: Path) -> Path:
        return (*self.base, *rel)

    def error(self, rel: Path, message: str, detail: str | None = None) -> SpecError:
        return self.doc.error(self.path(rel), message, detail)

    def line(self, rel: Path) -> int | None:
        return self.doc.line(self.path(rel))

    def where(self, rel: Path) -> str:
        return self.doc.where(self.path(rel))

    # -- values
    def values(self, section: str, mapping: Any) -> dict[str, "np.ndarray"]:
        if mapping is None:
            return {}
        if not isinstance(mapping, dict):
            raise self.error((section,), f"{section}: must map names to values, found {_kind(mapping)}")
        out = {}
        for name, value in mapping.items():
            _check_name(self.doc, self.path((section, name)), name)
            out[name] = value_array(self.doc, self.path((section, name)), value, name=name, seed=self.seed)
        return out

    def batch(self, data: Any, inputs: dict) -> Batch:
        keys = _validate(_DataKeys, data, self.doc, self.path(("data",)))
        for name in ("x", "y"):
            if name in inputs:
                raise self.error(("data", name), f"{name!r} is given both in inputs: (line "
                                                 f"{self.line(('inputs', name))}) and in data:")
        columns = {}
        for name in ("x", "y"):
            rows = getattr(keys, name)
            if not rows:
                raise self.error(("data", name), f"data.{name} has no rows")
            arrays = [value_array(self.doc, self.path(("data", name, i)), row, name=name, seed=self.seed,
                                  allow_init=False) for i, row in enumerate(rows)]
            for i, arr in enumerate(arrays):
                if arr.shape != arrays[0].shape:
                    raise self.error(("data", name, i), f"row {i} of data.{name} has shape {_shape_text(arr.shape)}"
                                                        f" but row 0 has {_shape_text(arrays[0].shape)}")
            columns[name] = arrays
        if len(columns["x"]) != len(columns["y"]):
            raise self.error(("data", "y"), f"data.x has {len(columns['x'])} rows but data.y has "
                                            f"{len(columns['y'])}; each row is one example")
        return Batch(x=columns["x"], y=columns["y"], reduce=keys.reduce)

    # -- definitions
    def definition(self, rel: Path, name: str, value: Any, known: list[str],
                   later: dict[str, int] | None = None) -> Definition:
        path = self.path(rel)
        if isinstance(value, bool) or value is None or not isinstance(value, (str, int, float)):
            raise self.doc.error(path, f"expected an expression, found {_kind(value)}")
        text = value if isinstance(value, str) else (self.doc.source_text(path) or repr(value))
        where = self.doc.where(path)
        try:
            node = parse(text)
        except ParseError as exc:
            raise SpecError(f"{exc.message} (column {exc.column + 1})", where=where, detail=exc.detail) from None
        _check_known(node, text, known, where, later or {})
        return Definition(name, node, text, self.doc.line(path), format_path(rel), where)

    def forward(self, mapping: Any, known: list[str]) -> list[Definition]:
        if mapping is None:
            return []
        if not isinstance(mapping, dict):
            raise self.error(("forward",), "forward: must be an ordered mapping 'name: expression', "
                                           f"found {_kind(mapping)}")
        later = {name: self.line(("forward", name)) or 0 for name in mapping}
        out: list[Definition] = []
        seen = list(known)
        for name, text in mapping.items():
            _check_name(self.doc, self.path(("forward", name)), name)
            if name in seen:
                raise self.error(("forward", name), f"{name!r} is already defined ({self.locate(name)}); "
                                                    "each name is defined once")
            later.pop(name)
            out.append(self.definition(("forward", name), name, text, seen, later))
            seen.append(name)
        return out

    def locate(self, name: str) -> str:
        for section in ("inputs", "params", "forward", "data"):
            if self.doc.locs.get(self.path((section, name))) is not None:
                return f"{format_path((*self.base, section, name))}, line {self.line((section, name))}"
        return "above"

    def loss(self, data: dict, defined: list[str], forward: list[Definition]) -> Definition:
        if data.get("loss") is None:
            raise self.error(("loss",), "missing loss: give an expression (it must be a scalar) or one of "
                                          f"{', '.join(LOSS_KEYWORDS)}")
        value = data["loss"]
        if isinstance(value, str) and value.strip() in LOSS_KEYWORDS and value.strip() not in defined:
            keyword = value.strip()
            for needed, hint in (("yhat", "a forward definition (or layers:)"), ("y", "inputs: or data:")):
                if needed not in defined:
                    raise self.error(("loss",), f"loss {keyword} compares yhat with y, but {needed!r} is not "
                                                f"defined: add it to {hint}")
            value = LOSS_KEYWORDS[keyword]
        return self.definition(("loss",), "loss", value, defined)

    def wrt(self, wrt: Any, inputs: dict, params: dict, forward: list[Definition],
            batch: Batch | None) -> list[str]:
        if wrt is None:
            if not params:
                raise self.error((), "nothing to differentiate: there are no params: and no wrt:")
            return list(params)
        if not isinstance(wrt, (str, list)):
            raise self.error(("wrt",), f"wrt: is a list of names such as [W0, b0, x], found {_show(wrt)}")
        names = [wrt] if isinstance(wrt, str) else list(wrt)
        if not names:
            raise self.error(("wrt",), "wrt: is empty; list params or inputs, or leave it out for every param")
        rel = ("wrt",)
        fwd = {d.name for d in forward}
        for i, name in enumerate(names):
            at = (*rel, i) if not isinstance(wrt, str) else rel
            if not isinstance(name, str):
                raise self.error(at, f"wrt: lists names, found {_show(name)}")
            if names.index(name) != i:
                raise self.error(at, f"{name!r} is listed twice in wrt")
            if batch is not None and name in ("x", "y"):
                raise self.error(at, f"{name!r} changes from example to example (data:); wrt takes params and "
                                     "fixed inputs")
            if name in fwd:
                raise self.error(at, f"{name!r} is computed by forward:; wrt takes params and inputs")
            if name not in params and name not in inputs:
                hint = _did_you_mean(name, [*params, *inputs])
                raise self.error(at, f"unknown name {name!r} in wrt{hint}; wrt takes params and inputs")
        return names

    # -- layers
    def layers(self, layers: Any, inputs: dict, params: dict,
               batch: Batch | None) -> tuple[list[Definition], list[DenseLayer]]:
        import numpy as np

        if not isinstance(layers, list) or not layers:
            raise self.error(("layers",), "layers: must be a non-empty list of {dense: {in, out, activation}}")
        x = inputs.get("x") if "x" in inputs else (batch.x[0] if batch else None)
        if x is None:
            raise self.error(("layers",), "layers: feed the input 'x', which is neither in inputs: nor data:")
        x_in = _vector_length(x)
        if x_in is None:
            raise self.error(("layers",), f"layers: need x to be a vector, found shape {_shape_text(x.shape)}")
        expanded: list[DenseLayer] = []
        forward: list[Definition] = []
        prev, prev_out = "x", x_in
        known = [*inputs, *(("x", "y") if batch else ()), *params]
        for i, item in enumerate(layers):
            rel = ("layers", i)
            if not isinstance(item, dict) or len(item) != 1 or "dense" not in item:
                found = next(iter(item)) if isinstance(item, dict) and item else None
                what = f"unknown layer type {found!r}" if found and isinstance(item, dict) and len(item) == 1 \
                    else "each layer must be a mapping {dense: {in, out, activation}}"
                raise self.error(rel, f"{what}; only dense layers exist")
            spec = _validate(_Dense, item["dense"], self.doc, self.path((*rel, "dense")))
            k = i + 1
            n_in = spec.n_in if spec.n_in is not None else prev_out
            if n_in != prev_out:
                if i == 0:
                    raise self.error((*rel, "dense", "in"), f"layer 1 has in: {n_in}, but x has {prev_out} entries "
                                                            f"({self.where(('inputs', 'x') if 'x' in inputs else ('data', 'x'))})")
                raise self.error((*rel, "dense", "in"), f"layer {k} has in: {n_in}, but layer {k - 1} has out: "
                                                        f"{prev_out} ({self.where(('layers', i - 1, 'dense', 'out'))})")
            w_name, b_name = f"W{k}", f"b{k}" if spec.bias else None
            out_name = "yhat" if k == len(layers) else f"h{k}"
            for owned in (w_name, b_name, out_name):
                if owned is not None and owned in known:
                    raise self.error(rel, f"layer {k} defines {owned!r}, which is already {self.locate(owned)}")
            dense_path = self.path((*rel, "dense"))
            params[w_name] = _layer_init(self.doc, dense_path, "init", spec.init, (spec.out, n_in), w_name,
                                         self.seed, explicit="init" in item["dense"])
            self.extra_lines[f"params.{w_name}"] = self.line(rel) or 0
            if b_name is not None:
                params[b_name] = _layer_init(self.doc, dense_path, "bias_init", spec.bias_init, (spec.out,), b_name,
                                             self.seed, explicit=True)
                self.extra_lines[f"params.{b_name}"] = self.line(rel) or 0
            affine = f"{w_name} @ {prev}" + (f" + {b_name}" if b_name else "")
            text = affine if spec.activation == "none" else f"{spec.activation}({affine})"
            where = self.where(rel)
            forward.append(Definition(out_name, parse(text), text, self.line(rel), format_path(rel), where))
            self.extra_lines[f"forward.{out_name}"] = self.line(rel) or 0
            expanded.append(DenseLayer(k, n_in, spec.out, spec.activation, w_name, b_name, prev, out_name))
            known.extend(n for n in (w_name, b_name, out_name) if n)
            prev, prev_out = out_name, spec.out
        if x_in == 1 and x.ndim == 0:
            if "x" in inputs:
                inputs["x"] = np.reshape(inputs["x"], (1, 1))
            else:
                batch.x = [np.reshape(row, (1, 1)) for row in batch.x]
        return forward, expanded


def _vector_length(x: "np.ndarray") -> int | None:
    """n for a column (n, 1); 1 for a scalar (fed to W @ x as a 1x1); None for anything else."""
    if x.ndim == 0:
        return 1
    if x.ndim == 2 and x.shape[1] == 1:
        return int(x.shape[0])
    return None


def _layer_init(doc: YamlDoc, dense_path: Path, key: str, init: Any, shape: tuple[int, ...], name: str,
                seed: int, explicit: bool) -> "np.ndarray":
    """W{k} (out x in) or b{k} (out, 1) of a dense layer: an init, or a literal of exactly that shape."""
    path = (*dense_path, key)
    if isinstance(init, list):
        arr = literal_array(doc, path, init)
        want = shape if len(shape) == 2 else (shape[0], 1)
        if arr.shape != want:
            raise doc.error(path, f"{name} must be {_shape_text(want)}, found a literal of shape "
                                  f"{_shape_text(arr.shape)}")
        return arr
    return init_array(doc, path if explicit else dense_path, init, list(shape), name=name, seed=seed)


# --------------------------------------------------------------------------------------------- values


def value_array(doc: YamlDoc, path: Path, value: Any, *, name: str, seed: int = 0,
                allow_init: bool = True) -> "np.ndarray":
    """A value as written in a spec: a number, a (nested) list, or `{shape: [...], init: ...}`."""
    if isinstance(value, dict):
        if not allow_init:
            raise doc.error(path, "expected a number or a list here, found a mapping")
        unknown = [k for k in value if k not in ("shape", "init")]
        if unknown:
            raise doc.error((*path, unknown[0]), f"unknown key {unknown[0]!r}{_did_you_mean(unknown[0], ['shape', 'init'])};"
                                                 " a value is a number, a list, or {shape: [...], init: ...}")
        if "shape" not in value:
            raise doc.error(path, "missing 'shape' (a value written as a mapping is {shape: [...], init: ...})")
        if "init" not in value:
            raise doc.error(path, "missing 'init' (zeros, ones, {constant: c}, {normal: {...}}, "
                                  "{uniform: {...}}, xavier or he)")
        return init_array(doc, (*path, "init"), value["init"], value["shape"], name=name, seed=seed,
                          shape_path=(*path, "shape"))
    return literal_array(doc, path, value)


def literal_array(doc: YamlDoc, path: Path, value: Any) -> "np.ndarray":
    """number -> 0-d; flat list -> column (n, 1); nested lists -> (m, n) or up to 4 axes, rectangular."""
    import numpy as np

    if not isinstance(value, list):
        return np.array(_finite(doc, path, value), dtype=np.float64)
    shape: list[int] = []
    level: list[tuple[Path, Any]] = [(path, value)]
    while level and isinstance(level[0][1], list):
        first_path, first = level[0]
        if not first:
            raise doc.error(first_path, "an empty list is not a value")
        for p, item in level:
            if not isinstance(item, list):
                raise doc.error(p, f"ragged: expected a list of {len(first)} like {format_path(first_path)}, "
                                   f"found {_show(item)}")
            if len(item) != len(first):
                raise doc.error(p, f"ragged: {format_path(p)} has {len(item)} entries but "
                                   f"{format_path(first_path)} has {len(first)}; rows must have equal length")
        shape.append(len(first))
        if len(shape) > MAX_AXES:
            raise doc.error(path, f"the value nests more than {MAX_AXES} lists deep")
        level = [((*p, i), sub) for p, item in level for i, sub in enumerate(item)]
    flat = []
    for p, item in level:
        if isinstance(item, list):
            raise doc.error(p, "ragged: a list where a number was expected")
        flat.append(_finite(doc, p, item))
    arr = np.array(flat, dtype=np.float64).reshape(shape)
    return arr.reshape(shape[0], 1) if len(shape) == 1 else arr


def declared_shape(doc: YamlDoc, path: Path, shape: Any) -> tuple[int, ...]:
    """A `shape:` list -> the array shape ([n] is the column (n, 1), [] a scalar); checked before allocating."""
    if not isinstance(shape, list):
        raise doc.error(path, f"shape must be a list of sizes such as [4, 2], found {_show(shape)}")
    if len(shape) > MAX_AXES:
        raise doc.error(path, f"shape has {len(shape)} axes; the limit is {MAX_AXES}")
    sizes = [_size(n) for n in shape]
    for i, n in enumerate(sizes):
        if n is None:
            raise doc.error((*path, i), f"sizes must be positive whole numbers, found {_show(shape[i])}")
    shape = sizes
    total = math.prod(shape)
    if total > F.MAX_TENSOR_ENTRIES:
        raise doc.error(path, f"shape {shape} has {total:,} entries; the limit is {F.MAX_TENSOR_ENTRIES:,}")
    return (shape[0], 1) if len(shape) == 1 else tuple(shape)


def init_array(doc: YamlDoc, path: Path, init: Any, shape: Any, *, name: str, seed: int = 0,
               shape_path: Path | None = None) -> "np.ndarray":
    """Build the array of `shape` (a `shape:` list) with `init` (see the module docstring)."""
    import numpy as np

    declared = shape
    array_shape = declared_shape(doc, shape_path or path, shape)
    kind, args, args_path = _init_kind(doc, path, init)
    if kind == "zeros":
        return np.zeros(array_shape)
    if kind == "ones":
        return np.ones(array_shape)
    if kind == "constant":
        return np.full(array_shape, _finite(doc, args_path, args))
    model = {"normal": _NormalInit, "uniform": _UniformInit}.get(kind, _SeedOnly)
    opts = _validate(model, {} if args is None else args, doc, args_path)
    rng = np.random.default_rng(opts.seed if opts.seed is not None else [seed, zlib.crc32(name.encode())])
    if kind == "normal":
        return rng.normal(opts.mean, opts.std, size=array_shape)
    if kind == "uniform":
        if not opts.low < opts.high:
            raise doc.error(args_path, f"uniform needs low < high, found low {opts.low:g}, high {opts.high:g}")
        return rng.uniform(opts.low, opts.high, size=array_shape)
    if len(declared) != 2:
        raise doc.error(path, f"{kind} needs a 2-D shape [out, in] to know fan_in and fan_out, found "
                              f"shape {declared}")
    fan_out, fan_in = declared
    if kind == "xavier":
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, size=array_shape)
    return rng.normal(0.0, math.sqrt(2.0 / fan_in), size=array_shape)


def _init_kind(doc: YamlDoc, path: Path, init: Any) -> tuple[str, Any, Path]:
    """'zeros' | {constant: c} | {normal: {...}} ... -> (kind, its argument, path of the argument)."""
    allowed = "zeros, ones, {constant: c}, {normal: {mean, std, seed}}, {uniform: {low, high, seed}}, xavier, he"
    if isinstance(init, str):
        if init in ("zeros", "ones", "xavier", "he"):
            return init, None, path
        raise doc.error(path, f"unknown init {init!r}{_did_you_mean(init, INIT_KINDS)}; use {allowed}")
    if isinstance(init, dict) and len(init) == 1:
        (kind, args), = init.items()
        if kind in ("constant", "normal", "uniform", "xavier", "he"):
            if kind in ("normal", "uniform", "xavier", "he") and args is not None and not isinstance(args, dict):
                raise doc.error((*path, kind), f"{kind} takes a mapping such as {{seed: 0}}, found {_show(args)}")
            return kind, args, (*path, kind)
        raise doc.error((*path, kind), f"unknown init {kind!r}{_did_you_mean(kind, INIT_KINDS)}; use {allowed}")
    raise doc.error(path, f"an init is one of {allowed}; found {_show(init)}")


def _size(value: Any) -> int | None:
    """A positive whole size (2, 2.0 or '1e3'), or None."""
    value = as_number(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    if not float(value).is_integer() or value <= 0:
        return None
    return int(value)


def _finite(doc: YamlDoc, path: Path, value: Any) -> float:
    value = as_number(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise doc.error(path, f"expected a number, found {_show(value)}")
    try:
        out = float(value)
    except OverflowError:
        raise doc.error(path, "the number is too large for float64") from None
    if not math.isfinite(out):
        raise doc.error(path, f"expected a finite number, found {value}")
    return out


# ------------------------------------------------------------------------------------ problem files


def _build_problem(doc: YamlDoc) -> ProblemFile:
    data = doc.data
    keys = _validate(_ProblemKeys, data, doc, ())
    if data.get("function") is not None and data.get("net") is not None:
        raise doc.error(("net",), f"give either function: (line {doc.line(('function',))}) or net:, not both")
    net = _build_net(doc, ("net",), data["net"]) if data.get("net") is not None else None
    where_defs = _where_definitions(doc, data.get("where"))
    function = None
    if data.get("function") is not None:
        function = _free_definition(doc, ("function",), "function", data["function"])
    constants = {}
    if data.get("constants") is not None:
        if not isinstance(data["constants"], dict):
            raise doc.error(("constants",), f"constants: must map names to values, found {_kind(data['constants'])}")
        for name, value in data["constants"].items():
            _check_name(doc, ("constants", name), name)
            constants[name] = value_array(doc, ("constants", name), value, name=name)
    shapes = {}
    if data.get("shapes") is not None:
        if not isinstance(data["shapes"], dict):
            raise doc.error(("shapes",), f"shapes: must map names to shapes, found {_kind(data['shapes'])}")
        for name, shape in data["shapes"].items():
            _check_name(doc, ("shapes", name), name)
            shapes[name] = declared_shape(doc, ("shapes", name), shape)
    problem = ProblemFile(path=doc.file, title=keys.title if keys.title is not None else FsPath(doc.file).stem,
                          source=keys.source, function=function, net=net, where=where_defs, claims=[],
                          constants=constants, shapes=shapes, notes=keys.notes,
                          source_yaml_lines={format_path(p): loc.line for p, loc in doc.locs.items()
                                             if len(p) <= 4})
    claims = data["claims"]
    if not isinstance(claims, list) or not claims:
        raise doc.error(("claims",), "claims: must be a non-empty list of claims (- id: ..., <kind>: {...}, "
                                     "claim: ...)")
    seen: dict[str, int | None] = {}
    for i, item in enumerate(claims):
        claim = _build_claim(doc, problem, i, item)
        if claim.id in seen:
            raise SpecError(f"the claim id {claim.id!r} is used twice (first on line {seen[claim.id]}); ids are "
                            "unique in a file", where=claim.where)
        seen[claim.id] = claim.line
        problem.claims.append(claim)
    return problem


def _free_definition(doc: YamlDoc, path: Path, name: str, value: Any) -> Definition:
    """A formula whose free names are variables (function:, where: entries)."""
    if isinstance(value, bool) or value is None or not isinstance(value, (str, int, float)):
        raise doc.error(path, f"expected an expression, found {_kind(value)}")
    text = value if isinstance(value, str) else (doc.source_text(path) or repr(value))
    where = doc.where(path)
    try:
        node = parse(text)
    except ParseError as exc:
        raise SpecError(f"{exc.message} (column {exc.column + 1})", where=where, detail=exc.detail) from None
    return Definition(name, node, text, doc.line(path), format_path(path), where)


def _where_definitions(doc: YamlDoc, where: Any) -> dict[str, Definition]:
    """`where: {a: (w+x+y)^2, ...}`: intermediate definitions, any order, no cycles."""
    if where is None:
        return {}
    if not isinstance(where, dict):
        raise doc.error(("where",), f"where: must map names to expressions, found {_kind(where)}")
    defs = {}
    for name, text in where.items():
        _check_name(doc, ("where", name), name)
        defs[name] = _free_definition(doc, ("where", name), name, text)
    uses = {name: [n for n in _names_in(d.node) if n in defs] for name, d in defs.items()}
    cycle = _find_cycle(uses)
    if cycle:
        shown = " -> ".join([*cycle, cycle[0]])
        raise doc.error(("where", cycle[0]), f"the where: definitions form a cycle: {shown}")
    return defs


def _find_cycle(uses: dict[str, list[str]]) -> list[str] | None:
    """A cycle in the name -> used-names graph (iterative DFS), or None."""
    state: dict[str, int] = {}
    for start in uses:
        if state.get(start):
            continue
        stack = [(start, iter(uses[start]))]
        trail = [start]
        state[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
                trail.pop()
                continue
            if state.get(nxt) == 1:
                return trail[trail.index(nxt):]
            if not state.get(nxt):
                state[nxt] = 1
                stack.append((nxt, iter(uses[nxt])))
                trail.append(nxt)
    return None


_CLAIM_KEYS = ("id", *CLAIM_KINDS, "claim", "claim_shape", "claim_entry", "expect", "tol", "note")


def _build_claim(doc: YamlDoc, problem: ProblemFile, i: int, item: Any) -> Claim:
    path: Path = ("claims", i)
    if not isinstance(item, dict):
        raise doc.error(path, f"a claim is a mapping (- id: ..., derivative: {{wrt: x}}, claim: ...), "
                              f"found {_kind(item)}")
    if item.get("id") is None:
        raise doc.error(path, "the claim has no id: (every claim needs one, unique in the file)")
    raw_id = item["id"]
    if isinstance(raw_id, (dict, list, bool)):
        raise doc.error((*path, "id"), f"a claim id is text, found {_show(raw_id)}")
    claim_id = raw_id if isinstance(raw_id, str) else (doc.source_text((*path, "id")) or str(raw_id))
    doc.labels[path] = f"claims[{i}] {claim_id!r}"
    line = doc.line(path)
    where = doc.where(path)

    def fail(message: str, key: str | None = None) -> SpecError:
        return doc.error((*path, key) if key else path, message)

    kinds = [k for k in CLAIM_KINDS if k in item]
    unknown = [k for k in item if k not in _CLAIM_KEYS]
    if unknown:
        key = unknown[0]
        if not kinds and isinstance(item[key], dict):
            raise fail(f"unknown claim kind {key!r}{_did_you_mean(key, CLAIM_KINDS)}; the kinds are "
                       f"{', '.join(CLAIM_KINDS)}", key)
        raise fail(f"unknown key {key!r}{_did_you_mean(key, _CLAIM_KEYS)}; a claim has id, one kind "
                   f"({', '.join(CLAIM_KINDS)}), claim, expect and optionally tol, note", key)
    if not kinds:
        raise fail(f"the claim has no kind: add one of {', '.join(CLAIM_KINDS)}")
    if len(kinds) > 1:
        raise fail(f"the claim has {len(kinds)} kinds ({', '.join(kinds)}); give exactly one per claim", kinds[1])
    kind = kinds[0]
    raw_settings = item[kind]
    if not isinstance(raw_settings, dict):
        raise fail(f"{kind}: takes a mapping such as {_settings_example(kind)}, found {_show(raw_settings)}", kind)
    settings = _validate(SETTINGS_MODELS[kind], raw_settings, doc, (*path, kind))
    if item.get("tol") is not None:
        if settings.tol is not None:
            raise fail(f"tol is given twice: in {kind}: and next to it", "tol")
        settings.tol = _validate(_TolOnly, {"tol": item["tol"]}, doc, path).tol
    _complete_settings(doc, problem, (*path, kind), kind, settings, fail)

    expect = item.get("expect", "correct")
    if expect not in EXPECTS:
        raise fail(f"expect: must be correct or wrong, found {_show(expect)}", "expect")
    claim_shape = claim_entry = None
    if kind != "jacobian":
        for key in ("claim_shape", "claim_entry"):
            if key in item:
                raise fail(f"{key} belongs to jacobian claims; this is a {kind} claim", key)
    else:
        if item.get("claim_shape") is not None:
            shape = item["claim_shape"]
            sizes = [_size(n) for n in shape] if isinstance(shape, list) else [None]
            if not sizes or len(sizes) > MAX_CLAIM_AXES or None in sizes:
                raise fail(f"claim_shape must be a list of 1 to {MAX_CLAIM_AXES} positive sizes such as [3, 2, 2, 4],"
                           f" found {_show(shape)}", "claim_shape")
            claim_shape = tuple(sizes)
        if item.get("claim_entry") is not None:
            entry = item["claim_entry"]
            if isinstance(entry, (bool, dict, list)):
                raise fail(f"claim_entry must be a formula, found {_show(entry)}", "claim_entry")
            claim_entry = entry if isinstance(entry, str) else doc.source_text((*path, "claim_entry"))

    claim_value = as_number(item.get("claim"))
    if claim_value is None:
        if kind != "jacobian":
            raise fail("missing claim: (the formula, number or behaviour the sheet states)")
        if claim_shape is None and claim_entry is None:
            raise fail("a jacobian claim needs claim_shape, claim_entry or claim")
    elif isinstance(claim_value, (bool, dict)) or (isinstance(claim_value, list) and kind != "value"):
        raise fail(f"claim: must be a formula or a number, found {_show(claim_value)}", "claim")
    elif isinstance(claim_value, list):
        literal_array(doc, (*path, "claim"), claim_value)
    if kind == "behaviour" and claim_value not in BEHAVIOURS:
        raise fail(f"a behaviour claim is one of {', '.join(BEHAVIOURS)}, found {_show(claim_value)}", "claim")

    note = item.get("note")
    if note is not None and not isinstance(note, str):
        raise fail(f"note: must be text, found {_show(note)}", "note")
    lines = {key: doc.line((*path, key)) for key in item}
    for key in raw_settings:
        lines[f"{kind}.{key}"] = doc.line((*path, kind, key))
        lines.setdefault(key, lines[f"{kind}.{key}"])
    return Claim(id=claim_id, kind=kind, settings=settings, claim=claim_value,
                 claim_text_line=doc.line((*path, "claim")) if "claim" in item else line,
                 expect=expect, line=line, index=i,
                 claim_source=doc.source_text((*path, "claim")) if claim_value is not None else None,
                 claim_shape=claim_shape, claim_entry=claim_entry, note=note, where=where, lines=lines)


class _TolOnly(_Strict):
    tol: Positive


def _complete_settings(doc: YamlDoc, problem: ProblemFile, path: Path, kind: str, settings: Any, fail: Any) -> None:
    """Checks that need the problem (function or net present) and conversion of values to arrays."""
    has_function, has_net = problem.function is not None, problem.net is not None
    if kind in ("derivative", "value") and settings.of is None and not (has_function or has_net):
        raise fail(f"this {kind} claim has no of: and the problem has no function: or net:", kind)
    if kind == "gradient" and not has_net:
        raise fail("a gradient claim needs a net: in the problem", kind)
    if kind == "update" and not (has_function or has_net):
        raise fail("an update claim needs a function: or a net: in the problem", kind)
    if kind == "update" and doc.source_text((*path, "lr")) is not None:
        settings.lr = doc.source_text((*path, "lr"))
    if kind == "value":
        settings.at = _named_values(doc, (*path, "at"), settings.at)
    if kind == "jacobian":
        for name in settings.shapes:
            _check_name(doc, (*path, "shapes", name), name)
        settings.shapes = {name: tuple(s) for name, s in settings.shapes.items()}
    if kind == "behaviour":
        if not (has_function or has_net):
            raise fail("a behaviour claim needs a function: or a net: to train", kind)
        t = _validate(FunctionTrain, settings.train, doc, (*path, "train"))
        if has_net and (t.params is not None or t.constants is not None):
            key = "params" if t.params is not None else "constants"
            raise doc.error((*path, "train", key), f"train.{key} is for a function: problem; a net trains its own "
                                                   "params (set their start values in net.params)")
        if has_function and t.params is None:
            raise doc.error((*path, "train"), "train: needs params: {name: start value} saying which names of "
                                              "the function are trained")
        groups = {key: None if getattr(t, key) is None else _named_values(doc, (*path, "train", key), getattr(t, key))
                  for key in ("params", "constants")}
        if has_function:
            _check_training_names(doc, problem, (*path, "train"), groups["params"], groups["constants"] or {})
        settings.train = TrainSpec(lr=t.lr, steps=t.steps, params=groups["params"], constants=groups["constants"])


def _named_values(doc: YamlDoc, path: Path, mapping: dict[str, Any]) -> dict[str, "np.ndarray"]:
    """{name: number or list} -> {name: array}, each name checked."""
    out = {}
    for name, value in mapping.items():
        _check_name(doc, (*path, name), name)
        out[name] = value_array(doc, (*path, name), value, name=name, allow_init=False)
    return out


def _check_training_names(doc: YamlDoc, problem: ProblemFile, path: Path, params: dict, constants: dict) -> None:
    """Trained names and constants cover the function's inputs (free names through where:), no more."""
    inputs = _function_inputs(problem)
    for key, group in (("params", params), ("constants", constants)):
        for name in group:
            if key == "constants" and name in params:
                raise doc.error((*path, key, name), f"{name!r} is both trained (params) and a constant")
            if name not in inputs:
                raise doc.error((*path, key, name), f"{name!r} is not a variable of the function "
                                                    f"(its variables: {', '.join(sorted(inputs))})")
    missing = sorted(set(inputs) - set(params) - set(constants) - set(problem.constants))
    if missing:
        raise doc.error(path, f"the function's {', '.join(map(repr, missing))} is neither in params: nor in "
                              "constants:")


def _function_inputs(problem: ProblemFile) -> set[str]:
    seen: set[str] = set()
    todo = [problem.function.node] if problem.function else []
    done: set[str] = set()
    while todo:
        for name in _names_in(todo.pop()):
            if name in problem.where:
                if name not in done:
                    done.add(name)
                    todo.append(problem.where[name].node)
            else:
                seen.add(name)
    return seen


def _settings_example(kind: str) -> str:
    return {"derivative": "{wrt: x}", "value": "{at: {x: 1}}", "gradient": "{wrt: W1}",
            "jacobian": "{of: X @ w, wrt: w, shapes: {X: [3, 4], w: [4]}}", "update": "{wrt: w, lr: eta}",
            "behaviour": "{train: {lr: 0.1, steps: 200}}"}[kind]


# -------------------------------------------------------------------------------------------- helpers


def _names_in(node: Node) -> list[str]:
    return [n.id for n in walk(node) if isinstance(n, Name)]


def _check_known(node: Node, text: str, known: list[str], where: str, later: dict[str, int]) -> None:
    """Every name in a forward/loss expression must be defined above it."""
    known_set = set(known)
    for n in walk(node):
        if isinstance(n, Name) and n.id not in known_set:
            if n.id in later:
                hint = f"{n.id!r} is defined later in forward (line {later[n.id]}); definitions come before use"
            else:
                suggestion = difflib.get_close_matches(n.id, known, n=1, cutoff=0.6)
                hint = (f"did you mean {suggestion[0]}? " if suggestion else "") + \
                    "names must be inputs, params or earlier forward definitions"
            detail = ParseError("", text, n.col, hint).detail
            raise SpecError(f"unknown name {n.id!r} (column {n.col + 1})", where=where, detail=detail)


def _check_name(doc: YamlDoc, path: Path, name: str) -> None:
    if not _IDENT.match(name):
        raise doc.error(path, f"{name!r} is not a name: use letters, digits and _ (such as W0 or yhat)")
    if name.startswith("__"):
        raise doc.error(path, f"names starting with '__' are refused: {name!r}")
    if name in F.CONSTANTS:
        raise doc.error(path, f"{name!r} is a constant of the expression language; choose another name")
    if F.lookup(name) is not None:
        raise doc.error(path, f"{name!r} is a function of the expression language; choose another name")


def _did_you_mean(word: str, choices: Any) -> str:
    match = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the text {value[:40]!r}"
    return f"the value {value!r}"


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return f"the text {value[:40]!r}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _scalar_text(value: Any) -> str:
    return repr(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def _shape_text(shape: tuple[int, ...]) -> str:
    return "scalar" if shape == () else "(" + ", ".join(str(n) for n in shape) + ")"
