"""A network spec's examples (the network-spec format `data:`): one environment of values per example, and how L sums them.

    L = w · Σ_e L_e   with w = 1/E for `reduce: mean`, 1 for `reduce: sum` (and for a spec without data)
"""

from __future__ import annotations

import numpy as np

from gradcli.errors import GradcliError, SpecError


def example_count(spec) -> int:
    """E: the number of examples of `data:` (1 without data)."""
    return len(spec.data) if spec.data is not None else 1


def example_envs(spec) -> list[dict[str, np.ndarray]]:
    """One environment per example: inputs, params, and that example's x and y (the network-spec format `data:`)."""
    base = {**spec.inputs, **spec.params}
    if spec.data is None:
        return [dict(base)]
    return [{**base, "x": x, "y": y} for x, y in zip(spec.data.x, spec.data.y)]


def reduce_weight(spec) -> float:
    """The factor each example's loss gets in L: 1/E for `reduce: mean`, 1 for `sum` (and without data:)."""
    if spec.data is not None and spec.data.reduce == "mean":
        return 1.0 / len(spec.data)
    return 1.0


def loss_shape_error(spec, shape: tuple[int, ...]) -> SpecError:
    shown = "a scalar" if shape == () else str(list(shape))
    return SpecError(f"loss must be a scalar (0-d or 1x1), but it has shape {shown}", where=spec.loss.where)


def relocated(err: GradcliError, where: str) -> GradcliError:
    """The same error, saying which definition of the spec it comes from."""
    from gradcli.errors import ParseError

    place = f"{where}, {err.where}" if err.where else where
    kind = SpecError if isinstance(err, ParseError) else type(err)
    return kind(err.message, where=place, detail=err.detail)


# ============================================================================================ backprop


def spec_value(spec, name: str) -> np.ndarray:
    return spec.params[name] if name in spec.params else spec.inputs[name]
