"""The pydantic models of the YAML keys (strict: an unknown key is an error) and their glue: a pydantic
error becomes a SpecError naming the YAML path and line.
"""


from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)

from gradcli.io.yaml_source import Path, YamlDoc

if TYPE_CHECKING:
    pass

from gradcli.io.models import IDENTIFIER, MAX_STEPS, ClaimSettings
from gradcli.io.names import did_you_mean, shown_value

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
        raise ValueError(f"expected a number, found {shown_value(value)}")
    if not math.isfinite(float(value)):
        raise ValueError(f"expected a finite number, found {value}")
    return float(value)


def _whole(value: Any) -> Any:
    value = as_number(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not float(value).is_integer():
        raise ValueError(f"expected a whole number, found {shown_value(value)}")
    return int(value)


def _text(value: Any) -> Any:
    if isinstance(value, bool) or value is None or not isinstance(value, (str, int, float)):
        raise ValueError(f"expected text, found {shown_value(value)}")
    return value if isinstance(value, str) else repr(value)


def _identifier(value: str) -> str:
    if not IDENTIFIER.match(value):
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


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, populate_by_name=True)


class NetKeys(Strict):
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


class ProblemKeys(Strict):
    title: Text | None = None
    source: Text | None = None
    function: Any = None
    net: Any = None
    where: Any = None
    constants: Any = None
    shapes: Any = None
    notes: Text | None = None
    claims: Any = None


class DataKeys(Strict):
    x: list[Any]
    y: list[Any]
    reduce: Literal["mean", "sum"] = "mean"


class NetTrainKeys(Strict):
    lr: Positive
    steps: Steps


class FunctionTrain(Strict):
    """`train:` of a behaviour claim: lr, steps, and for a `function:` the trained names and constants."""

    lr: Positive
    steps: Steps
    params: dict[str, Any] | None = None
    constants: dict[str, Any] | None = None


class DenseKeys(Strict):
    n_in: Count | None = Field(None, alias="in")
    out: Count
    activation: Literal["none", "sigmoid", "tanh", "relu", "softmax"] = "none"
    bias: Flag = True
    init: Any = "xavier"
    bias_init: Any = "zeros"


class NormalInit(Strict):
    mean: Number = 0.0
    std: Annotated[float, BeforeValidator(_number), Field(ge=0)] = 1.0
    seed: Seed | None = None


class UniformInit(Strict):
    low: Number = 0.0
    high: Number = 1.0
    seed: Seed | None = None


class SeedOnly(Strict):
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

# ----------------------------------------------------------------------------------- pydantic glue


def validated(model: type[BaseModel], data: Any, doc: YamlDoc, path: Path) -> Any:
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
            hint = did_you_mean(key, allowed)
            listed = f"; allowed here: {', '.join(allowed)}" if allowed else ""
            raise doc.error((*path, *sub), f"unknown key {key!r}{hint}{listed}") from None
        msg = err["msg"].removeprefix("Value error, ")
        if kind.startswith("literal_error"):
            msg = msg.replace("Input should be", "expected")
            msg += f", found {shown_value(err.get('input'))}"
        elif kind in ("greater_than", "greater_than_equal", "less_than_equal"):
            msg = msg.replace("Input should be", "must be") + f", found {shown_value(err.get('input'))}"
        elif kind in ("dict_type", "list_type"):
            msg = f"expected a {'mapping' if kind == 'dict_type' else 'list'}, found {shown_value(err.get('input'))}"
        elif kind == "bool_type":
            msg = f"expected true or false, found {shown_value(err.get('input'))}"
        elif msg.startswith("Input should be"):
            msg = msg.replace("Input should be", "expected") + f", found {shown_value(err.get('input'))}"
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
