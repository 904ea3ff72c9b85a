"""Numbers and arrays written in YAML: literals, declared shapes, seeded initialisations (zeros, normal,
xavier, ...), every entry finite; vectors are columns (n, 1).
"""


from __future__ import annotations

import math
import zlib
from typing import TYPE_CHECKING, Any

from gradcli.io.yaml_source import Path, YamlDoc, format_path
from gradcli.language import functions as F

if TYPE_CHECKING:
    import numpy as np

from gradcli.io.models import INIT_KINDS, MAX_AXES
from gradcli.io.names import did_you_mean, shown_value
from gradcli.io.schemas import NormalInit, SeedOnly, UniformInit, as_number, validated

# --------------------------------------------------------------------------------------------- values


def value_array(doc: YamlDoc, path: Path, value: Any, *, name: str, seed: int = 0,
                allow_init: bool = True) -> "np.ndarray":
    """A value as written in a spec: a number, a (nested) list, or `{shape: [...], init: ...}`."""
    if isinstance(value, dict):
        if not allow_init:
            raise doc.error(path, "expected a number or a list here, found a mapping")
        unknown = [k for k in value if k not in ("shape", "init")]
        if unknown:
            raise doc.error((*path, unknown[0]), f"unknown key {unknown[0]!r}{did_you_mean(unknown[0], ['shape', 'init'])};"
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
                                   f"found {shown_value(item)}")
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
        raise doc.error(path, f"shape must be a list of sizes such as [4, 2], found {shown_value(shape)}")
    if len(shape) > MAX_AXES:
        raise doc.error(path, f"shape has {len(shape)} axes; the limit is {MAX_AXES}")
    sizes = [size_of(n) for n in shape]
    for i, n in enumerate(sizes):
        if n is None:
            raise doc.error((*path, i), f"sizes must be positive whole numbers, found {shown_value(shape[i])}")
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
    model = {"normal": NormalInit, "uniform": UniformInit}.get(kind, SeedOnly)
    opts = validated(model, {} if args is None else args, doc, args_path)
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
        raise doc.error(path, f"unknown init {init!r}{did_you_mean(init, INIT_KINDS)}; use {allowed}")
    if isinstance(init, dict) and len(init) == 1:
        (kind, args), = init.items()
        if kind in ("constant", "normal", "uniform", "xavier", "he"):
            if kind in ("normal", "uniform", "xavier", "he") and args is not None and not isinstance(args, dict):
                raise doc.error((*path, kind), f"{kind} takes a mapping such as {{seed: 0}}, found {shown_value(args)}")
            return kind, args, (*path, kind)
        raise doc.error((*path, kind), f"unknown init {kind!r}{did_you_mean(kind, INIT_KINDS)}; use {allowed}")
    raise doc.error(path, f"an init is one of {allowed}; found {shown_value(init)}")


def size_of(value: Any) -> int | None:
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
        raise doc.error(path, f"expected a number, found {shown_value(value)}")
    try:
        out = float(value)
    except OverflowError:
        raise doc.error(path, "the number is too large for float64") from None
    if not math.isfinite(out):
        raise doc.error(path, f"expected a finite number, found {value}")
    return out
